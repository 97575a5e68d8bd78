package postgres

import (
	"sync"
	"time"
)

// Bounds of the two caches. A full cache drops an eighth of its entries,
// chosen at random, before it takes another.
const (
	maxRegistrations = 100_000
	maxRecords       = 100_000
)

type cacheKey struct{ kind, key string }

// entry is a cached value; a non-zero until (unix ns) is the moment from
// which it may no longer answer.
type entry struct {
	v     any
	until int64
}

// cache holds records read from the database: one cache holds
// registrations (clients, resources, issuers), another access tokens and
// sessions. Each is consulted only while the change feed is fresh. Every
// invalidation bumps a generation, and a read that started before an
// invalidation does not fill the cache, so a value read just before a
// change is never kept after it.
type cache struct {
	mu    sync.RWMutex
	m     map[cacheKey]entry
	gen   uint64
	limit int
}

func newCache(limit int) *cache { return &cache{m: map[cacheKey]entry{}, limit: limit} }

// get returns the value under (kind, key) unless it is missing or its
// time ran out at now.
func (c *cache) get(kind, key string, now time.Time) (any, bool) {
	c.mu.RLock()
	e, ok := c.m[cacheKey{kind, key}]
	c.mu.RUnlock()
	if !ok || (e.until != 0 && now.UnixNano() >= e.until) {
		return nil, false
	}
	return e.v, true
}

func (c *cache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// put keeps v until the time until (zero: no limit) unless the cache
// changed since gen was read.
func (c *cache) put(kind, key string, v any, until time.Time, gen uint64) {
	e := entry{v: v}
	if !until.IsZero() {
		e.until = ns(until)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= c.limit {
		c.evictLocked()
	}
	c.m[cacheKey{kind, key}] = e
}

// evictLocked drops an eighth of the entries; map order picks them.
func (c *cache) evictLocked() {
	n := max(1, len(c.m)/8)
	for k := range c.m {
		if n == 0 {
			return
		}
		delete(c.m, k)
		n--
	}
}

// invalidate drops what change ch makes stale.
func (c *cache) invalidate(ch Change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, cacheKey{ch.Kind, ch.Key})
	c.gen++
}

// flush drops everything.
func (c *cache) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
	c.gen++
}

// len returns how many entries the cache holds.
func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

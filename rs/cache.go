package rs

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"time"
)

// cacheKey identifies one question: the token's hash and the usage context.
// The token itself is never kept.
type cacheKey struct {
	token            [sha256.Size]byte
	tool, ip, tenant string
}

func keyFor(token string, u usage) cacheKey {
	return cacheKey{token: sha256.Sum256([]byte(token)), tool: u.tool, ip: u.ip, tenant: u.tenant}
}

type cacheEntry struct {
	key    cacheKey
	claims Claims
	until  time.Time
}

// lru is a bounded least-recently-used map of allowing verdicts, each with
// its own expiry. It is safe for concurrent use. A nil *lru caches nothing.
type lru struct {
	mu    sync.Mutex
	size  int
	order *list.List // front: most recently used
	items map[cacheKey]*list.Element
}

// newLRU returns a cache of at most size entries, or nil when size < 1.
func newLRU(size int) *lru {
	if size < 1 {
		return nil
	}
	return &lru{size: size, order: list.New(), items: make(map[cacheKey]*list.Element, size)}
}

// get returns the claims stored under k if they are still valid at now.
func (c *lru) get(k cacheKey, now time.Time) (Claims, bool) {
	if c == nil {
		return Claims{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return Claims{}, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.until) {
		c.remove(el)
		return Claims{}, false
	}
	c.order.MoveToFront(el)
	return e.claims, true
}

// put stores claims under k until until, evicting the least recently used
// entry when full.
func (c *lru) put(k cacheKey, claims Claims, until time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		el.Value = &cacheEntry{key: k, claims: claims, until: until}
		c.order.MoveToFront(el)
		return
	}
	if c.order.Len() >= c.size {
		c.remove(c.order.Back())
	}
	c.items[k] = c.order.PushFront(&cacheEntry{key: k, claims: claims, until: until})
}

func (c *lru) remove(el *list.Element) {
	c.order.Remove(el)
	delete(c.items, el.Value.(*cacheEntry).key)
}

func (c *lru) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// cacheUntil is how long a verdict may be reused: never when it does not
// plainly allow the call, and never past the token's expiry.
func cacheUntil(c Claims, now time.Time, ttl time.Duration) (time.Time, bool) {
	if ttl <= 0 || c.Risk == nil || c.Risk.Action != ActionAllow || c.Expiry.IsZero() {
		return time.Time{}, false
	}
	until := now.Add(ttl)
	if c.Expiry.Before(until) {
		until = c.Expiry
	}
	return until, until.After(now)
}

package postgres

import (
	"encoding/json"
	"slices"
	"sync"

	"github.com/vigil-auth/vigil/storage"
)

// maxCached bounds the registration cache; a full cache starts over.
const maxCached = 100_000

type cacheKey struct{ kind, key string }

// cache holds registrations (clients, resources, issuers) read from the
// database. It is consulted only while the change feed is fresh. Every
// invalidation bumps a generation, and a read that started before an
// invalidation does not fill the cache, so a value read just before a
// change is never kept after it.
type cache struct {
	mu  sync.RWMutex
	m   map[cacheKey]any
	gen uint64
}

func newCache() *cache { return &cache{m: map[cacheKey]any{}} }

func (c *cache) get(kind, key string) (any, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.m[cacheKey{kind, key}]
	return v, ok
}

func (c *cache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// put keeps v unless the cache changed since gen was read.
func (c *cache) put(kind, key string, v any, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= maxCached {
		clear(c.m)
	}
	c.m[cacheKey{kind, key}] = v
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

func cloneIssuer(i storage.Issuer) storage.Issuer {
	i.JWKS = json.RawMessage(slices.Clone([]byte(i.JWKS)))
	i.Algorithms = slices.Clone(i.Algorithms)
	i.Subjects = slices.Clone(i.Subjects)
	i.Scopes = slices.Clone(i.Scopes)
	i.Audiences = slices.Clone(i.Audiences)
	return i
}

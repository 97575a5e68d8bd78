package authz

import (
	"hash/maphash"
	"sync"
	"time"
)

// jtiCache remembers single-use identifiers in memory so that concurrent
// replays of one assertion or proof lose before any disk write. The durable
// record in storage is the authority across restarts; this cache only makes
// the check atomic and cheap. Expired entries are dropped as shards fill.
type jtiCache struct {
	seed   maphash.Seed
	shards [64]jtiShard
}

type jtiShard struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func newJTICache() *jtiCache {
	c := &jtiCache{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].m = make(map[string]time.Time)
	}
	return c
}

// claim records key until exp and reports whether it was free at now.
func (c *jtiCache) claim(key string, exp, now time.Time) bool {
	sh := &c.shards[maphash.String(c.seed, key)%uint64(len(c.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old, ok := sh.m[key]; ok && now.Before(old) {
		return false
	}
	if len(sh.m) >= 4096 {
		for k, e := range sh.m {
			if !now.Before(e) {
				delete(sh.m, k)
			}
		}
	}
	sh.m[key] = exp
	return true
}

// release forgets key, for a claim whose transaction failed for another reason.
func (c *jtiCache) release(key string) {
	sh := &c.shards[maphash.String(c.seed, key)%uint64(len(c.shards))]
	sh.mu.Lock()
	delete(sh.m, key)
	sh.mu.Unlock()
}

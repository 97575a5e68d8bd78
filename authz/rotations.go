package authz

import (
	"sync"
	"time"
)

// rotations remembers, for the refresh tokens this server rotated recently,
// when the rotation was answered. A rotated refresh token presented by a
// request that arrived before its rotation was answered is a race (two
// requests of one client in flight at once), answered invalid_grant; only a
// presentation after the answer is a reuse that ends the session. Without a
// record (another instance rotated it, or the server restarted), the
// rotation's commit time stands in for the answer time.
type rotations struct {
	mu sync.Mutex
	// answered maps a rotated token's ID to when its rotation was answered;
	// the zero time means committed but not answered yet.
	answered map[string]time.Time
	pruned   time.Time
}

// rotationMemory is how long a rotation's answer time is remembered.
const rotationMemory = time.Minute

func newRotations() *rotations { return &rotations{answered: make(map[string]time.Time)} }

// committed records that the rotation of id committed at now and is not
// answered yet.
func (r *rotations) committed(id string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.pruned) > rotationMemory {
		for k, at := range r.answered {
			if !at.IsZero() && now.Sub(at) > rotationMemory {
				delete(r.answered, k)
			}
		}
		r.pruned = now
	}
	if _, ok := r.answered[id]; !ok && len(r.answered) < maxTrackedKeys {
		r.answered[id] = time.Time{}
	}
}

// answer records that the rotation of id was answered at now.
func (r *rotations) answer(id string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.answered[id]; ok {
		r.answered[id] = now
	}
}

// overlapped reports whether a request that arrived at arrived overlapped
// the rotation of id, which committed at rotatedAt: it arrived before the
// rotation was answered.
func (r *rotations) overlapped(id string, rotatedAt, arrived time.Time) bool {
	r.mu.Lock()
	at, ok := r.answered[id]
	r.mu.Unlock()
	switch {
	case !ok:
		return !arrived.After(rotatedAt)
	case at.IsZero():
		return true
	}
	return !arrived.After(at)
}

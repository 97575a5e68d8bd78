// Package cluster makes Vigil instances that share one database judge
// risk as one instance would. Each client has one owner among the live
// instances, chosen by rendezvous hashing of the client id over the
// members; the risk events of a client's sessions are judged by its owner,
// wherever they arrive, so rates, fan-out, parallel use and novelty are
// not divided among the instances. Membership is a heartbeat table in the
// database; events travel over an endpoint authenticated with a key every
// instance derives from the shared secret. When the owner cannot be
// reached, or the membership view is stale, the instance that received
// the event judges it itself: the durable facts (terminated sessions, hard
// facts, revocations) are in the database and already deny everywhere.
package cluster

import (
	"context"
	"encoding/binary"
	"hash/fnv"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Member is one live instance: its id and the base URL where the others
// reach its peer endpoint.
type Member struct {
	ID  string
	URL string
}

// Directory is where members announce themselves. *postgres.Store
// implements it (with its own Member type, adapted by the wiring).
type Directory interface {
	// Heartbeat records that id, reachable at url, is alive and returns
	// every member heard from within expiry, id included.
	Heartbeat(ctx context.Context, id, url string, expiry time.Duration) ([]Member, error)
	// Leave removes id from the members.
	Leave(ctx context.Context, id string) error
}

// Membership timing: an instance beats every Beat; one silent for Expiry
// is no longer a member, and a view older than Expiry is not trusted.
const (
	Beat   = 500 * time.Millisecond
	Expiry = 2 * time.Second
)

// view is one membership snapshot, members sorted by id.
type view struct {
	members []Member
	hashes  []uint64 // fnv-64a of each member id, for rendezvous hashing
	at      time.Time
}

// Ring is this instance's view of the members and its own heartbeat. It is
// safe for concurrent use.
type Ring struct {
	self    Member
	dir     Directory
	log     *slog.Logger
	now     func() time.Time
	cur     atomic.Pointer[view]
	changed func(prev, next []Member) // called from the heartbeat loop
}

// NewRing returns the ring of instance self over dir. changed, if not nil,
// is called (from Run's goroutine) whenever the live members change.
func NewRing(self Member, dir Directory, log *slog.Logger, now func() time.Time, changed func(prev, next []Member)) *Ring {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Ring{self: self, dir: dir, log: log, now: now, changed: changed}
}

// Self returns this instance.
func (r *Ring) Self() Member { return r.self }

// Beat sends one heartbeat and takes the members it returns as the view.
func (r *Ring) Beat(ctx context.Context) error {
	ms, err := r.dir.Heartbeat(ctx, r.self.ID, r.self.URL, Expiry)
	if err != nil {
		return err
	}
	r.install(ms, r.now())
	return nil
}

func (r *Ring) install(ms []Member, at time.Time) {
	ms = slices.Clone(ms)
	slices.SortFunc(ms, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	ms = slices.CompactFunc(ms, func(a, b Member) bool { return a.ID == b.ID })
	v := &view{members: ms, hashes: make([]uint64, len(ms)), at: at}
	for i, m := range ms {
		v.hashes[i] = hashID(m.ID)
	}
	prev := r.cur.Swap(v)
	if r.changed != nil && (prev == nil || !slices.Equal(prev.members, ms)) {
		var before []Member
		if prev != nil {
			before = prev.members
		}
		r.changed(before, ms)
	}
}

// Run beats every Beat until ctx is done, then leaves the members.
func (r *Ring) Run(ctx context.Context) {
	t := time.NewTicker(Beat)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			defer cancel()
			if err := r.dir.Leave(lctx, r.self.ID); err != nil {
				r.log.Warn("leaving the cluster members failed; the others notice within seconds", "err", err)
			}
			return
		case <-t.C:
		}
		bctx, cancel := context.WithTimeout(ctx, Beat)
		err := r.Beat(bctx)
		cancel()
		if err != nil && !failing && ctx.Err() == nil {
			r.log.Warn("cluster heartbeat failed; risk is judged locally until it succeeds", "err", err)
		}
		failing = err != nil
	}
}

// Members returns the current view's members (nil while none is trusted).
func (r *Ring) Members() []Member {
	v := r.fresh()
	if v == nil {
		return nil
	}
	return slices.Clone(v.members)
}

// fresh returns the view if it is younger than Expiry.
func (r *Ring) fresh() *view {
	v := r.cur.Load()
	if v == nil || r.now().Sub(v.at) >= Expiry {
		return nil
	}
	return v
}

// Owner returns the member that owns key (a client id) and ok; ok is false
// when the view is stale or empty, and the caller then judges locally.
func (r *Ring) Owner(key string) (Member, bool) {
	v := r.fresh()
	if v == nil || len(v.members) == 0 {
		return Member{}, false
	}
	return v.members[pick(v.hashes, key)], true
}

// OwnerIn returns the owner of key among ms (sorted or not).
func OwnerIn(ms []Member, key string) Member {
	hs := make([]uint64, len(ms))
	for i, m := range ms {
		hs[i] = hashID(m.ID)
	}
	return ms[pick(hs, key)]
}

// pick returns the index of the member whose weight for key is highest
// (rendezvous hashing): when a member leaves, only its keys move.
func pick(hashes []uint64, key string) int {
	k := hashID(key)
	best, bestW := 0, uint64(0)
	for i, h := range hashes {
		if w := mix(h ^ k); i == 0 || w > bestW {
			best, bestW = i, w
		}
	}
	return best
}

func hashID(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(len(s)))
	h.Write(b[:])
	return h.Sum64()
}

// mix is splitmix64's finalizer: it spreads the bits of x.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

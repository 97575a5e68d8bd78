package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/vigil-auth/vigil/internal/cluster"
	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage/postgres"
)

// Cluster timing beyond the ring's: how often an owner writes what its
// clients' baselines learned, and how long a new owner waits for the old
// one to write them before it takes them over.
const (
	shareEvery = 30 * time.Second
	adoptAfter = 2 * cluster.Beat
)

// directory adapts the store's members to the cluster package.
type directory struct{ pg *postgres.Store }

func (d directory) Heartbeat(ctx context.Context, id, url string, expiry time.Duration) ([]cluster.Member, error) {
	ms, err := d.pg.Heartbeat(ctx, id, url, expiry)
	out := make([]cluster.Member, len(ms))
	for i, m := range ms {
		out[i] = cluster.Member{ID: m.ID, URL: m.URL}
	}
	return out, err
}

func (d directory) Leave(ctx context.Context, id string) error { return d.pg.Leave(ctx, id) }

// instanceID names this process among the members: host, process and a
// random part, so a restarted instance is a new member.
func instanceID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// joinCluster makes this instance a member of the cluster on pg: it beats
// once (so the first request already knows the owners) and wraps the risk
// engine in a router that sends each event to its client's owner. It does
// nothing when cluster_url is off.
func (in *Instance) joinCluster(ctx context.Context, pg *postgres.Store, s config.Settings) error {
	if s.ClusterURL == config.ClusterOff {
		in.log.Info("cluster_url is off: this instance judges the risk of every event it receives itself")
		return nil
	}
	host, _ := os.Hostname()
	self := cluster.Member{ID: in.id, URL: s.ClusterAddress(s.Listen, host)}
	in.ring = cluster.NewRing(self, directory{pg}, in.log, in.now, in.membersChanged)
	if err := in.ring.Beat(ctx); err != nil {
		return fmt.Errorf("cluster: first heartbeat: %w", err)
	}
	in.router = cluster.NewRouter(in.ownersEngine(), in.ring, in.peerKey, in.log, in.now)
	in.log.Info("joined the cluster; each client's risk is judged by its owner", "id", self.ID, "url", self.URL,
		"members", len(in.ring.Members()))
	return nil
}

// peer is the peer endpoint, when clustered.
func (in *Instance) peer() http.Handler {
	if in.router == nil {
		return nil
	}
	return in.router
}

// judge is the risk engine the handlers use: the router when clustered.
func (in *Instance) judge() Risk {
	if in.router != nil {
		return in.router
	}
	return in.risk
}

// runCluster beats and shares learned state until ctx is done.
func (in *Instance) runCluster(ctx context.Context) {
	if in.ring == nil {
		return
	}
	in.wg.Go(func() { in.ring.Run(ctx) })
	if in.journal == nil {
		return
	}
	in.wg.Go(func() {
		every(ctx, shareEvery, func(ctx context.Context) { in.journal.share(ctx, in.owns, in.log) })
	})
}

// owns reports whether this instance owns clientID now; without a trusted
// view it owns nothing, so it writes nothing another owner might hold.
func (in *Instance) owns(clientID string) bool {
	if in.ring == nil {
		return true
	}
	o, ok := in.ring.Owner(clientID)
	return ok && o.ID == in.ring.Self().ID
}

// membersChanged hands clients over when the members change: what this
// instance owned and no longer owns is written at once, and what it now
// owns and did not is read back after adoptAfter, once the old owner had
// time to write it. Without a previous view (the first beat) there is
// nothing to hand over.
func (in *Instance) membersChanged(prev, next []cluster.Member) {
	in.log.Info("cluster members changed", "members", len(next))
	if in.journal == nil || len(prev) == 0 || len(next) == 0 {
		return
	}
	self := in.ring.Self().ID
	owned := func(ms []cluster.Member) func(string) bool {
		return func(id string) bool { return cluster.OwnerIn(ms, id).ID == self }
	}
	was, is := owned(prev), owned(next)
	in.wg.Go(func() { // off the heartbeat's goroutine
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		in.journal.share(ctx, func(id string) bool { return was(id) && !is(id) }, in.log)
	})
	in.wg.Go(func() {
		t := time.NewTimer(adoptAfter)
		defer t.Stop()
		select {
		case <-in.done:
			return
		case <-t.C:
		}
		actx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		in.journal.adopt(actx, func(id string) bool { return is(id) && !was(id) }, in.log)
	})
}

// ClusterStats returns what the risk router did, and false when this
// instance is not a cluster member.
func (in *Instance) ClusterStats() (cluster.Stats, bool) {
	if in.router == nil {
		return cluster.Stats{}, false
	}
	return in.router.Stats(), true
}

// Periodic jobs that one instance of a cluster does at a time, each under
// a lease row: the holder renews it every pass, and another instance takes
// over once a holder has missed two passes.
const (
	leaseExpired = "maintenance: remove expired records"
	leaseTTL     = 2*maintenanceEvery + time.Minute
)

// leaser is a store that hands out leases on periodic jobs.
type leaser interface {
	Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
}

// leased reports whether this instance should run job now: always on a
// store of its own, and on a shared store while it holds the job's lease.
func (in *Instance) leased(ctx context.Context, job string) bool {
	l, ok := in.store.(leaser)
	if !ok {
		return true
	}
	held, err := l.Lease(ctx, job, in.id, leaseTTL)
	if err != nil {
		in.log.Error("taking a maintenance lease failed; another instance does the job", "job", job, "err", err)
		return false
	}
	return held
}

// ClusterMembers returns the live members this instance sees (nil when it
// is not a member, or its view is stale).
func (in *Instance) ClusterMembers() []cluster.Member {
	if in.ring == nil {
		return nil
	}
	return in.ring.Members()
}

// pushLeaseTTL is how long an instance holds a Shared Signals stream's
// push once it took or renewed it; it asks again every third of it.
const pushLeaseTTL = 6 * time.Second

// pushGate returns the gate that lets one instance at a time push each
// Shared Signals stream, or nil on a store of its own.
func (in *Instance) pushGate() func(ctx context.Context, stream string) bool {
	l, ok := in.store.(leaser)
	if !ok {
		return nil
	}
	c := &leaseCache{store: l, holder: in.id, ttl: pushLeaseTTL, now: in.now, jobs: map[string]leaseState{}}
	return func(ctx context.Context, stream string) bool { return c.holds(ctx, "ssf push: "+stream) }
}

// leaseCache answers whether this instance holds a job's lease, asking the
// store (which takes or renews it) at most every ttl/3 per job.
type leaseCache struct {
	store  leaser
	holder string
	ttl    time.Duration
	now    func() time.Time
	mu     sync.Mutex
	jobs   map[string]leaseState
}

type leaseState struct {
	held bool
	next time.Time // when to ask again
}

func (c *leaseCache) holds(ctx context.Context, job string) bool {
	now := c.now()
	c.mu.Lock()
	st, ok := c.jobs[job]
	c.mu.Unlock()
	if ok && now.Before(st.next) {
		return st.held
	}
	held, err := c.store.Lease(ctx, job, c.holder, c.ttl)
	if err != nil {
		held = false // another instance does the job, or no one until the store is back
	}
	c.mu.Lock()
	c.jobs[job] = leaseState{held: held, next: now.Add(c.ttl / 3)}
	c.mu.Unlock()
	return held
}

// ownersEngine is the engine behind the router: the events it judges, its
// own clients' and those forwarded by others, first load their session's
// durable state, as the report-only switch does on a single instance.
func (in *Instance) ownersEngine() cluster.Judge {
	rh := newRehydrator(in.risk, in.store, in.log)
	if rh == nil {
		return in.risk
	}
	return rehydrating{Risk: in.risk, rh: rh}
}

// rehydrating loads a session's durable state before the engine judges
// its event; a session whose state cannot be read is denied.
type rehydrating struct {
	Risk
	rh *rehydrator
}

// Observe implements cluster.Judge.
func (r rehydrating) Observe(ev risk.Event) risk.Decision {
	if d, ok := r.rh.ensure(ev); !ok {
		return d
	}
	return r.Risk.Observe(ev)
}

// Policy returns the engine's policy.
func (r rehydrating) Policy() risk.Policy { return r.rh.eng.Policy() }

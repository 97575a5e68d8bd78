package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-auth/vigil/risk"
)

// PathObserve is the peer endpoint that judges a forwarded event.
const PathObserve = "/internal/cluster/observe"

// Peer timing: a forwarded event waits at most Timeout for the owner's
// answer; an owner that failed is not asked again for Backoff.
const (
	Timeout = 100 * time.Millisecond
	Backoff = time.Second
)

// maxBody bounds a peer request or answer.
const maxBody = 256 << 10

// Judge is the local risk engine.
type Judge interface {
	Observe(ev risk.Event) risk.Decision
}

// Stats counts what the router did with events.
type Stats struct {
	// Local events were judged here because this instance owns the client
	// (or the event has none).
	Local int64
	// Forwarded events were judged by their owner.
	Forwarded int64
	// Degraded events were judged here although another instance owns the
	// client: the owner did not answer, or the membership view was stale.
	Degraded int64
	// Served is how many forwarded events this instance judged for others.
	Served int64
}

// Router sends each risk event to the owner of its client and returns the
// owner's decision; it judges locally what it owns, and what it cannot
// forward. It is safe for concurrent use.
type Router struct {
	local   Judge
	engine  Judge         // local before WrapLocal: the engine whose policy is in force
	timeout time.Duration // how long a forward waits: Timeout
	ring    *Ring
	sign    signer
	http    *http.Client
	log     *slog.Logger
	now     func() time.Time
	seen    nonces
	down    sync.Map // member id → time.Time until which it is skipped
	stats   struct{ local, forwarded, degraded, served atomic.Int64 }
}

// NewRouter returns a router judging with local, owners from ring, peer
// messages authenticated with key (32 bytes derived from the shared
// secret).
func NewRouter(local Judge, ring *Ring, key []byte, log *slog.Logger, now func() time.Time) *Router {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}
	return &Router{local: local, engine: local, ring: ring, sign: signer{key: key}, log: log, now: now, timeout: Timeout,
		http: &http.Client{Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Policy returns the local engine's policy, when it has one.
func (r *Router) Policy() risk.Policy {
	if p, ok := r.engine.(interface{ Policy() risk.Policy }); ok {
		return p.Policy()
	}
	return risk.DefaultPolicy()
}

// LiveSessions returns the local engine's count of live sessions at level
// l: the sessions this instance judges (0 for an engine that keeps none).
func (r *Router) LiveSessions(l risk.Level) int {
	if lc, ok := r.engine.(interface{ LiveSessions(risk.Level) int }); ok {
		return lc.LiveSessions(l)
	}
	return 0
}

// WrapLocal replaces the local engine with wrap(engine), for a wrapper
// that must see every decision made for the clients this instance owns
// (and only those). Call it before the router is used.
func (r *Router) WrapLocal(wrap func(Judge) Judge) { r.local = wrap(r.local) }

// Members returns how many live members the router's view holds (0 while
// it is stale).
func (r *Router) Members() int { return len(r.ring.Members()) }

// Stats returns the router's counts so far.
func (r *Router) Stats() Stats {
	return Stats{Local: r.stats.local.Load(), Forwarded: r.stats.forwarded.Load(),
		Degraded: r.stats.degraded.Load(), Served: r.stats.served.Load()}
}

// Observe implements the server's risk engine: the owner of ev's client
// judges it. An event without a time gets this instance's clock first, so
// the owner judges it at the time it arrived.
func (r *Router) Observe(ev risk.Event) risk.Decision {
	if ev.At.IsZero() {
		ev.At = r.now()
	}
	if ev.ClientID == "" {
		r.stats.local.Add(1)
		return r.local.Observe(ev)
	}
	owner, ok := r.ring.Owner(ev.ClientID)
	switch {
	case ok && owner.ID == r.ring.Self().ID:
		r.stats.local.Add(1)
		return r.local.Observe(ev)
	case !ok || r.skipped(owner.ID):
		r.stats.degraded.Add(1)
		return r.local.Observe(ev)
	}
	d, err := r.forward(owner, ev)
	if err != nil {
		r.down.Store(owner.ID, r.now().Add(Backoff))
		r.log.Warn("the owner of a client's risk did not answer; judging here from the durable facts",
			"owner", owner.ID, "url", owner.URL, "err", err)
		r.stats.degraded.Add(1)
		return r.local.Observe(ev)
	}
	r.stats.forwarded.Add(1)
	return d
}

func (r *Router) skipped(id string) bool {
	until, ok := r.down.Load(id)
	if !ok {
		return false
	}
	if r.now().Before(until.(time.Time)) {
		return true
	}
	r.down.Delete(id)
	return false
}

// errStatus is an owner's refusal of a forwarded event.
var errStatus = errors.New("cluster: owner refused the event")

func (r *Router) forward(owner Member, ev risk.Event) (risk.Decision, error) {
	body, err := encodeEvent(ev)
	if err != nil {
		return risk.Decision{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(owner.URL, "/")+PathObserve, bytes.NewReader(body))
	if err != nil {
		return risk.Decision{}, err
	}
	auth, nonce := r.sign.request(r.ring.Self().ID, PathObserve, body, r.now())
	req.Header.Set(AuthHeader, auth)
	req.Header.Set("Content-Type", "application/json")
	res, err := r.http.Do(req)
	if err != nil {
		return risk.Decision{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxBody+1))
	if err != nil {
		return risk.Decision{}, err
	}
	if res.StatusCode != http.StatusOK || len(b) > maxBody {
		return risk.Decision{}, fmt.Errorf("%w: %s", errStatus, res.Status)
	}
	if err := r.sign.checkAnswer(res.Header.Get(AuthHeader), nonce, b); err != nil {
		return risk.Decision{}, err
	}
	var d risk.Decision
	if err := json.Unmarshal(b, &d); err != nil {
		return risk.Decision{}, fmt.Errorf("cluster: decision: %w", err)
	}
	return d, nil
}

// ServeHTTP is the peer endpoint: it judges an event another instance
// forwarded, with the local engine, and never forwards it again. Requests
// not signed with the cluster key, outside the allowed skew, replayed or
// larger than the bound are refused before anything is read into the
// engine.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxBody))
	if err != nil {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	now := r.now()
	pr, err := r.sign.checkRequest(req.Header.Get(AuthHeader), PathObserve, body, now)
	if err == nil && !r.seen.fresh(pr.nonce, now) {
		err = ErrReplayed
	}
	if err != nil {
		r.log.Warn("peer request refused", "remote", req.RemoteAddr, "err", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	ev, err := decodeEvent(body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.stats.served.Add(1)
	out, err := json.Marshal(r.local.Observe(ev))
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.Header().Set(AuthHeader, r.sign.answer(pr.nonce, out))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(out)
}

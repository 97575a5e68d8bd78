package risk

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// shards splits the session and client maps so no global lock sits on the
// hot path. A power of two.
const shards = 64

// Windows the detectors use; they are properties of the detectors, not
// policy.
const (
	rateWindow     = time.Minute     // call-rate counter time constant
	parallelWindow = 2 * time.Minute // two origins this close together are parallel use
	scheduleSlack  = 30 * time.Minute
)

// Engine scores sessions. It is safe for concurrent use: each session and
// each client has its own lock, found through sharded maps. It does no I/O
// and never reads the wall clock except, through WithClock, for events that
// carry no time.
type Engine struct {
	p       Policy
	hl      float64 // behaviour half-life, ns
	baseHL  float64 // baseline half-life, s
	memHL   float64 // client memory half-life, ns
	winHL   float64 // client window half-lives, ns
	slowHL  float64
	weights [numDetectors]float32
	// impact tables from the policy
	impactTier   [4]float32
	impactTactic [8]float32
	impactVerb   [len(verbClasses)]float32
	impactVolume float32
	caps         [numDetectors]float32
	rules        Rules
	now          func() time.Time

	sessions [shards]sessionShard
	live     liveCounts
	clients  [shards]clientShard
	peers    [shards]peerShard
}

type clientShard struct {
	mu sync.Mutex
	m  map[string]*client
}

// An Option changes one of the engine's optional collaborators.
type Option func(*Engine)

// WithClock sets the time used for events whose At is zero. The default is
// time.Now.
func WithClock(now func() time.Time) Option { return func(e *Engine) { e.now = now } }

// WithRules installs compiled admin rules (see risk/rules). A policy that has
// rules needs them.
func WithRules(r Rules) Option { return func(e *Engine) { e.rules = r } }

// ErrRulesMissing reports a policy whose rules were not compiled and passed
// with WithRules.
var ErrRulesMissing = errors.New("risk: policy has rules but no compiled rules were given")

// New returns an engine running policy p. It returns an error if p is
// invalid or names rules that opts do not supply.
func New(p Policy, opts ...Option) (*Engine, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("risk: invalid policy: %w", err)
	}
	e := &Engine{
		p:      p,
		hl:     float64(p.HalfLife),
		baseHL: p.Baseline.HalfLife.Std().Seconds(),
		memHL:  float64(p.Memory.HalfLife),
		winHL:  float64(p.Memory.Window),
		slowHL: float64(p.Memory.Slow),
		now:    time.Now,
	}
	for i, v := range p.Impact.Tiers {
		e.impactTier[i] = float32(v)
	}
	for i := range e.impactTactic {
		e.impactTactic[i] = 1
		if i < len(tactics) {
			if m, ok := p.Impact.Tactics[tactics[i]]; ok {
				e.impactTactic[i] = float32(m)
			}
		}
	}
	for i, v := range verbClasses {
		e.impactVerb[i] = 1
		if m, ok := p.Impact.Verbs[v]; ok {
			e.impactVerb[i] = float32(m)
		}
	}
	e.impactVolume = float32(p.Impact.Volume)
	for _, opt := range opts {
		opt(e)
	}
	if len(p.Rules) > 0 && e.rules == nil {
		return nil, ErrRulesMissing
	}
	for i, d := range detectors {
		dp, ok := p.Detectors[d.code]
		if !ok {
			dp = DetectorPolicy{Weight: 1, Cap: d.cap}
		}
		e.weights[i], e.caps[i] = float32(dp.Weight), float32(dp.Cap)
	}
	for i := range shards {
		e.sessions[i].init()
		e.clients[i].m = make(map[string]*client)
		e.peers[i].m = make(map[uint64]uint16)
	}
	return e, nil
}

// Policy returns the policy the engine runs.
func (e *Engine) Policy() Policy { return e.p }

func shardOf(s string) int { return int(hashString(0, s) & (shards - 1)) }

// client returns the state of client id, creating it.
func (e *Engine) client(id string) *client {
	sh := &e.clients[shardOf(id)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	c := sh.m[id]
	if c == nil {
		c = newClient()
		sh.m[id] = c
	}
	return c
}

func (e *Engine) at(t time.Time) int64 {
	if t.IsZero() {
		t = e.now()
	}
	return t.UnixNano()
}

// Observe updates the session's and client's state with ev and returns the
// decision for this call. Facts the event establishes for the first time are
// in Decision.NewFacts: the caller persists them before answering. A
// terminated session answers Terminate to every later event. An OpRevoke
// ends the session (handlers report it when the session's own token or
// refresh family is revoked) and, if it was clean, teaches the client's
// baseline. Observe never blocks on I/O.
func (e *Engine) Observe(ev Event) Decision {
	at := e.at(ev.At)
	if ev.Op == OpToken {
		e.endIdle(ev.ClientID, at)
	}
	c := e.client(ev.ClientID)
	hd := e.hold(ev.SessionID, ev.ClientID, true)
	s := &hd.s
	if s.opened == 0 {
		e.open(s, c, at, ev.Client.zone())
	}
	x := evaluation{e: e, s: s, c: c, ev: &ev, at: at, base: c.base.Load()}
	d := x.run()
	e.remember(c, x.memo, at)
	if !s.ended {
		e.live.count(hd.h, liveIndex(d.Level))
	}
	if ev.Op == OpRevoke || d.Action == Terminate {
		e.end(hd, c, at, ev.Op == OpRevoke)
	} else {
		e.release(hd, true)
	}
	return d
}

// open initialises a new session from the client's recent memory; loc is
// the client's time zone.
func (e *Engine) open(s *session, c *client, at int64, loc *time.Location) {
	base := c.base.Load()
	mat := e.maturity(base, at)
	c.mu.Lock()
	c.mem.fadeTo(at, e.memHL)
	c.mem.fadeWindows(at, e.winHL, e.slowHL)
	if s.id != "" {
		c.mem.Opened++
		c.mem.OpenedWin++
	}
	m := c.mem
	if s.id != "" {
		if len(c.live) >= maxLiveRefs {
			c.live = c.live[1:]
		}
		c.live = append(c.live, s.id)
	}
	c.mu.Unlock()
	s.opened, s.last = at, at
	s.hour = uint8(hourOfWeek(time.Unix(0, at)))
	s.turn = monthTurn(time.Unix(0, at), loc)
	s.carry, s.carryAt = float32(e.p.Memory.Carry)*m.Peak, at
	s.inherited = uint8(min(m.Failed+0.5, 255)) // failed challenges count toward the limit; unanswered ones raise the floor
	s.inheritedPts = float32(e.p.Memory.PerUnanswered)*m.Unanswered + float32(e.p.Memory.PerFailure)*m.Failed
	s.prior = e.prior(mat)
	s.accum = e.accumulated(&m, base, mat)
}

// Accumulation allowances: the novelty (decibels) a client's recent
// sessions may show, and the floors of the call counts its windows are
// compared with.
const (
	noveltyAllowance = 12
	minWindowCalls   = 20
	minSlowCalls     = 60
)

// accumulated is the evidence (decibels) in the client's windowed memory
// beyond its normal: novelty its recent sessions showed over the allowance
// (more allowance while it is still being learned), and calls in the last
// hours or days beyond twice the most its clean sessions ever saw. It is
// what splitting work into many sessions, or spreading it over days,
// accumulates.
func (e *Engine) accumulated(m *Memory, b *Baseline, mat float32) float32 {
	allow := noveltyAllowance * (1 + 3*(1-mat))
	out := max(0, m.Novelty-allow) / 2
	if mat >= 0.5 {
		for _, w := range [2][2]float32{{m.WinCalls, max(b.WinCalls, minWindowCalls)}, {m.SlowCalls, max(b.SlowCalls, minSlowCalls)}} {
			if r := w[0] / (2 * w[1]); r > 1 {
				out = max(out, ptsVolumeBase+ptsVolumePerDoubling*log2f(r))
			}
		}
	}
	return min(out, 30)
}

// memo is what an event tells the client's memory.
type memo struct {
	peak                     float32 // decibels above the prior
	calls                    int8
	issued, answered, failed int8
	terminated               bool
}

// terminatedPeak is the evidence (decibels above the prior) a terminated
// session leaves in its client's memory.
const terminatedPeak = 40

// remember folds n into c's memory.
func (e *Engine) remember(c *client, n memo, at int64) {
	if n == (memo{}) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mem.fadeTo(at, e.memHL)
	c.mem.fadeWindows(at, e.winHL, e.slowHL)
	c.mem.Peak = max(c.mem.Peak, n.peak)
	if n.terminated {
		c.mem.Peak = max(c.mem.Peak, terminatedPeak)
	}
	c.mem.WinCalls += float32(n.calls)
	c.mem.SlowCalls += float32(n.calls)
	c.mem.Unanswered = max(0, c.mem.Unanswered+float32(n.issued-n.answered-n.failed))
	c.mem.Failed += float32(n.failed)
}

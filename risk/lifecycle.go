package risk

import (
	"slices"
	"sync"
	"time"
)

// end closes the held session and releases it. When learn is set and the
// session was clean, its behaviour teaches the client's baseline. Ending
// twice does nothing.
func (e *Engine) end(hd *held, c *client, at int64, learn bool) {
	s := &hd.s
	if s.ended {
		e.release(hd, false)
		return
	}
	s.ended = true
	e.live.count(hd.h, 0)
	var sum *summary
	if learn && e.clean(s) {
		sum = s.summarize(at)
		c.mu.Lock()
		c.mem.fadeWindows(at, e.winHL, e.slowHL)
		sum.winCalls, sum.slowCalls = c.mem.WinCalls, c.mem.SlowCalls
		c.mu.Unlock()
	}
	// a clean session that met challenges passed them all with the
	// client's key: the tenants it met are the client's own doing
	proven := sum != nil && s.challenges > 0 && !s.pending
	actorNets := s.actorNets()
	excess := min(s.novelty-2*c.base.Load().Novelty1-noveltySlack, maxSessionNovelty)
	sid := s.id
	e.release(hd, true)
	if excess > 0 { // novelty beyond the client's usual adds up across its sessions
		c.mu.Lock()
		c.mem.fadeWindows(at, e.winHL, e.slowHL)
		c.mem.Novelty += excess
		c.mu.Unlock()
	}

	c.mu.Lock()
	c.live = slices.DeleteFunc(c.live, func(id string) bool { return id == sid })
	c.mu.Unlock()
	if sum == nil {
		return
	}
	if proven {
		c.mu.Lock()
		c.mem.forget(sum.tenants)
		c.mu.Unlock()
	}
	e.learn(c, func(b *Baseline) { b.learn(sum, e.baseHL) })
	for _, an := range actorNets {
		e.learn(e.client(an.name), func(b *Baseline) { b.learnNet(an.net, sum.tier8(), at/int64(time.Second), e.baseHL) })
	}
}

// noveltySlack is the novelty (decibels) a session may show beyond twice
// its client's usual before the excess accumulates in the client's memory.
// One session adds at most maxSessionNovelty: it takes several to add up.
const (
	noveltySlack      = 3
	maxSessionNovelty = 20
)

// clean reports whether s ended without risk: no fact, no challenge, no
// inherited suspicion, and a peak below the policy's clean threshold; or
// with every challenge it met passed with the client's key (and no fact,
// no failure, none left pending), whatever its peak: what the client proved
// it does itself is learned, so a benign habit that meets a challenge is
// asked once, not every session from then on. A challenge a resource
// server's introspection opened and the client never met is not held
// against it: the session is judged as if it had not been issued, by its
// peak, with the challenges the client did meet all passed.
func (e *Engine) clean(s *session) bool {
	if s.id == "" || s.terminated || len(s.facts) > 0 {
		return false
	}
	met := int(s.challenges)
	if s.pending {
		if !s.unseen {
			return false // the client met it and left it unanswered
		}
		met-- // opened by an introspection, never put to the client
	}
	if met > 0 {
		if !s.verified || s.failed > 0 || s.inherited > 0 {
			return false
		}
		if !s.pending {
			return true
		}
	}
	return s.inherited == 0 && s.accum < 0.5 && int(s.peak) < e.p.Baseline.CleanBelow
}

// learn replaces c's baseline with a changed copy.
func (e *Engine) learn(c *client, change func(*Baseline)) {
	c.mu.Lock()
	old := c.base.Load()
	nb := old.clone()
	change(nb)
	c.base.Store(nb)
	c.mu.Unlock()
	for _, n := range nb.Nets {
		if lookup(old.Nets, n.Key) == 0 {
			e.peerAdd(n.Key)
		}
	}
}

// endIdle ends client id's sessions that have been idle for IdleEnd, so their
// behaviour is learned before the client's next session is judged.
func (e *Engine) endIdle(id string, at int64) {
	c := e.client(id)
	for _, sid := range e.idleSessions(c, at) {
		if hd := e.hold(sid, id, false); hd != nil {
			e.end(hd, c, at, true)
		}
	}
}

func (e *Engine) idleSessions(c *client, at int64) []string {
	limit := at - int64(e.p.Baseline.IdleEnd)
	c.mu.Lock()
	ids := slices.Clone(c.live)
	c.mu.Unlock()
	var idle []string
	for _, id := range ids {
		if last, ok := e.lastSeen(id); ok && last < limit {
			idle = append(idle, id)
		}
	}
	return idle
}

// Sweep ends every session idle since before at minus the policy's idle
// window (learning from the clean ones) and drops the state of sessions that
// ended that long ago. It returns how many sessions it dropped. Call it
// periodically; it takes each shard's lock in turn.
func (e *Engine) Sweep(at time.Time) int {
	now := at.UnixNano()
	limit := now - int64(e.p.Baseline.IdleEnd)
	dropped := 0
	for i := range e.sessions {
		sh := &e.sessions[i]
		for _, ir := range sh.idle(limit) {
			hd := e.holdRef(sh, ir)
			switch {
			case hd == nil:
			case !hd.s.ended:
				e.end(hd, e.client(hd.s.clientID), now, true)
			case hd.h.lastSeen.Load() < limit: // ended, and still idle
				e.free(hd)
				dropped++
			default:
				e.release(hd, false)
			}
		}
	}
	return dropped
}

// Forget drops session sid's state at once, without learning from it. Its
// client's memory of it stays.
func (e *Engine) Forget(sid string) {
	hd := e.hold(sid, "", false)
	if hd == nil {
		return
	}
	c := e.client(hd.s.clientID)
	e.free(hd)
	c.mu.Lock()
	c.live = slices.DeleteFunc(c.live, func(id string) bool { return id == sid })
	c.mu.Unlock()
}

// Sessions returns the ids of client id's live sessions the engine tracks,
// oldest first (at most 64). A handler uses it to apply a client-wide signal
// to each session.
func (e *Engine) Sessions(id string) []string {
	c := e.client(id)
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.live)
}

// actorNet is a network an actor used in a session, for its own baseline.
type actorNet struct {
	name string
	net  uint64
}

func (s *session) actorNets() []actorNet {
	var out []actorNet
	for i := 0; i < int(s.norigins); i++ {
		o := &s.origins[i]
		if o.name != s.clientID && o.name != "" && o.first.IsValid() {
			out = append(out, actorNet{o.name, netKey(o.first, 24)})
		}
	}
	return out
}

// summarize extracts what a clean session teaches.
func (s *session) summarize(at int64) *summary {
	sum := &summary{
		at:   at / int64(time.Second),
		nets: slices.Clone(s.ownNets.keys()), auds: slices.Clone(s.auds.keys()),
		scopes: slices.Clone(s.scopes.keys()), tenants: slices.Clone(s.tenants.keys()),
		tools: slices.Clone(s.tools.keys()), trans: slices.Clone(s.trans.keys()),
		tier: int(s.maxTier), tactics: s.tactics, verbs: s.verbs, hour: int(s.hour), peakRate: s.peakRate,
		distinctTenants: int(s.distinctTenants), auds1: int(s.distinctAuds), depth: int(s.maxDepth),
		calls: int(s.calls), turn: s.turn, novelty: s.novelty, sensEgress: s.sensEgress, flows: slices.Clone(s.flows.keys()),
		toolN: slices.Clone(s.toolN[:s.tools.n]),
	}
	for i := 0; i < int(s.norigins); i++ {
		if o := &s.origins[i]; o.name != s.clientID && o.name != "" {
			sum.actors = append(sum.actors, hashString(nsActor, o.name))
			sum.actorTiers = append(sum.actorTiers, o.tier)
		}
	}
	return sum
}

func (s *summary) tier8() uint8 { return uint8(s.tier) }

// peerShard counts, per /24 network, how many clients' baselines hold it.
type peerShard struct {
	mu sync.Mutex
	m  map[uint64]uint16
}

const maxPeerNets = 1024 // per shard

func (e *Engine) peerAdd(k uint64) {
	sh := &e.peers[k&(shards-1)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if n, ok := sh.m[k]; ok || len(sh.m) < maxPeerNets {
		sh.m[k] = min(n+1, 65535)
	}
}

// peerCount returns how many clients' baselines hold network k.
func (e *Engine) peerCount(k uint64) int {
	sh := &e.peers[k&(shards-1)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return int(sh.m[k])
}

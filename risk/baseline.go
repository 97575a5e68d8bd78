package risk

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// entry is one learned value: its key, how many clean sessions (decayed)
// used it, and the highest tier those sessions reached: a context (network,
// tenant, actor) vouches for work up to that tier, not beyond.
type entry struct {
	Key   uint64  `json:"k"`
	Count float32 `json:"n"`
	Tier  uint8   `json:"t,omitempty"`
	// Max is the most calls one clean session made of it (tools), away
	// from the turn of a month; TurnMax the most one made at the turn of
	// a month (monthTurn).
	Max     uint16 `json:"m,omitempty"`
	TurnMax uint16 `json:"e,omitempty"`
	// First is when a clean session first used it, in hours since the
	// Unix epoch (0: before the engine remembered it): a value learned
	// only lately vouches for sensitive work in proportion (vouches).
	First uint32 `json:"f,omitempty"`
}

// usualMax returns the most calls of k one clean session made (tools),
// for a session at the turn of a month (turn) or not: the larger of the
// two maxima at the turn, the other days' away from it (the turn's while
// the client used k only there). 0 if absent.
func usualMax(set []entry, k uint64, turn bool) uint16 {
	for i := range set {
		if set[i].Key == k {
			return usualOf(set[i].Max, set[i].TurnMax, turn)
		}
	}
	return 0
}

// usualOf picks between the maximum of the other days (days) and that of
// the turn of a month (atTurn) for a session at the turn (turn) or not. A
// periodic peak lifts only the turn's limit; a client that has not been
// seen away from the turn keeps the turn's, as it has no other.
func usualOf[T uint16 | float32](days, atTurn T, turn bool) T {
	if turn || days == 0 {
		return max(days, atTurn)
	}
	return days
}

// Capacity of each learned set. Together they keep a baseline under 8 KiB.
const (
	capNets    = 16
	capAuds    = 32
	capScopes  = 32
	capTenants = 32
	capTools   = 48
	capTrans   = 96
	capActors  = 8
	capFlows   = 16
)

func lookup(set []entry, k uint64) float32 {
	for i := range set {
		if set[i].Key == k {
			return set[i].Count
		}
	}
	return 0
}

// bump adds one sighting of k to set, evicting the weakest entry when the
// set is at capacity.
func bump(set []entry, k uint64, capacity int, tier uint8, hour uint32) []entry {
	for i := range set {
		if set[i].Key == k {
			set[i].Count++
			set[i].Tier = max(set[i].Tier, tier)
			return set
		}
	}
	if len(set) < capacity {
		return append(set, entry{Key: k, Count: 1, Tier: tier, First: hour})
	}
	weakest := 0
	for i := range set {
		if set[i].Count < set[weakest].Count {
			weakest = i
		}
	}
	set[weakest] = entry{Key: k, Count: 1, Tier: tier, First: hour}
	return set
}

// fade multiplies every count by f and drops entries that faded away.
func fade(set []entry, f float32) []entry {
	out := set[:0]
	for _, e := range set {
		e.Count *= f
		if e.Count >= 0.05 {
			out = append(out, e)
		}
	}
	return out
}

// Baseline is what a client normally does, learned online from its clean
// sessions: bounded sets of hashed values with decayed counts, an
// hour-of-week histogram and a few running averages. It is exported only so
// Snapshot can journal it; treat its fields as opaque counters. A published
// baseline is immutable: learning copies it, changes the copy and swaps the
// pointer, so detectors read it without a lock.
type Baseline struct {
	Sessions float32 `json:"sessions"`
	Calls    float32 `json:"calls"`    // clean calls (decayed): maturity by volume
	FirstAt  int64   `json:"first_at"` // unix seconds of the first clean session: maturity by time
	LastAt   int64   `json:"last_at"`  // unix seconds of the last merge
	Nets     []entry `json:"nets,omitempty"`
	Auds     []entry `json:"auds,omitempty"`
	Scopes   []entry `json:"scopes,omitempty"`
	Tenants  []entry `json:"tenants,omitempty"`
	Tools    []entry `json:"tools,omitempty"`
	Trans    []entry `json:"trans,omitempty"`
	Actors   []entry `json:"actors,omitempty"`
	// Flows are the pairs of a sensitive audience read and a channel data
	// was then sent out through in one clean session (pairKey).
	Flows   []entry    `json:"flows,omitempty"`
	Tiers   [5]float32 `json:"tiers"`   // sessions whose highest tier was i
	Tactics [8]float32 `json:"tactics"` // sessions that touched tactic i
	// Verbs counts the sessions whose calls above routine data used verb
	// class i (verbClasses), and VerbSessions the clean sessions learned
	// since the engine kept them: the chances the client had to show one.
	Verbs        [len(verbClasses)]float32 `json:"verbs"`
	VerbSessions float32                   `json:"verb_sessions"`
	Hours        [168]float32              `json:"hours"` // sessions opened in each hour of the week
	PeakRate     float32                   `json:"peak_rate"`
	Tenants1     float32                   `json:"tenants_per_session"` // most distinct tenants in one session (decayed max)
	Auds1        float32                   `json:"auds_per_session"`
	Calls1       float32                   `json:"calls_per_session"` // most calls in one session away from the turn of a month (decayed max)
	// SensEgress counts clean sessions that sent data out after reading
	// sensitive data.
	SensEgress float32 `json:"sensitive_egress"`
	Novelty1   float32 `json:"novelty_per_session"`
	// WinCalls and SlowCalls are the most the client's windowed call counters
	// (Memory.Window, Memory.Slow half-lives) reached in clean sessions.
	WinCalls  float32 `json:"window_calls"`
	SlowCalls float32 `json:"slow_calls"`
	MaxDepth  uint8   `json:"max_depth"`
	// CallsTurn is the most calls in one session at the turn of a month
	// (monthTurn; decayed max, fading at half the rate of the others: a
	// monthly peak is seen again only a month later). Periodic peaks
	// (month-end closing, billing runs) are learned apart from the other
	// days, so they do not lift those days' limit.
	CallsTurn float32 `json:"calls_per_session_month_turn,omitempty"`
}

// callsUsual is the most calls one clean session made, for a session at
// the turn of a month (turn) or not (usualOf).
func (b *Baseline) callsUsual(turn bool) float32 {
	return usualOf(b.Calls1, b.CallsTurn, turn)
}

// maxTier is the highest tier reached by clean sessions whose decayed count
// is at least normal, or 0.
func (b *Baseline) maxTier(normal float32) int {
	var sum float32
	for t := 4; t >= 1; t-- {
		sum += b.Tiers[t]
		if sum >= normal {
			return t
		}
	}
	return 0
}

// reaching is the decayed count of clean sessions that reached tier or
// above.
func (b *Baseline) reaching(tier int) float32 {
	var n float32
	for t := max(tier, 0); t < len(b.Tiers); t++ {
		n += b.Tiers[t]
	}
	return n
}

func (b *Baseline) clone() *Baseline {
	c := *b
	c.Nets, c.Auds, c.Scopes = slices.Clone(b.Nets), slices.Clone(b.Auds), slices.Clone(b.Scopes)
	c.Tenants, c.Tools, c.Trans, c.Actors = slices.Clone(b.Tenants), slices.Clone(b.Tools), slices.Clone(b.Trans), slices.Clone(b.Actors)
	c.Flows = slices.Clone(b.Flows)
	return &c
}

// fadeTo decays every count to time at (unix seconds) with half-life hl (seconds).
func (b *Baseline) fadeTo(at int64, hl float64) {
	if b.LastAt == 0 || at <= b.LastAt {
		b.LastAt = max(b.LastAt, at)
		return
	}
	f := float32(math.Exp2(-float64(at-b.LastAt) / hl))
	b.Sessions *= f
	b.Calls *= f
	b.SensEgress *= f
	for _, set := range []*[]entry{&b.Nets, &b.Auds, &b.Scopes, &b.Tenants, &b.Tools, &b.Trans, &b.Actors, &b.Flows} {
		*set = fade(*set, f)
	}
	for i := range b.Tiers {
		b.Tiers[i] *= f
	}
	for i := range b.Tactics {
		b.Tactics[i] *= f
	}
	for i := range b.Verbs {
		b.Verbs[i] *= f
	}
	b.VerbSessions *= f
	for i := range b.Hours {
		b.Hours[i] *= f
	}
	b.Tenants1 *= f
	b.Auds1 *= f
	b.Calls1 *= f
	b.CallsTurn *= float32(math.Sqrt(float64(f)))
	b.WinCalls *= f
	b.SlowCalls *= f
	b.LastAt = at
}

// summary is what one clean session teaches its client's baseline.
type summary struct {
	at                     int64 // unix seconds
	nets, auds, scopes     []uint64
	tenants, tools, trans  []uint64
	actors                 []uint64
	actorTiers             []uint8 // the highest tier each actor reached in the session
	tier                   int
	tactics                uint8
	verbs                  uint8 // verb classes used above routine data
	hour                   int
	peakRate               float32
	distinctTenants, auds1 int
	depth                  int
	calls                  int
	turn                   bool     // opened at the turn of a month (monthTurn)
	toolN                  []uint16 // calls of each of tools
	sensEgress             bool
	flows                  []uint64 // sensitive source and egress channel pairs
	novelty                float32  // decibels of novelty the session showed
	winCalls, slowCalls    float32  // the client's windowed call counters at its end
}

// learn merges one clean session into b.
func (b *Baseline) learn(s *summary, hl float64) {
	b.fadeTo(s.at, hl)
	if b.FirstAt == 0 {
		b.FirstAt = s.at
	}
	b.Sessions++
	b.Calls += float32(s.calls)
	t, h := uint8(s.tier), hourOf(s.at)
	b.Nets = bumpAll(b.Nets, s.nets, capNets, t, h)
	b.Auds = bumpAll(b.Auds, s.auds, capAuds, t, h)
	b.Scopes = bumpAll(b.Scopes, s.scopes, capScopes, t, h)
	b.Tenants = bumpAll(b.Tenants, s.tenants, capTenants, t, h)
	b.Tools = bumpAll(b.Tools, s.tools, capTools, t, h)
	for i, k := range s.tools {
		if i < len(s.toolN) {
			b.Tools = raiseMax(b.Tools, k, s.toolN[i], s.turn)
		}
	}
	if s.sensEgress {
		b.SensEgress++
	}
	b.Flows = bumpAll(b.Flows, s.flows, capFlows, t, h)
	b.Trans = bumpAll(b.Trans, s.trans, capTrans, t, h)
	for i, k := range s.actors { // a pair vouches for what the actor itself reached
		b.Actors = bump(b.Actors, k, capActors, s.actorTiers[i], h)
	}
	b.Tiers[s.tier]++
	for i := range 8 {
		if s.tactics&(1<<i) != 0 {
			b.Tactics[i]++
		}
	}
	b.VerbSessions++
	for i := range b.Verbs {
		if s.verbs&(1<<i) != 0 {
			b.Verbs[i]++
		}
	}
	b.Hours[s.hour]++
	b.PeakRate = ewma(b.PeakRate, s.peakRate, b.Sessions)
	b.Tenants1 = max(b.Tenants1, float32(s.distinctTenants))
	b.Auds1 = max(b.Auds1, float32(s.auds1))
	if s.turn {
		b.CallsTurn = max(b.CallsTurn, float32(s.calls))
	} else {
		b.Calls1 = max(b.Calls1, float32(s.calls))
	}
	b.Novelty1 = ewma(b.Novelty1, s.novelty, b.Sessions)
	b.WinCalls = max(b.WinCalls, s.winCalls)
	b.SlowCalls = max(b.SlowCalls, s.slowCalls)
	b.MaxDepth = max(b.MaxDepth, uint8(min(s.depth, 255)))
}

// learnNet records one sighting of network k (an actor's, learned from a
// session it acted in).
func (b *Baseline) learnNet(k uint64, tier uint8, at int64, hl float64) {
	b.fadeTo(at, hl)
	b.Nets = bump(b.Nets, k, capNets, tier, hourOf(at))
}

func bumpAll(set []entry, keys []uint64, capacity int, tier uint8, hour uint32) []entry {
	for _, k := range keys {
		set = bump(set, k, capacity, tier, hour)
	}
	return set
}

// hourOf is unix seconds at in hours since the epoch, as entry.First keeps it.
func hourOf(at int64) uint32 { return uint32(max(at, 0) / 3600) }

// raiseMax raises the maximum of k in set to n: TurnMax for a session at
// the turn of a month (turn), else Max.
func raiseMax(set []entry, k uint64, n uint16, turn bool) []entry {
	for i := range set {
		if set[i].Key != k {
			continue
		}
		if turn {
			set[i].TurnMax = max(set[i].TurnMax, n)
		} else {
			set[i].Max = max(set[i].Max, n)
		}
	}
	return set
}

// lookupTier returns k's count in set and the highest tier it vouched for.
func lookupTier(set []entry, k uint64) (float32, int) {
	for i := range set {
		if set[i].Key == k {
			return set[i].Count, int(set[i].Tier)
		}
	}
	return 0, 0
}

// ewma folds v into avg, as a plain mean for the first sessions and then
// with weight 0.2.
func ewma(avg, v, n float32) float32 {
	w := max(float32(0.2), 1/max(n, 1))
	return avg + w*(v-avg)
}

// Memory is a client's short-term record of risk across its sessions: the
// peak score of its recent sessions and its recent unanswered and failed
// challenges, all fading with Policy.Memory.HalfLife.
//
// It also accumulates, per client, the novelty its sessions showed and the
// calls they made, in a window of hours (Policy.Memory.Window) and one of
// days (Policy.Memory.Slow): splitting work into short sessions or spreading
// it over days adds up there.
type Memory struct {
	Peak       float32 `json:"peak"` // decibels above the prior of the highest recent session
	Unanswered float32 `json:"unanswered"`
	Failed     float32 `json:"failed"`
	At         int64   `json:"at"` // unix ns the values were last decayed to
	// Novelty is the decibels of novelty the client's sessions showed,
	// halving every Memory.Slow; WinCalls and SlowCalls count its calls,
	// halving every Memory.Window and Memory.Slow.
	Novelty   float32 `json:"novelty"`
	WinCalls  float32 `json:"window_calls"`
	SlowCalls float32 `json:"slow_calls"`
	WinAt     int64   `json:"window_at"` // unix ns the windows were last decayed to
	// Opened and OpenedWin count the sessions the client opened, halving
	// every Memory.Slow and Memory.Window; Met holds the tenants it met for
	// the first time recently (at most maxMet, hashed) and when. How many
	// new tenants a client meets in hours or days, against how many its
	// history says it meets in that many sessions, is evidence that adds up
	// across sessions.
	Opened    float32 `json:"opened"`
	OpenedWin float32 `json:"opened_window,omitempty"`
	Met       []Met   `json:"met,omitempty"`
}

// Met is a value a client met for the first time: its key and when (unix ns).
type Met struct {
	Key uint64 `json:"k"`
	At  int64  `json:"at"`
}

// maxMet bounds Memory.Met.
const maxMet = 16

// meet records key k as met for the first time at at (once), replacing the
// oldest entry when full.
func (m *Memory) meet(k uint64, at int64) {
	oldest := 0
	for i := range m.Met {
		if m.Met[i].Key == k {
			return
		}
		if m.Met[i].At < m.Met[oldest].At {
			oldest = i
		}
	}
	if len(m.Met) < maxMet {
		m.Met = append(m.Met, Met{Key: k, At: at})
		return
	}
	m.Met[oldest] = Met{Key: k, At: at}
}

// recentMet is how many values the client met for the first time in the
// windows that counts halving every win and slow ns span (their mean
// lifetimes, win/ln 2 and slow/ln 2), the windows OpenedWin and Opened
// count sessions over.
func (m *Memory) recentMet(at int64, win, slow float64) (inWin, inSlow float32) {
	for _, e := range m.Met {
		switch age := float64(at - e.At); {
		case age < win/math.Ln2:
			inWin++
			inSlow++
		case age < slow/math.Ln2:
			inSlow++
		}
	}
	return inWin, inSlow
}

// forget drops keys from the recently met values: a session that proved
// itself with the client's key met them, so they are no longer counted
// among the new tenants a thief may be working through.
func (m *Memory) forget(keys []uint64) {
	m.Met = slices.DeleteFunc(m.Met, func(e Met) bool { return slices.Contains(keys, e.Key) })
}

// metAt returns when k was met, if it is among the recently met values.
func (m *Memory) metAt(k uint64) (int64, bool) {
	for _, e := range m.Met {
		if e.Key == k {
			return e.At, true
		}
	}
	return 0, false
}

// metHas reports whether k is among the recently met values.
func (m *Memory) metHas(k uint64) bool {
	_, ok := m.metAt(k)
	return ok
}

func (m *Memory) fadeTo(at int64, hl float64) {
	if m.At != 0 && at > m.At {
		f := float32(math.Exp2(-float64(at-m.At) / hl))
		m.Peak *= f
		m.Unanswered *= f
		m.Failed *= f
	}
	m.At = max(m.At, at)
}

// fadeWindows decays the windowed accumulators to at (unix ns) with
// half-lives win and slow (ns).
func (m *Memory) fadeWindows(at int64, win, slow float64) {
	if m.WinAt != 0 && at > m.WinAt {
		dt := float64(at - m.WinAt)
		fs := float32(math.Exp2(-dt / slow))
		m.WinCalls *= float32(math.Exp2(-dt / win))
		m.SlowCalls *= fs
		m.Novelty *= fs
		m.Opened *= fs
		m.OpenedWin *= float32(math.Exp2(-dt / win))
	}
	m.WinAt = max(m.WinAt, at)
}

// client is the engine's state for one client.
type client struct {
	base atomic.Pointer[Baseline]

	mu   sync.Mutex // guards mem and live
	mem  Memory
	live []string // session ids, oldest first, bounded
}

const maxLiveRefs = 64

func newClient() *client {
	c := &client{}
	c.base.Store(&Baseline{})
	return c
}

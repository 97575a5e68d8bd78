package risk

import (
	"math"
	"math/bits"
	"strconv"
	"time"
)

// tactics are the tactic classes a resource may declare, as bit numbers:
// MITRE ATT&CK's enterprise tactics that a call to an API can serve.
var tactics = [...]string{"discovery", "collection", "credential_access", "persistence", "defense_evasion", "exfiltration", "impact"}

// Tactic bits the engine treats specially.
const (
	tacticExfiltration = 5
	otherTactic        = 7 // a tactic name the engine does not know
)

// tacticBit returns the bit of a declared tactic: otherTactic for an
// unknown name, -1 for none.
func tacticBit(t string) int {
	if t == "" {
		return -1
	}
	for i, name := range tactics {
		if name == t {
			return i
		}
	}
	return otherTactic
}

// sendsOut reports whether the call sends data out: its tool or a scope
// is an egress verb, or its resource declares the exfiltration tactic.
func (x *evaluation) sendsOut() bool {
	return x.egress || tacticBit(x.ev.Resource.Tactic) == tacticExfiltration
}

// routineNewTacticWeight is what a tactic class the session reached only
// through routine-tier audiences the client never used says, against one
// reached otherwise: a third, as for the tools and tenants of an audience
// never used.
var routineNewTacticWeight float32 = 1.0 / 3

// startKey is the sequence state before a session's first tool.
var startKey = hashString(nsTool, "^")

// resource runs scope.novel_resource, scope.tier_jump and seq.multi_tactic
// for a call that asks for an audience.
func (x *evaluation) resource() {
	ev, s := x.ev, x.s
	aud := hashString(nsAudience, ev.Audience)
	registered := ev.Resource.Sensitivity > 0 && (len(ev.Client.Audiences) == 0 || contains(ev.Client.Audiences, ev.Audience))
	var pts float32
	what := ""
	if s.auds.add(aud) {
		s.distinctAuds++
		x.fanout("audiences", int(s.distinctAuds), x.base.Auds1)
		if registered {
			f := x.vouches(x.base.Auds, aud)
			// a sensitive tier says more of an audience reached with tools
			// the client never used (new work) than with its own tools (the
			// same work on another instance, a new tenant's ledger)
			tool := float32(0)
			if ev.Tool != "" {
				tool = x.familiar(x.base.Tools, hashString(nsTool, ev.Tool))
			}
			pts += x.noveltyOf(x.base.Auds, f, ptsNovelAudience[x.tier]) + ptsNovelSensitive[x.tier]*(1-f)*(1-tool)
			what = " audience " + ev.Audience
		}
	}
	for _, sc := range ev.Scopes {
		k := hashString(nsScope, sc)
		if !s.scopes.add(k) || (len(ev.Client.Scopes) > 0 && !contains(ev.Client.Scopes, sc)) {
			continue
		}
		if p := ptsNovelScope[x.tier] * (1 - x.familiar(x.base.Scopes, k)) * x.verbWeight(sc); p > 0 {
			pts += p
			what += " scope " + sc
		}
	}
	if w := x.learned(); pts*w >= 0.5 {
		x.add(dNovelResource, pts*w, "first use of"+what+" (tier "+strconv.Itoa(x.tier)+")")
	}
	if ev.Op == OpExchange && x.tier >= 2 {
		x.newVerbs()
	}
	if s.sensRead && x.sendsOut() {
		x.sensEgress(aud)
	}
	x.tierJump()
	x.tactic()
}

// newVerbs runs the verb side of scope.novel_resource: a call above
// routine data that destroys, exports, spends or administers (by its tool
// or scopes) in a class the client's clean sessions never used there. A
// thief holding a client's credentials goes for what it can take or break,
// about certainly; the client itself, after n sessions that never did, is
// estimated to start in one of its next with chance 1/(n+2) (Laplace's
// rule): 10·log10(n+2) decibels, up to ptsNovelVerb for the tier, once per
// class and session. A class the client uses now and then vouches in
// proportion.
func (x *evaluation) newVerbs() {
	s := x.s
	fresh := x.verbs &^ s.verbs
	s.verbs |= x.verbs
	var unvouched float32
	name := ""
	for i := range verbClasses {
		if fresh&(1<<i)&riskyVerbs == 0 {
			continue
		}
		if f := min(1, x.base.Verbs[i]/float32(x.e.p.Baseline.KnownAt)); 1-f > unvouched {
			unvouched, name = 1-f, verbClasses[i]
		}
	}
	db := min(ptsNovelVerb[x.tier], float32(10*math.Log10(float64(x.base.VerbSessions)+2)))
	if pts := db * unvouched * x.learned(); pts >= 0.5 {
		x.add(dNovelResource, pts, "first "+name+" call above routine data (tier "+strconv.Itoa(x.tier)+")")
	}
}

// sensEgress runs the exfiltration order of seq.multi_tactic: data sent
// out through channel aud in a session that already read sensitive data (a
// sensitive egress channel alone is not a read). The client's clean
// sessions vouch for it in two ways: whether they ever combine the two at
// all, and, for a client that does, whether they sent this data through
// this channel (each sensitive audience read, paired with the channel). A
// flow never seen is vouched for by how often the client's flows are new,
// the Good-Turing estimate (flows seen about once + 1) / (sessions that
// sent after sensitive data + 2): a job that sends one ledger to one drop
// every day speaks strongly of another source sent there, an agent that
// combines its resources anew weakly. A baseline that learned no flow
// (kept before flows were) vouches for every flow as it does for the
// order.
func (x *evaluation) sensEgress(aud uint64) {
	s := x.s
	var never float32 // the share of the order the client's sessions do not vouch for
	if !s.sensEgress {
		s.sensEgress = true
		never = 1 - min(1, x.base.SensEgress/float32(x.e.p.Baseline.KnownAt))
	}
	var fresh float32
	for _, src := range s.sensAuds.keys() {
		if k := pairKey(src, aud); s.flows.add(k) {
			fresh = max(fresh, 1-x.familiar(x.base.Flows, k))
		}
	}
	if len(x.base.Flows) > 0 {
		never += (1 - never) * fresh * (1 - x.newFlowRate())
	}
	if pts := ptsSensEgress * never * x.learned(); pts >= 0.5 {
		x.add(dMultiTactic, pts, "sends to "+x.ev.Audience+" after sensitive data, never in one clean session before")
	}
}

// newFlowRate is the Good-Turing estimate of how often the client's
// sessions that send after sensitive data do so through a flow (source
// and channel) they never used.
func (x *evaluation) newFlowRate() float32 {
	return min(1, (seenOnce(x.base.Flows)+1)/(x.base.SensEgress+2))
}

// seenOnce counts the values of set seen about once (decayed count under
// 1.5): the singletons of a Good-Turing estimate.
func seenOnce(set []entry) float32 {
	var once float32
	for _, e := range set {
		if e.Count < 1.5 {
			once++
		}
	}
	return once
}

// rareTier is what the call's sensitive tier adds to the novelty of a
// tenant never served: a thief reading other tenants' data goes for the
// sensitive, while the client's own new tenants come in the tiers its
// sessions work at. The client's chance of one at this tier or above is
// taken as the share of its clean sessions that reach it, (sessions
// reaching it + 1) / (sessions + 2), so a client that works with
// sensitive data every day speaks little of it, one that rarely does up
// to ptsNovelSensitive.
func (x *evaluation) rareTier() float32 {
	most := ptsNovelSensitive[x.tier]
	if most <= 0 {
		return 0
	}
	hi := x.base.reaching(x.tier)
	q := min(1, (hi+1)/(x.base.Sessions+2))
	return min(most, -10*float32(math.Log10(float64(q))))
}

// vouches is how far value k of set vouches for the call, 0..1: how
// familiar it is and, for a call at a sensitive tier, how long ago a clean
// session first used it. A value first used in the latter half of the
// client's observed life (up to the baseline's half-life) is young and
// vouches by the square root of the share of that life since: one learned
// only from the last few sessions (an attacker grooming the baseline with
// quiet reads before the bulk read) vouches for sensitive work in part,
// one used for most of the time the client is known vouches fully.
func (x *evaluation) vouches(set []entry, k uint64) float32 {
	f := x.familiar(set, k)
	if f <= 0 || x.tier < x.e.p.SensitiveTier || x.base.FirstAt == 0 {
		return f
	}
	var first uint32
	for i := range set {
		if set[i].Key == k {
			first = set[i].First
			break
		}
	}
	now := x.at / int64(time.Second)
	span := min(float64(now-x.base.FirstAt), x.e.baseHL)
	if first == 0 || span <= 0 {
		return f // learned before the engine kept when, or no span yet
	}
	share := max(0, float64(now-int64(first)*3600)/span)
	if share >= youngShare {
		return f
	}
	return f * float32(math.Sqrt(share))
}

// youngShare is the share of the client's observed life under which a
// value is young: first used in the latter half of it.
const youngShare = 0.5

// tierJump scores the first access in the session to a tier above both the
// session's and the client's usual maximum.
func (x *evaluation) tierJump() {
	if x.ev.Audience == "" || uint8(x.tier) <= x.s.maxTier {
		return
	}
	ref := int(max(x.s.maxTier, 1))
	x.s.maxTier = uint8(x.tier)
	ref = max(ref, x.base.maxTier(float32(x.e.p.Baseline.KnownAt)))
	if x.tier > ref {
		x.add(dTierJump, ptsTierStep*float32(x.tier-ref)*x.learned(),
			"first tier "+strconv.Itoa(x.tier)+" access, usual maximum "+strconv.Itoa(ref))
	}
}

// tactic runs seq.multi_tactic: several tactic classes in one session, one of
// them new for the client, or a new class after a challenge.
func (x *evaluation) tactic() {
	bit := tacticBit(x.ev.Resource.Tactic)
	s := x.s
	if bit < 0 {
		return
	}
	if x.onNewAudience() < 1 && x.tier < x.e.p.SensitiveTier {
		if s.tactics&(1<<bit) == 0 {
			s.routineNewTactics |= 1 << bit
		}
	} else {
		s.routineNewTactics &^= 1 << bit
	}
	if s.tactics&(1<<bit) != 0 {
		return
	}
	s.tactics |= 1 << bit
	n := bits.OnesCount8(s.tactics)
	if s.challenges > 0 && n > 1 {
		x.add(dMultiTactic, ptsTacticSwitch, "switched to "+x.ev.Resource.Tactic+" after a challenge")
	}
	if n >= 2 {
		if w := x.novelTactic(); w > 0 {
			x.add(dMultiTactic, ptsTacticStep*w*x.learned(), strconv.Itoa(n)+" tactic classes in one session, "+x.ev.Resource.Tactic+" last")
		}
	}
}

// novelTactic is how much the session's tactic classes say: 1 when it
// touched one the client does not normally touch, a third when it did so
// only through routine-tier audiences the client never used (a routine
// resource it starts using brings its own purpose, and the audience's
// novelty already speaks for it), 0 otherwise.
func (x *evaluation) novelTactic() float32 {
	normal := float32(x.e.p.Baseline.KnownAt)
	var w float32
	for i := range 8 {
		if x.s.tactics&(1<<i) == 0 || x.base.Tactics[i] >= normal {
			continue
		}
		if x.s.routineNewTactics&(1<<i) == 0 {
			return 1
		}
		w = routineNewTacticWeight
	}
	return w
}

// tenant runs tenant.novel and the tenant side of vol.fanout.
func (x *evaluation) tenant() {
	ev, s := x.ev, x.s
	if ev.Tenant == "" || ev.Resource.Tenant == ev.Tenant {
		// no tenant, or the declared tenant of a single-tenant resource:
		// the audience names it, the client does not choose it, so it
		// neither counts as served nor as met
		return
	}
	k := hashString(nsTenant, ev.Tenant)
	if !s.tenants.add(k) {
		return
	}
	s.distinctTenants++
	x.fanout("tenants", int(s.distinctTenants), x.base.Tenants1)
	if pts := (x.novelty(x.base.Tenants, k, ptsTenantNovel) + x.rareTier()*(1-x.familiar(x.base.Tenants, k))) * x.onNewAudience(); pts > 0 {
		x.add(dTenantNovel, pts*x.learned(), "tenant "+ev.Tenant+" never served")
	}
	if x.ev.Op == OpExchange && x.s.id != "" {
		x.newTenants(k, x.familiar(x.base.Tenants, k) < 1)
	}
}

// newTenants runs the client-wide side of tenant.novel for a call that
// meets tenant k: never served (novel), or met for the first time
// recently (or still served about once since). It weighs the tenants the
// client met for the first time in the last hours and the last days
// (Memory.Met, over the windows of Memory.Window and Memory.Slow) against
// how many its history says it meets in as many sessions. Meeting one new tenant is onboarding; meeting
// several in a session, in hours or in days, when the client's clean
// sessions rarely meet any, is a thief reading other tenants' data a
// little at a time, however the work is split across sessions. Once the
// count is that unlikely, every call on one of those tenants carries the
// evidence, not only the first: a tenant met in a session that looked
// clean is still one of the several.
func (x *evaluation) newTenants(k uint64, novel bool) {
	c, e := x.c, x.e
	c.mu.Lock()
	c.mem.fadeWindows(x.at, e.winHL, e.slowHL)
	if novel {
		c.mem.meet(k, x.at)
	} else if at, ok := c.mem.metAt(k); !ok || (float64(x.at-at) >= e.slowHL/math.Ln2 && lookup(x.base.Tenants, k) >= 1.5) {
		// not met recently, nor still served about once since
		c.mu.Unlock()
		return
	}
	inWin, inSlow := c.mem.recentMet(x.at, e.winHL, e.slowHL)
	opened, openedWin := max(c.mem.Opened, 1), max(c.mem.OpenedWin, 1)
	var once float32
	for _, t := range x.base.Tenants {
		if t.Count < 1.5 && !c.mem.metHas(t.Key) {
			once++
		}
	}
	c.mu.Unlock()
	x.met = inSlow
	// the Good-Turing estimate of new tenants per clean session, from
	// values not met recently, times the sessions opened in each window:
	// the stronger of the two counts, less what looking twice costs
	rate := (once + 1) / (x.base.Sessions + 2)
	db, n, mu := metEvidence(inSlow, rate*opened)
	if w, nw, muw := metEvidence(inWin, rate*openedWin); w-twoLooks > db {
		db, n, mu = w-twoLooks, nw, muw
	}
	if db <= 0 {
		return
	}
	x.growTo(dTenantNovel, min(db, e.caps[dTenantNovel])*x.learned(),
		strconv.Itoa(n)+" tenants never served met recently (usual "+strconv.FormatFloat(float64(mu), 'f', 1, 32)+")")
}

// twoLooks is what weighing new tenants over two windows costs, in
// decibels: the stronger of two looks is about twice as likely to be
// extreme by chance.
const twoLooks = 3

// metEvidence is the evidence (decibels) of meeting met new tenants where
// mu are expected: meeting n or more is about certain for a thief working
// through other tenants and this unlikely for the client, so the
// likelihood ratio is one over the Poisson tail. Under two, or no more
// than expected, it is 0.
func metEvidence(met, mu float32) (db float32, n int, _ float32) {
	n = int(met + 0.5)
	if n < 2 || float32(n) <= mu {
		return 0, n, mu
	}
	return -10 * float32(math.Log10(poissonTail(n, float64(mu)))), n, mu
}

// poissonTail is P(X ≥ n) for X Poisson with mean mu, at least 1e-9.
func poissonTail(n int, mu float64) float64 {
	term, below := math.Exp(-mu), 0.0
	for i := 0; i < n; i++ {
		below += term
		term *= mu / float64(i+1)
	}
	return max(1-below, 1e-9)
}

// fanout scores a session reaching many more distinct values than usual:
// the evidence grows with every doubling beyond the limit, so one
// overwhelming fan-out speaks for itself.
func (x *evaluation) fanout(what string, n int, usual float32) {
	u := max(usual, 1)
	limit := max(2*u, u+3)
	if float32(n) <= limit {
		return
	}
	x.growTo(dFanout, ptsFanoutBase+ptsFanoutPerDoubling*log2f(float32(n)/limit),
		strconv.Itoa(n)+" distinct "+what+" (usual "+strconv.Itoa(int(u+0.5))+")")
}

// growTo raises detector i's standing evidence to want (before weight), for
// detectors whose evidence measures a level (a rate, a volume) rather than
// adding up events.
func (x *evaluation) growTo(i int, want float32, evidence string) {
	w := x.e.weights[i]
	if w <= 0 {
		return
	}
	if cur := x.s.acc[i].pts / w; want > cur {
		x.add(i, want-cur, evidence)
	}
}

func log2f(v float32) float32 { return float32(math.Log2(float64(v))) }

// tool runs seq.rare_transition: a tool never used, or a step between two
// tools never seen in the client's clean sessions.
func (x *evaluation) tool() {
	ev, s := x.ev, x.s
	if ev.Tool == "" {
		return
	}
	k := hashString(nsTool, ev.Tool)
	again := s.tools.has(k) // the session already used it: its novelty was counted
	x.toolVolume(k)
	if k == s.prevState {
		return
	}
	prev, prevTool := s.prevState, s.prevTool
	if prev == 0 {
		prev = startKey
	}
	s.prevState, s.prevTool = k, ev.Tool
	tr := pairKey(prev, k)
	s.trans.add(tr)
	onNew := x.onNewAudience()
	switch pts := x.noveltyOf(x.base.Tools, x.vouches(x.base.Tools, k), ptsNovelTool[x.tier]) * x.verbWeight(ev.Tool) * onNew; {
	case pts > 0 && again:
		// a tool new to the client, met again in the session: counted once
	case pts > 0:
		x.add(dRareTransition, pts*x.learned(), "tool "+ev.Tool+" never used")
	case onNew < 1 || prev == startKey:
		// steps into, between or out of the tools of an audience the
		// client never used: the audience's novelty already speaks for
		// the step
	default:
		// an order never seen between two tools the client knows, weighed
		// like any novelty by how often the client meets new orders (a
		// job repeating one sequence speaks strongly of a new one, a
		// client that keeps combining its tools anew weakly); a step from
		// or to a tool it is still learning is explained by that tool's
		// novelty, counted once when it was met. A tool the client used in
		// few sessions had few chances to show what follows it, so the
		// step says at most what chancesDB allows for its sessions.
		w := x.familiar(x.base.Tools, prev) * x.familiar(x.base.Tools, k)
		if pts := min(x.novelty(x.base.Trans, tr, ptsNovelTool[x.tier]/2), chancesDB(lookup(x.base.Tools, prev))) * w; pts > 0 {
			x.add(dRareTransition, pts*x.learned(), "tool "+ev.Tool+" never follows "+prevTool)
		}
	}
}

// chancesDB is the most a value never seen among those following a context
// the client met in n clean sessions can say: by Good-Turing on the
// context's own sightings, at best one in n+2 of its next uses meets a new
// one, against an even chance for someone else. A context met in few
// sessions had few chances to show what goes with it.
func chancesDB(n float32) float32 {
	return float32(10 * math.Log10(0.5*float64(n+2)))
}

// onNewAudience discounts the novelty of a tool or tenant met on an
// audience the client never used: a new resource brings its own tools and
// tenants, and the audience's novelty already speaks for them.
func (x *evaluation) onNewAudience() float32 {
	if x.ev.Audience == "" || x.familiar(x.base.Auds, hashString(nsAudience, x.ev.Audience)) >= 1 {
		return 1
	}
	return 0.3
}

// toolVolume counts the session's calls of tool k and runs the per-tool
// side of vol.session_volume: many more calls of one tool than the
// client's sessions ever make of it (a cost loop, a destructive burst, a
// mass export at the usual pace).
func (x *evaluation) toolVolume(k uint64) {
	s := x.s
	if x.ev.Op != OpExchange && x.ev.Op != OpToken {
		return
	}
	i := s.tools.slot(k)
	if i < 0 {
		i = s.tools.put(k)
		s.toolN[i] = 0
	}
	s.toolN[i] = min(s.toolN[i]+1, 65535)
	n := float32(s.toolN[i])
	usual := float32(usualMax(x.base.Tools, k, s.turn))
	limit := max(1.5*usual, usual+3, 4)
	if usual == 0 && x.verbs&riskyVerbs != 0 {
		// a tool never used that destroys, exports, spends or
		// administers: by its name, once is already new; by the scope it
		// is called with only (a paid API's lookup), a second call may be
		// the same request again, a third is a loop
		limit = 2
		if v, _ := verbsOf(x.ev.Tool); v&riskyVerbs != 0 {
			limit = 1
		}
	}
	if !x.mature() {
		limit = max(limit, 20)
	}
	if r := n / limit; r > 1 && x.mat > 0 {
		x.growTo(dSessionVolume, (ptsVolumeBase+ptsToolPerDoubling*log2f(r))*x.mat,
			strconv.Itoa(int(n))+" calls of "+x.ev.Tool+" in the session (usual at most "+strconv.Itoa(int(usual))+")")
	}
	x.riskyToolCount(k, int(n), usual)
}

// riskyToolCount weighs the count of a tool that destroys, exports, spends
// or administers against the client's clean sessions, two ways, and keeps
// the stronger:
//   - against the sessions that used it: one beats the most of n such
//     sessions with chance 1/(n+1), and each doubling beyond that most is
//     taken as another such step, so a few calls more of a tool the client
//     calls once in most sessions already speak (a cost loop that has only
//     begun);
//   - against all its sessions: a Poisson count with twice the mean its
//     history suggests (the most one session made of it, times the share of
//     sessions that used it), so a tool it calls in a few sessions only,
//     called many times, speaks too.
//
// The ratio to that most also scales the call's impact: every call of a
// loop spends or destroys again.
func (x *evaluation) riskyToolCount(k uint64, n int, usual float32) {
	if x.verbs&riskyVerbs == 0 || usual <= 0 || !x.mature() {
		return
	}
	r := float32(n) / usual
	if r <= 1 {
		return
	}
	x.s.volRatio = max(x.s.volRatio, r)
	used, _ := lookupTier(x.base.Tools, k)
	db := log2f(r) * float32(10*math.Log10(float64(used)+1))
	if lam := 2 * float64(usual) * float64(min(1, used/max(x.base.Sessions, 1))); lam > 0 && float64(n) > 2*lam {
		tail := 1e-9
		if float64(n) < 4*lam+50 {
			tail = poissonTail(n, lam)
		}
		db = max(db, -10*float32(math.Log10(tail)))
	}
	if db > ptsVolumeBase {
		x.growTo(dSessionVolume, min(db, x.e.caps[dSessionVolume])*x.mat,
			strconv.Itoa(n)+" calls of "+x.ev.Tool+" in the session (its sessions make at most "+strconv.Itoa(int(usual))+")")
	}
}

// novelty is the evidence that a value never seen (key k not normal in
// set) gives, up to limit decibels: the Good-Turing estimate of how often
// this client meets a new value, (values seen about once + 1) / (sightings
// + 2), against an even chance for someone else. A client with a few
// values seen many times speaks strongly of a new one; one that keeps
// meeting new values, weakly. A value partly known counts in proportion.
func (x *evaluation) novelty(set []entry, k uint64, limit float32) float32 {
	return x.noveltyOf(set, x.familiar(set, k), limit)
}

// noveltyOf is novelty for a value whose familiarity is f.
func (x *evaluation) noveltyOf(set []entry, f, limit float32) float32 {
	if f >= 1 {
		return 0
	}
	var n float32
	for _, e := range set {
		n += e.Count
	}
	once := seenOnce(set)
	n = max(n, x.base.Sessions) // every clean session was a chance to meet a new value
	db := float32(10 * math.Log10(0.5*float64(n+2)/float64(once+1)))
	return min(max(db, 0), limit) * (1 - f)
}

// riskyVerbs are the verb classes (bits of verbsOf) that destroy, export,
// spend or administer.
const riskyVerbs = 1<<1 | 1<<2 | 1<<3 | 1<<4

// verbWeight makes the first use of a tool or scope that destroys, exports,
// spends or administers speak louder than that of one that reads: clients
// rarely start doing those, attackers often do.
func (x *evaluation) verbWeight(name string) float32 {
	v, _ := verbsOf(name)
	return weightOfVerbs(v)
}

// callVerbWeight is verbWeight for the call's tool and scopes together.
func (x *evaluation) callVerbWeight() float32 { return weightOfVerbs(x.verbs) }

// weightOfVerbs weighs verb classes v (bits of verbsOf): ×1.5 for one that
// destroys, exports, spends or administers, ×1.2 for a write, else 1.
func weightOfVerbs(v uint8) float32 {
	switch {
	case v&riskyVerbs != 0:
		return 1.5
	case v&1 != 0: // write
		return 1.2
	}
	return 1
}

// rate runs vol.rate_spike on calls the client makes (not introspection).
func (x *evaluation) rate() {
	s := x.s
	s.rate++
	s.peakRate = max(s.peakRate, s.rate)
	thr := max(3*x.base.PeakRate, 10)
	if !x.mature() {
		thr = max(thr, 20)
	}
	if s.rate > thr && x.mat > 0 { // a rate means something only against the client's own
		x.growTo(dRateSpike, (ptsRateBase+ptsRatePerDoubling*log2f(s.rate/thr))*x.mat,
			strconv.Itoa(int(s.rate))+" calls a minute (threshold "+strconv.Itoa(int(thr))+")")
	}
}

// volume runs vol.session_volume: many more calls in this session than the
// client's sessions usually make, whatever the pace. The limit is three
// times the usual (decayed) maximum, at least 20 calls above it; a client
// not yet mature gets at least 100. The usual is that of the session's
// calendar position (Baseline.callsUsual): a month-end peak lifts the
// limit at the turn of a month only.
func (x *evaluation) volume() {
	s := x.s
	s.calls = min(s.calls+1, 65535)
	x.memo.calls = 1
	usual := x.base.callsUsual(s.turn)
	limit := max(3*usual, usual+20)
	if !x.mature() {
		limit = max(limit, 100)
	}
	if n := float32(s.calls); n > limit && x.mat > 0 {
		x.growTo(dSessionVolume, (ptsVolumeBase+ptsVolumePerDoubling*log2f(n/limit))*x.mat,
			strconv.Itoa(int(s.calls))+" calls in the session (usual at most "+strconv.Itoa(int(usual+0.5))+")")
	}
}

// chain runs deleg.unusual_chain: a deeper delegation chain than usual, or
// an actor never seen acting for the client.
func (x *evaluation) chain() {
	ev, s := x.ev, x.s
	depth := len(ev.Actors)
	if depth == 0 {
		return
	}
	s.maxDepth = max(s.maxDepth, uint8(min(depth, 255)))
	usual := max(int(x.base.MaxDepth), 1)
	if depth > usual {
		x.add(dUnusualChain, ptsChainDepth*float32(depth-usual), "delegation depth "+strconv.Itoa(depth)+", usual "+strconv.Itoa(usual))
	}
	actor := ev.Actors[0]
	ak := hashString(nsActor, actor)
	n, vouched := lookupTier(x.base.Actors, ak)
	if f := min(1, n/float32(x.e.p.Baseline.KnownAt)); f < 1 {
		pts := ptsChainNewPair * (1 - f)
		if o := s.originOf(actor, ak); x.tier > int(o.tier) && ev.Audience != "" {
			// a pair never seen vouches for nothing: the principal's
			// history says how often it meets a new actor (Good-Turing,
			// once per session), and each step up to a sensitive tier
			// adds what that tier newly says
			if o.tier == 0 {
				pts += x.novelty(x.base.Actors, ak, ptsChainPairNovel)
			}
			pts += (ptsNovelSensitive[x.tier] - ptsNovelSensitive[o.tier]) * (1 - f)
		}
		// what the pair does says more when it writes, deletes, exports,
		// spends or administers, as for a tool never used
		x.add(dUnusualChain, pts*x.callVerbWeight()*x.learned(), "actor "+actor+" never acted for "+ev.ClientID)
	} else if o := s.originOf(actor, ak); x.tier > vouched && x.tier > int(o.tier) && ev.Audience != "" {
		// the pair used above what the actor ever reached for this client
		// (each step up the tiers adds what it newly says)
		pts := vouchDB(n, x.base, x.tier, vouched) - vouchDB(n, x.base, int(o.tier), vouched)
		x.add(dUnusualChain, pts*x.learned(), "actor "+actor+" acted for "+ev.ClientID+" only up to tier "+strconv.Itoa(vouched))
	}
	// the actor's own side: an actor the engine never saw work by itself,
	// or acting at a tier above anything it reached for anyone
	ab := x.e.client(actor).base.Load()
	switch am := x.e.maturity(ab, x.at); {
	case ab.Sessions == 0 && ab.FirstAt == 0:
		x.add(dUnusualChain, ptsChainNewActor, "actor "+actor+" has no history of its own")
	case am >= 0.5 && x.tier >= x.e.p.SensitiveTier && x.tier > ab.maxTier(float32(x.e.p.Baseline.KnownAt)) && x.tier > vouched:
		x.add(dUnusualChain, ptsTierStep*float32(x.tier-ab.maxTier(float32(x.e.p.Baseline.KnownAt))),
			"actor "+actor+" never reaches tier "+strconv.Itoa(x.tier))
	}
}

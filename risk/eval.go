package risk

import (
	"math"
	"time"
)

// evaluation is one Observe call's work on a locked session.
type evaluation struct {
	e    *Engine
	s    *session
	c    *client // the session's client; its lock may be taken under the session's
	ev   *Event
	base *Baseline // the session client's baseline
	at   int64
	tier int
	// mat is the client's maturity, 0..1: how long and how much it has been
	// observed. Learned evidence about a client that is not yet mature
	// counts less, the more so the more routine the call.
	mat      float32
	imp      float32 // the call's impact, once decided
	kindImp  float32 // the call's impact without the session's volume (impactOf.kind)
	verbs    uint8   // verb classes of the tool and scopes
	egress   bool    // the tool or a scope sends data out
	newFacts []Reason
	added    uint32 // bit i: s.facts[i] was touched by this event
	softFact bool   // a non-hard fact was established by this event
	repeat   bool   // the action repeats the session's unanswered challenge
	refused  bool   // the request asked beyond its grant: it reaches nothing
	memo     memo
	// met is how many tenants the client met for the first time recently,
	// this call's included, when this call met one.
	met float32
}

// run scores the event and decides. The session is locked.
func (x *evaluation) run() Decision {
	s := x.s
	s.decay(x.at, x.e.hl)
	x.tier = eventTier(x.ev)
	x.mat = x.e.maturity(x.base, x.at)
	x.verbs, x.egress = verbsOf(x.ev.Tool)
	for _, sc := range x.ev.Scopes {
		v, eg := verbsOf(sc)
		x.verbs |= v
		x.egress = x.egress || eg
	}
	if s.terminated {
		s.touch(x.at)
		return x.terminated()
	}
	x.facts()
	x.detect()
	sc := x.e.score(s, &s.acc, x.at)
	d := x.decide(sc)
	s.touch(x.at)
	s.peak = max(s.peak, uint8(d.Score))
	if up := sc.db - s.prior; up > s.peakDB {
		s.peakDB, s.peakAt = up, x.at
	}
	// a peak is risky once it reached the low threshold or met friction:
	// it then leaves a floor in the session and in the client's memory
	if up := sc.db - s.prior; up >= x.e.riskyPeak(s.prior) || (d.Action != Allow && x.ev.Op != OpRevalidate) {
		s.risky = true
		x.memo.peak = s.peakDB
	}
	return d
}

func (s *session) touch(at int64) {
	s.last = max(s.last, at)
}

// terminated answers an event on a session that is already over.
func (x *evaluation) terminated() Decision {
	sc := x.e.score(x.s, &x.s.acc, x.at)
	return Decision{
		Score: 100, Suspicion: 1, Level: LevelCritical, Action: Terminate, NoRefresh: true,
		Reasons: sc.reasons, ReportOnly: x.e.p.ReportOnly, Tier: x.tier, SensitiveTouched: x.s.sensitive,
	}
}

// eventTier is the sensitivity tier the call is judged at: the audience's
// declared sensitivity, 4 for an audience nobody registered (fail closed),
// and 1 for calls with no audience.
func eventTier(ev *Event) int {
	switch {
	case ev.Audience == "":
		return 1
	case ev.Resource.Sensitivity == 0:
		return 4
	}
	return clampTier(ev.Resource.Sensitivity)
}

// maturity is how well the engine knows a client, 0..1: the geometric mean
// of the time it has been observed and the clean calls it made, each
// against the policy's mark (and each counted up to four times it).
func (e *Engine) maturity(b *Baseline, at int64) float32 {
	if b.FirstAt == 0 {
		return 0
	}
	sp := e.p.Suspicion
	span := float64(at/int64(time.Second)-b.FirstAt) / sp.MatureAfter.Std().Seconds()
	vol := float64(b.Calls) / sp.MatureCalls
	return float32(min(1, math.Sqrt(min(max(span, 0), 4)*min(vol, 4))))
}

// prior is the suspicion a session of a client with maturity m starts
// from, in decibels.
func (e *Engine) prior(m float32) float32 {
	sp := e.p.Suspicion
	return float32(sp.NewPrior) + m*float32(sp.Prior-sp.NewPrior)
}

// learned scales learned (novelty) evidence at the call's tier by the
// client's maturity: a client still being learned gets the tier's floor. A
// client with no clean session yet has nothing to be novel against: its
// first sessions are judged by the prior and what it declared, and novelty
// counts fully only from its fifth clean session.
func (x *evaluation) learned() float32 {
	f := learningFloor[x.tier]
	return (f + (1-f)*x.mat) * min(1, x.base.Sessions/5)
}

// mature reports whether the baseline has converged enough to judge
// learned habits (hours, rates, volumes) by.
func (x *evaluation) mature() bool { return x.mat >= 0.5 }

// familiar is how normal key k is in set, 0 (never seen) to 1.
func (x *evaluation) familiar(set []entry, k uint64) float32 {
	return min(1, lookup(set, k)/float32(x.e.p.Baseline.KnownAt))
}

// known reports whether key k is a normal value of set.
func (x *evaluation) known(set []entry, k uint64) bool {
	return lookup(set, k) >= float32(x.e.p.Baseline.KnownAt)
}

// add adds evidence (decibels) to detector i's standing contribution, up
// to its cap. Novelty also counts toward the client's accumulated novelty,
// routine-tier novelty at a third.
func (x *evaluation) add(i int, pts float32, evidence string) {
	pts *= x.e.weights[i]
	if pts < 0.5 {
		return
	}
	a := &x.s.acc[i]
	before := a.pts
	a.pts = min(x.e.caps[i], a.pts+pts)
	a.ev = evidence
	if detectors[i].novelty {
		d := a.pts - before
		if x.tier <= 1 {
			d /= 3
		}
		x.s.novelty += d
	}
}

// facts records the handlers' facts and those the engine establishes itself.
func (x *evaluation) facts() {
	ev := x.ev
	for _, code := range ev.Facts {
		if code == FactUnexpectedIntrospect {
			// evidence about who holds the token, not a certainty: a
			// misrouted call after a refusal is not a theft
			x.add(dUnexpectedIntrospector, ptsUnexpectedIntrospect, ev.Evidence)
			continue
		}
		x.addFact(code, ev.Evidence)
		x.refused = x.refused || code == FactEscalationAttempt || code == FactChainAnomaly
	}
	switch ev.Op {
	case OpToken, OpExchange:
		x.registration()
	case OpRevalidate:
		x.revalidation()
	case OpSignal:
		x.signal()
	}
}

// registration establishes an escalation attempt when the call asks for an
// audience or scope outside the client's registration, or an audience no
// admin registered.
func (x *evaluation) registration() {
	ev := x.ev
	switch {
	case ev.Audience == "":
	case ev.Resource.Sensitivity == 0:
		x.escalation("audience " + ev.Audience + " is not a registered resource")
	case len(ev.Client.Audiences) > 0 && !contains(ev.Client.Audiences, ev.Audience):
		x.escalation("audience " + ev.Audience + " is outside the registration")
	}
	if len(ev.Client.Scopes) == 0 {
		return
	}
	for _, sc := range ev.Scopes {
		if !contains(ev.Client.Scopes, sc) {
			x.escalation("scope " + sc + " is outside the registration")
		}
	}
}

// revalidation records the answer to a challenge.
func (x *evaluation) revalidation() {
	s := x.s
	if s.pending {
		s.pending = false
		if x.ev.Passed && !s.unseen {
			x.memo.answered++
		}
		s.unseen = false
	}
	if x.ev.Passed {
		return
	}
	s.failed++
	x.memo.failed++
	x.addFact(FactRevalidationFailed, "revalidation failed")
}

// signal handles an inbound CAEP-shaped event.
func (x *evaluation) signal() {
	sig := x.ev.Signal
	if sig == nil {
		return
	}
	switch sig.Type {
	case SignalCredentialChange:
		x.addFact(FactCompromised, "credential-change event")
	case SignalSessionRevoked:
		x.addFact(FactSessionRevoked, "session-revoked event")
	case SignalRiskLevelChange:
		x.s.acc[dExternalSignal] = accum{} // an upstream level replaces the previous one
		x.add(dExternalSignal, signalPoints(sig.Level), "upstream risk level "+sig.Level)
	}
}

func signalPoints(level string) float32 {
	switch level {
	case "low":
		return ptsSignalLow
	case "medium":
		return ptsSignalMedium
	case "high":
		return ptsSignalHigh
	}
	return 0
}

// escalation records an escalation attempt the engine finds itself: the
// request is outside the registration, so the handler refuses it.
func (x *evaluation) escalation(evidence string) {
	x.refused = true
	x.addFact(FactEscalationAttempt, evidence)
}

// addFact records fact code once per event: new facts go to NewFacts,
// repeated ones add the policy's Repeat points.
func (x *evaluation) addFact(code, evidence string) {
	fp, ok := x.e.p.Facts[code]
	if !ok {
		fp = FactPolicy{Points: 40, Repeat: 10}
	}
	s := x.s
	if i := s.factByCode(code); i >= 0 {
		if i < 32 && x.added&(1<<i) == 0 {
			x.added |= 1 << i
			f := &s.facts[i]
			f.points = int16(min(int(f.points)+fp.Repeat, fp.Points+2*fp.Repeat))
			f.count++
		}
		return
	}
	if len(s.facts) < 32 {
		x.added |= 1 << len(s.facts)
	}
	pts := fp.Points
	if !fp.Hard {
		if x.softFact { // one refused request is one incident: later facts about it add their repeat points
			pts = fp.Repeat
		}
		x.softFact = true
	}
	s.facts = append(s.facts, fact{code: code, evidence: evidence, points: int16(pts), count: 1, hard: fp.Hard})
	x.newFacts = append(x.newFacts, Reason{Code: code, Points: pts, Evidence: evidence})
}

// detect runs the behaviour detectors that apply to the event's operation.
func (x *evaluation) detect() {
	ev := x.ev
	if ev.IP.IsValid() && ev.Op != OpSignal {
		x.network()
	}
	if !x.s.judgedOpen { // the schedule is judged once, when the session opens
		x.s.judgedOpen = true
		x.schedule()
	}
	switch ev.Op {
	case OpToken:
		if ev.Audience != "" && !x.refused {
			x.resource()
		}
		x.rate()
		x.volume()
	case OpExchange:
		if !x.refused { // a refused request reached nothing new: its fact says what it asked for
			x.resource()
			x.tenant()
		}
		x.tool()
		x.chain()
		x.rate()
		x.volume()
	case OpRefresh:
		x.rate()
	case OpIntrospect:
		x.tierJump()
		x.tenant()
		x.tool()
	}
}

// eventTime is the event's time as a time.Time.
func (x *evaluation) eventTime() time.Time { return time.Unix(0, x.at) }

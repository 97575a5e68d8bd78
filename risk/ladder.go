package risk

import "time"

// levelRank orders levels.
func levelRank(l Level) int {
	switch l {
	case LevelLow:
		return 1
	case LevelMedium:
		return 2
	case LevelHigh:
		return 3
	case LevelCritical:
		return 4
	}
	return 0
}

// ladder is the default action for an operation at a level (RISK.md's
// table). sensitive is true for a call to a resource of the sensitive tier.
func ladder(op Op, lvl Level, sensitive, passed bool) Action {
	r := levelRank(lvl)
	switch {
	case r == 4:
		return Terminate
	case op == OpRevoke || op == OpSignal:
		return Allow
	case op == OpRevalidate:
		return pick(passed, Allow, Deny)
	case op == OpRefresh:
		return pick(r <= 1, Allow, Deny)
	case r <= 1:
		return Allow
	case r == 2:
		return pick(sensitive, StepUp, Allow)
	case op == OpIntrospect: // high: active only for routine audiences
		return pick(sensitive, Deny, Allow)
	}
	return pick(sensitive, Deny, StepUp) // high: deny sensitive, step up routine
}

func pick(cond bool, a, b Action) Action {
	if cond {
		return a
	}
	return b
}

// decide turns a score into the decision for this call, applying rules,
// challenge accounting and lifetime caps.
func (x *evaluation) decide(sc scored) Decision {
	e, s, ev := x.e, x.s, x.ev
	x.tier = x.judgedTier()
	lvl := e.level(sc.score, x.tier)
	sensitive := ev.Audience != "" && x.tier >= e.p.SensitiveTier
	action := ladder(ev.Op, lvl, sensitive, ev.Passed)
	if ev.Op == OpRefresh && s.sensitive && action == Allow {
		action = Deny // after sensitive data, the session's tokens get no refresh
		sc.reasons = append(sc.reasons, Reason{Code: ReasonSensitiveTouched, Evidence: "sensitive resource reached: no refresh"})
	}
	action = x.covered(action, sc.score)
	action = x.standing(action)
	if x.refused && action == StepUp {
		action = Deny // the handler refuses the request: no challenge is issued
	}
	ttl := e.ttlFor(lvl)
	d := Decision{Score: sc.score, Level: lvl, Reasons: sc.reasons, NewFacts: x.newFacts, ReportOnly: e.p.ReportOnly, Tier: x.tier}
	action, ttl = x.applyRules(action, ttl, &d)
	action = x.challenge(action, &d)
	x.settle(action, sensitive, sc.score)
	if s.sensitive {
		ttl = minTTL(ttl, e.p.TTL.Sensitive.Std())
	}
	d.Action, d.MaxTTL, d.SensitiveTouched = action, ttl, s.sensitive
	d.NoRefresh = s.sensitive || levelRank(lvl) >= 2 || action != Allow
	return d
}

// judgedTier is the tier the call is decided at: its resource's, raised to
// the sensitive tier for a first call to an exfiltration channel the client
// never uses, in a session that has already reached sensitive data.
func (x *evaluation) judgedTier() int {
	e, s := x.e, x.s
	exfil := tacticBit("exfiltration")
	switch {
	case !s.sensitive || x.tier >= e.p.SensitiveTier || tacticBit(x.ev.Resource.Tactic) != exfil:
		return x.tier
	case x.base.Tactics[exfil] >= float32(e.p.Baseline.KnownAt):
		return x.tier
	}
	return e.p.SensitiveTier
}

// settle records what the action means for the session.
func (x *evaluation) settle(action Action, sensitive bool, score int) {
	s, ev := x.s, x.ev
	switch {
	case action == Terminate:
		s.terminated = true
		x.memo.terminated = true
	case action != Allow:
	case ev.Op == OpRevalidate && ev.Passed:
		s.verified = true
		s.verifiedScore = uint8(score)
		s.verifiedTier = max(s.pendingTier, uint8(x.tier))
	case sensitive && (ev.Op == OpToken || ev.Op == OpExchange || ev.Op == OpIntrospect):
		s.sensitive = true
	}
}

// covered lets a passed challenge cover later step-ups at a similar score
// and tier: passing never lowers the score, but the client is not asked
// again for the same risk.
func (x *evaluation) covered(action Action, score int) Action {
	s := x.s
	if action == StepUp && s.verified && score <= int(s.verifiedScore)+x.e.p.Challenge.VerifiedMargin && x.tier <= int(s.verifiedTier) {
		return Allow
	}
	return action
}

// standing keeps an unanswered challenge in force: while the session owes
// an answer, a call at the challenged tier or above is asked again, never
// allowed because the score faded below the step-up line in the meantime.
// The repeat does not count as a new challenge.
func (x *evaluation) standing(action Action) Action {
	s, op := x.s, x.ev.Op
	if action != Allow || !s.pending || x.tier < int(s.pendingTier) ||
		(op != OpToken && op != OpExchange && op != OpIntrospect) {
		return action
	}
	x.repeat = true
	return StepUp
}

// challenge counts a step-up. Each one raises the session's floor; the
// policy's Max-th (counting the client's recent unanswered or failed ones)
// terminates the session instead. An introspection while a challenge is
// pending repeats it without counting a new one.
func (x *evaluation) challenge(action Action, d *Decision) Action {
	s := x.s
	if action != StepUp {
		return action
	}
	if (x.ev.Op == OpIntrospect && s.pending) || x.repeat {
		d.Challenge = &Challenge{Methods: methods(x.ev, int(s.challenges)), Attempt: int(s.challenges)}
		return StepUp
	}
	attempt := int(s.challenges) + int(s.inherited) + 1
	if attempt >= x.e.p.Challenge.Max {
		d.Reasons = append(d.Reasons, Reason{Code: ReasonChallengeHistory, Evidence: "challenge limit reached: terminating"})
		return Terminate
	}
	s.challenges++
	s.pending = true
	s.pendingTier = uint8(x.tier)
	x.memo.issued++
	d.Challenge = &Challenge{Methods: methods(x.ev, attempt), Attempt: int(s.challenges)}
	return StepUp
}

// methods lists the revalidation proofs for a challenge: a fresh client
// assertion first (with the actor's proof for a delegated call), then a
// stronger method.
func methods(ev *Event, attempt int) []string {
	delegated := len(ev.Actors) > 0
	if attempt <= 1 {
		if delegated {
			return []string{MethodClientAssertion, MethodActorToken}
		}
		return []string{MethodClientAssertion}
	}
	switch ev.Client.Kind {
	case "workload", "job", "service":
		return []string{MethodAttestation, MethodOwnerApproval}
	}
	if delegated {
		return []string{MethodOwnerApproval, MethodSubjectToken}
	}
	return []string{MethodOwnerApproval}
}

func (e *Engine) ttlFor(lvl Level) time.Duration {
	t := e.p.TTL
	switch lvl {
	case LevelLow:
		return t.Low.Std()
	case LevelMedium:
		return t.Medium.Std()
	case LevelHigh, LevelCritical:
		return t.High.Std()
	}
	return t.None.Std()
}

// minTTL is the shorter of two caps, where 0 means no cap.
func minTTL(a, b time.Duration) time.Duration {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}

// applyRules runs the admin rules: a client-scoped relaxing rule may loosen
// the action (never a termination), then tightening rules may only make it
// stricter and the lifetime shorter. A rule that fails to evaluate fails
// closed: the call is denied.
func (x *evaluation) applyRules(action Action, ttl time.Duration, d *Decision) (Action, time.Duration) {
	if x.e.rules == nil {
		return action, ttl
	}
	ev := x.ev
	in := RuleInput{
		Op: ev.Op, ClientID: ev.ClientID, Kind: ev.Client.Kind, Caller: ev.Caller, Audience: ev.Audience,
		Sensitivity: ev.Resource.Sensitivity, Tier: x.tier, Tactic: ev.Resource.Tactic, Tool: ev.Tool, Tenant: ev.Tenant,
		Scopes: ev.Scopes, Actors: ev.Actors, IP: ev.IP, At: x.eventTime(), Score: d.Score, Level: d.Level,
		Action: action, Reasons: d.Reasons, Challenges: int(x.s.challenges), SensitiveTouched: x.s.sensitive,
	}
	var v RuleVerdict
	if err := x.e.rules.Evaluate(&in, &v); err != nil {
		d.Reasons = append(d.Reasons, Reason{Code: ReasonRuleError, Evidence: err.Error()})
		return strictest(action, Deny), ttl
	}
	if v.RelaxSet && action != Terminate {
		action = v.Relax
		if v.RelaxTTL > 0 {
			ttl = v.RelaxTTL
		}
	}
	action = strictest(action, v.Tighten)
	ttl = minTTL(ttl, v.TightenTTL)
	for _, name := range v.Matched {
		d.Reasons = append(d.Reasons, Reason{Code: ReasonRule, Evidence: name})
	}
	return action, ttl
}

// strictest returns the more severe of two actions; an empty b is ignored.
func strictest(a, b Action) Action {
	if severity(b) > severity(a) {
		return b
	}
	return a
}

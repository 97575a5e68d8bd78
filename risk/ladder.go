package risk

import (
	"strconv"
	"time"
)

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

// ladder is the default action for an operation at a level: the cheapest
// action that keeps the call's expected loss under the tolerance (the level
// already weighs what the call can do). A call at the medium or high level
// is stepped up: a revalidation (a fresh proof with the client's own key)
// stops a thief holding only a token or a secret, so it keeps even a large
// loss under tolerance, and the policy's Max-th challenge terminates. A
// resource server asking about a token that the evidence says is being used
// from elsewhere (elsewhere: the network and holder evidence alone reach
// the medium level) gets an inactive answer instead: whoever presented the
// token cannot be revalidated there.
func ladder(op Op, lvl Level, passed, elsewhere bool) Action {
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
	case op == OpIntrospect && elsewhere:
		return Deny
	}
	return StepUp
}

func pick(cond bool, a, b Action) Action {
	if cond {
		return a
	}
	return b
}

// decide turns the suspicion and the call's impact into the decision,
// applying rules, challenge accounting and lifetime caps.
func (x *evaluation) decide(sc scored) Decision {
	e, s, ev := x.e, x.s, x.ev
	imp := x.impact()
	x.imp, x.kindImp = imp.value, imp.kind
	lvl := e.level(sc, imp.value)
	sensitive := ev.Audience != "" && x.tier >= e.p.SensitiveTier
	elsewhere := float64(sc.holder*imp.value) > e.p.Loss.Medium*e.p.Tolerance
	action := ladder(ev.Op, lvl, ev.Passed, elsewhere)
	if ev.Op == OpRefresh && s.sensitive && action == Allow {
		action = Deny // after sensitive data, the session's tokens get no refresh
		sc.reasons = append(sc.reasons, Reason{Code: ReasonSensitiveTouched, Evidence: "sensitive resource reached: no refresh"})
	}
	action = x.covered(action, sc.db)
	action = x.standing(action)
	if x.refused && (action == StepUp || action == Allow) {
		action = Deny // the handler refuses the request: no challenge is issued
	}
	sc.reasons = append(sc.reasons, Reason{Code: ReasonImpact, Points: int(imp.value*100 + 0.5), Evidence: imp.why + x.toleranceNote(imp.value)})
	ttl := e.ttlFor(lvl)
	d := Decision{Score: sc.score, Level: lvl, Reasons: sc.reasons, NewFacts: x.newFacts, ReportOnly: e.p.ReportOnly,
		Tier: x.tier, Impact: float64(imp.value), Suspicion: float64(sc.p)}
	action, ttl = x.applyRules(action, ttl, &d)
	action = x.unanswerable(action, &d)
	action = x.challenge(action, &d)
	x.settle(action, sensitive, sc.db)
	if s.sensitive {
		ttl = minTTL(ttl, e.p.TTL.Sensitive.Std())
	}
	d.Action, d.MaxTTL, d.SensitiveTouched = action, ttl, s.sensitive
	d.NoRefresh = s.sensitive || levelRank(lvl) >= 2 || action != Allow
	return d
}

// toleranceNote says what suspicion the call's impact tolerates before a
// step-up, for the reasons.
func (x *evaluation) toleranceNote(imp float32) string {
	if imp <= 0 {
		return ""
	}
	limit := x.e.p.Loss.Medium * x.e.p.Tolerance / float64(imp)
	if limit >= 1 {
		return "; tolerates any suspicion below the thresholds"
	}
	return "; tolerates suspicion up to " + strconv.FormatFloat(100*limit, 'f', 1, 64) + "% before a step-up"
}

// settle records what the action means for the session.
func (x *evaluation) settle(action Action, sensitive bool, db float32) {
	s, ev := x.s, x.ev
	switch {
	case action == Terminate:
		s.terminated = true
		x.memo.terminated = true
	case action != Allow:
	case ev.Op == OpRevalidate && ev.Passed:
		s.verified = true
		s.verifiedDB = db
		s.verifiedImpact = max(s.pendingImpact, x.kindImp)
	case ev.Op == OpToken || ev.Op == OpExchange || ev.Op == OpIntrospect:
		s.maxImpact = max(s.maxImpact, x.imp)
		if len(ev.Actors) > 0 && ev.Actors[0] != ev.ClientID && ev.Audience != "" {
			// what the pair reached: the tier this actor may later be
			// vouched for when it acts for this client
			o := s.originOf(ev.Actors[0], hashString(nsActor, ev.Actors[0]))
			o.tier = max(o.tier, uint8(x.tier))
		}
		if sensitive {
			s.sensitive = true
			if !x.sendsOut() {
				s.sensRead = true
				s.sensAuds.add(hashString(nsAudience, ev.Audience))
			}
		}
	}
}

// covered lets a passed challenge cover later step-ups at a similar
// suspicion and impact: passing never lowers the suspicion, but the client
// is not asked again for the same risk. The impact compared is the kind of
// call's, without the session's volume: a session that keeps working at
// the volume its challenge covered raises its impact with every call, and
// its volume evidence already measures how far it went beyond (a volume
// grown well past what was covered raises the suspicion over the margin).
func (x *evaluation) covered(action Action, db float32) Action {
	s := x.s
	if action == StepUp && s.verified && db <= s.verifiedDB+float32(x.e.p.Challenge.VerifiedMargin) && x.kindImp <= s.verifiedImpact {
		return Allow
	}
	return action
}

// standing keeps an unanswered challenge in force: while the session owes
// an answer, every call beyond a routine read (impact above the tier-1
// base) is asked again, never allowed because the suspicion faded or the
// call went through a familiar channel in the meantime. The repeat does not
// count as a new challenge.
func (x *evaluation) standing(action Action) Action {
	s, op := x.s, x.ev.Op
	if action != Allow || !s.pending || x.imp <= x.e.impactTier[0] ||
		(op != OpToken && op != OpExchange && op != OpIntrospect) {
		return action
	}
	x.repeat = true
	return StepUp
}

// unanswerable handles a step-up of a client that cannot revalidate
// (ClientProfile.SecretOnly): a challenge it cannot meet would only lock it
// out of everything the session does next. Its call is denied instead; a
// resource server asking about its token still hears step_up (the token
// stays good for routine work, the sensitive work is refused there), but
// the client is not made to owe a challenge.
func (x *evaluation) unanswerable(action Action, d *Decision) Action {
	if action != StepUp || !x.ev.Client.SecretOnly {
		return action
	}
	d.Reasons = append(d.Reasons, Reason{Code: ReasonNoRevalidation,
		Evidence: "the call needs revalidation and the client registered no key to revalidate with: refused"})
	if x.ev.Op == OpIntrospect {
		x.repeat = true // answered step_up, not counted as a challenge
		return StepUp
	}
	return Deny
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
		if s.unseen && x.ev.Op != OpIntrospect {
			// the client meets the challenge a resource server opened:
			// from now on it owes the answer
			s.unseen = false
			x.memo.issued++
		}
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
	s.pendingImpact = max(s.pendingImpact, x.kindImp)
	// a challenge a resource server's introspection opens is not put to
	// the client: it owes nothing until one of its own calls meets it
	s.unseen = x.ev.Op == OpIntrospect
	if !s.unseen {
		x.memo.issued++
	}
	x.takeBack()
	d.Challenge = &Challenge{Methods: methods(x.ev, attempt), Attempt: int(s.challenges)}
	return StepUp
}

// takeBack uncounts a client's call that a new challenge refused: it did
// not happen, and the client repeats it once it has answered. Counted
// twice, the repeat would be a second call of its tool, and that volume
// would challenge the client again for the request it just proved.
func (x *evaluation) takeBack() {
	s, ev := x.s, x.ev
	if ev.Op != OpToken && ev.Op != OpExchange {
		return
	}
	s.calls = max(s.calls, 1) - 1
	if ev.Tool == "" {
		return
	}
	if i := s.tools.slot(hashString(nsTool, ev.Tool)); i >= 0 && s.toolN[i] > 0 {
		s.toolN[i]--
	}
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

package risk

// Behaviour detector codes. Their points fade with Policy.HalfLife; each
// detector's standing contribution in a session is capped.
const (
	DetOriginChange   = "net.session_origin_change"
	DetNewNetwork     = "net.new_network"
	DetParallelUse    = "net.parallel_use"
	DetNovelResource  = "scope.novel_resource"
	DetTierJump       = "scope.tier_jump"
	DetTenantNovel    = "tenant.novel"
	DetFanout         = "vol.fanout"
	DetRateSpike      = "vol.rate_spike"
	DetRareTransition = "seq.rare_transition"
	DetMultiTactic    = "seq.multi_tactic"
	DetOffSchedule    = "time.off_schedule"
	DetUnusualChain   = "deleg.unusual_chain"
	DetExternalSignal = "subj.external_signal"
)

// Reason codes that are neither detectors nor facts.
const (
	// ReasonChallengeHistory is the score floor raised by challenges issued
	// and failed in the session and, recently, by the client.
	ReasonChallengeHistory = "chal.history"
	// ReasonRecentSessions is the floor carried over from the client's
	// recent risky sessions.
	ReasonRecentSessions = "hist.recent_sessions"
	// ReasonSessionPeak is the floor the session's own risky peak leaves;
	// it fades like the client's memory, not like behaviour points.
	ReasonSessionPeak = "hist.session_peak"
	// ReasonAgreement is the bonus for evidence of several kinds agreeing.
	ReasonAgreement = "risk.agreement"
	// ReasonSensitiveTouched explains a refused refresh after the session
	// reached a sensitive resource.
	ReasonSensitiveTouched = "risk.sensitive_touched"
	// ReasonRule names an admin rule that changed the decision.
	ReasonRule = "policy.rule"
	// ReasonRuleError reports an admin rule that failed to evaluate; the
	// decision fails closed.
	ReasonRuleError = "policy.rule_error"
)

// kind groups evidence for the agreement bonus.
type kind uint8

const (
	kindNetwork kind = iota
	kindScope
	kindTenant
	kindVolume
	kindSequence
	kindTime
	kindDelegation
	kindSignal
	numKinds
)

// detector indexes, in the order of the detectors table.
const (
	dOriginChange = iota
	dNewNetwork
	dParallelUse
	dNovelResource
	dTierJump
	dTenantNovel
	dFanout
	dRateSpike
	dRareTransition
	dMultiTactic
	dOffSchedule
	dUnusualChain
	dExternalSignal
	numDetectors
)

type detectorInfo struct {
	code string
	kind kind
	cap  int
	// sticky detectors do not fade (an upstream verdict stays until replaced).
	sticky bool
}

var detectors = [numDetectors]detectorInfo{
	dOriginChange:   {DetOriginChange, kindNetwork, 45, false},
	dNewNetwork:     {DetNewNetwork, kindNetwork, 20, false},
	dParallelUse:    {DetParallelUse, kindNetwork, 30, false},
	dNovelResource:  {DetNovelResource, kindScope, 30, false},
	dTierJump:       {DetTierJump, kindScope, 25, false},
	dTenantNovel:    {DetTenantNovel, kindTenant, 25, false},
	dFanout:         {DetFanout, kindVolume, 20, false},
	dRateSpike:      {DetRateSpike, kindVolume, 20, false},
	dRareTransition: {DetRareTransition, kindSequence, 20, false},
	dMultiTactic:    {DetMultiTactic, kindSequence, 20, false},
	dOffSchedule:    {DetOffSchedule, kindTime, 30, false},
	dUnusualChain:   {DetUnusualChain, kindDelegation, 20, false},
	dExternalSignal: {DetExternalSignal, kindSignal, 60, true},
}

func detectorIndex(code string) int {
	for i, d := range detectors {
		if d.code == code {
			return i
		}
	}
	return -1
}

// DetectorCodes lists every behaviour detector code, in a stable order.
func DetectorCodes() []string {
	out := make([]string, numDetectors)
	for i, d := range detectors {
		out[i] = d.code
	}
	return out
}

// Base points of the detectors, before the policy's weights. They are
// documented in doc.go.
const (
	ptsOriginOutsideDeclared = 45 // new origin outside the client's declared networks
	ptsOriginFar             = 35 // new origin in another /16, unknown to the baseline
	ptsOriginNear            = 15 // new origin in another /24 of the same /16, unknown
	ptsOriginKnown           = 4  // new origin the baseline knows
	ptsNetOutsideDeclared    = 15 // caller network outside declared networks
	ptsNetUnknownFar         = 20 // /16 never seen for this client (learned)
	ptsNetUnknownNear        = 8  // /24 never seen, /16 known (learned)
	ptsNetNewInsideDeclared  = 3  // /24 never seen, inside declared networks
	ptsParallelFar           = 30 // two origins in different /16 within the window
	ptsParallelNear          = 10 // two origins in different /24 within the window
	ptsParallelDeclared      = 5  // two origins, both inside declared networks
	ptsTierStep              = 8  // per tier above the session's and baseline's maximum
	ptsTenantNovel           = 5  // per tenant never seen
	ptsFanoutStep            = 3  // per distinct tenant or audience beyond the usual
	ptsRatePerFactor         = 6  // per multiple of the rate threshold
	ptsTacticStep            = 8  // per tactic class beyond the first, with a novel one
	ptsTacticSwitch          = 10 // a new tactic class after a challenge
	ptsOffDeclared           = 30 // outside the declared schedule by more than the slack
	ptsOffDeclaredNear       = 8  // outside the declared schedule, within the slack
	ptsOffLearned            = 10 // an hour this client almost never starts at
	ptsOffLearnedDay         = 6  // a weekday this client never runs on
	ptsChainDepth            = 10 // per delegation level beyond the usual depth
	ptsChainNewActor         = 3  // an actor never seen acting for this client
	ptsSignalLow             = 5
	ptsSignalMedium          = 25
	ptsSignalHigh            = 50
)

// novelty points by tier (index = tier): audience, scope and tool never used.
var (
	ptsNovelAudience = [5]float32{0, 2, 5, 10, 20}
	ptsNovelScope    = [5]float32{0, 1, 4, 8, 15}
	ptsNovelTool     = [5]float32{0, 3, 5, 8, 12}
)

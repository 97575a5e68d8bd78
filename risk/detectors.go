package risk

// Behaviour detector codes. Their evidence fades with Policy.HalfLife;
// each detector's standing contribution in a session is capped.
const (
	DetOriginChange   = "net.session_origin_change"
	DetNewNetwork     = "net.new_network"
	DetParallelUse    = "net.parallel_use"
	DetNovelResource  = "scope.novel_resource"
	DetTierJump       = "scope.tier_jump"
	DetTenantNovel    = "tenant.novel"
	DetFanout         = "vol.fanout"
	DetRateSpike      = "vol.rate_spike"
	DetSessionVolume  = "vol.session_volume"
	DetRareTransition = "seq.rare_transition"
	DetMultiTactic    = "seq.multi_tactic"
	DetOffSchedule    = "time.off_schedule"
	DetUnusualChain   = "deleg.unusual_chain"
	DetExternalSignal = "subj.external_signal"
	// DetUnexpectedIntrospector is a resource server holding a token not
	// meant for it: evidence that the token left its owner's hands.
	DetUnexpectedIntrospector = FactUnexpectedIntrospect
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
	// ReasonAccumulated is novelty and volume the client accumulated over
	// its recent sessions, beyond what it normally does.
	ReasonAccumulated = "hist.accumulated"
	// ReasonPrior is the suspicion every session starts from: lower for a
	// client observed long enough, and in volume, to be known.
	ReasonPrior = "risk.prior"
	// ReasonImpact explains what the call can do: the impact that set the
	// tolerance. Its Points are the impact in percent.
	ReasonImpact = "risk.impact"
	// ReasonSensitiveTouched explains a refused refresh after the session
	// reached a sensitive resource.
	ReasonSensitiveTouched = "risk.sensitive_touched"
	// ReasonNoRevalidation explains a call denied where it would have been
	// stepped up: the client registered no key to revalidate with.
	ReasonNoRevalidation = "risk.no_revalidation"
	// ReasonRule names an admin rule that changed the decision.
	ReasonRule = "policy.rule"
	// ReasonRuleError reports an admin rule that failed to evaluate; the
	// decision fails closed.
	ReasonRuleError = "policy.rule_error"
)

// kind groups evidence that often shares one cause: within a kind the
// strongest detector counts fully and the others by Suspicion.Overlap.
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
	kindHolder
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
	dSessionVolume
	dRareTransition
	dMultiTactic
	dOffSchedule
	dUnusualChain
	dExternalSignal
	dUnexpectedIntrospector
	numDetectors
)

type detectorInfo struct {
	code string
	kind kind
	cap  int // decibels
	// sticky detectors do not fade (an upstream verdict stays until replaced).
	sticky bool
	// novelty detectors also feed the client's accumulated novelty.
	novelty bool
}

var detectors = [numDetectors]detectorInfo{
	dOriginChange:           {DetOriginChange, kindNetwork, 40, false, false},
	dNewNetwork:             {DetNewNetwork, kindNetwork, 30, false, true},
	dParallelUse:            {DetParallelUse, kindNetwork, 30, false, false},
	dNovelResource:          {DetNovelResource, kindScope, 25, false, true},
	dTierJump:               {DetTierJump, kindScope, 20, false, true},
	dTenantNovel:            {DetTenantNovel, kindTenant, 40, false, true},
	dFanout:                 {DetFanout, kindVolume, 30, false, false},
	dRateSpike:              {DetRateSpike, kindVolume, 35, false, false},
	dSessionVolume:          {DetSessionVolume, kindVolume, 35, false, false},
	dRareTransition:         {DetRareTransition, kindSequence, 15, false, true},
	dMultiTactic:            {DetMultiTactic, kindSequence, 20, false, false},
	dOffSchedule:            {DetOffSchedule, kindTime, 30, false, false},
	dUnusualChain:           {DetUnusualChain, kindDelegation, 30, false, false},
	dExternalSignal:         {DetExternalSignal, kindSignal, 40, true, false},
	dUnexpectedIntrospector: {DetUnexpectedIntrospector, kindHolder, 25, false, false},
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

// Base evidence of the detectors, in decibels of log-odds (10·log10 of the
// likelihood ratio: 10 means the observation is ten times likelier if the
// session is no longer its owner's), before the policy's weights. They are
// documented in doc.go.
const (
	ptsOriginOutsideDeclared = 30 // new origin outside the principal's declared networks
	ptsOriginFar             = 20 // new origin in another /16, unknown to the baseline
	ptsOriginNear            = 8  // new origin in another /24 of the same /16, unknown
	ptsOriginKnown           = 2  // new origin the baseline knows
	ptsNetOutsideDeclared    = 25 // caller network outside declared networks
	ptsNetUnknownFar         = 20 // /16 never seen for a mature client with few networks
	ptsNetUnknownNear        = 6  // /24 never seen, /16 known
	ptsNetNewInsideDeclared  = 1  // /24 never seen, inside declared networks
	ptsNetNewScope           = 25 // an address space (internal or public) the principal never used
	ptsParallelFar           = 20 // two origins in different /16 within the window
	ptsParallelNear          = 8  // two origins in different /24 within the window
	ptsParallelDeclared      = 2  // two origins, both inside declared networks
	ptsTierStep              = 5  // per tier above the session's and baseline's maximum
	ptsVouchMax              = 20 // a learned context (network, delegation pair) used above the tier it was learned from
	ptsTenantNovel           = 12 // most a tenant never seen says (Good-Turing, see novelty)
	ptsFanoutBase            = 4  // reaching the fan-out limit
	ptsFanoutPerDoubling     = 10 // per doubling beyond it
	ptsRateBase              = 4  // reaching the rate threshold
	ptsRatePerDoubling       = 10 // per doubling beyond it
	ptsVolumeBase            = 4  // reaching the session volume limit
	ptsVolumePerDoubling     = 10 // per doubling beyond it
	ptsTacticStep            = 5  // per tactic class beyond the first, with a novel one
	ptsTacticSwitch          = 10 // a new tactic class after a challenge
	ptsSensEgress            = 20 // data sent out after sensitive data, never combined in a clean session
	ptsToolPerDoubling       = 20 // per doubling of one tool's calls beyond its per-session limit
	ptsOffDeclared           = 25 // outside the declared schedule by more than the slack
	ptsOffDeclaredNear       = 3  // outside the declared schedule, within the slack
	ptsOffLearned            = 4  // an hour this client almost never starts at
	ptsOffLearnedDay         = 3  // a weekday this client never runs on
	ptsChainDepth            = 8  // per delegation level beyond the usual depth
	ptsChainNewActor         = 3  // an actor never seen acting for this client
	ptsChainNewPair          = 4  // an actor known, but never for this client, and vice versa
	ptsChainPairNovel        = 12 // most a pair never seen says in a session (Good-Turing over the principal's actors)
	ptsChainActorOff         = 10 // the actor far from its own normal (network) while acting
	ptsSignalLow             = 3
	ptsSignalMedium          = 20
	ptsSignalHigh            = 30
	ptsUnexpectedIntrospect  = 15 // a resource server outside the token's audience holds it
)

// Most novelty evidence by tier (index = tier) for an audience and a tool
// never used (the Good-Turing estimate decides how much of it a client
// gets, see novelty), and a scope never used.
var (
	ptsNovelAudience = [5]float32{0, 6, 12, 20, 20}
	ptsNovelScope    = [5]float32{0, 0.5, 1.5, 4, 6}
	ptsNovelTool     = [5]float32{0, 3, 6, 10, 10}
	// ptsNovelVerb is the most a verb class that destroys, exports, spends
	// or administers, never used by the client above routine data, says.
	ptsNovelVerb = [5]float32{0, 0, 15, 20, 20}
	// ptsNovelSensitive is what a sensitive tier adds to the novelty of an
	// audience (or delegation pair) never used, whatever the Good-Turing
	// estimate: about one in four of the resources a client starts to use
	// is tier 3, one in ten tier 4, while a thief turns to them first.
	ptsNovelSensitive = [5]float32{0, 0, 0, 6, 10}
	// learningFloor is how much of a learned detector's novelty evidence a
	// client that is not yet mature still gets, by tier: a first read of
	// routine data says little about a new client, its first secret read a
	// lot.
	learningFloor = [5]float32{0, 0.05, 0.1, 0.2, 0.3}
)

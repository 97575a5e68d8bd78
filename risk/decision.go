package risk

import "time"

// Level is a coarse risk level.
type Level string

// Levels, in increasing order.
const (
	LevelNone     Level = "none"
	LevelLow      Level = "low"
	LevelMedium   Level = "medium"
	LevelHigh     Level = "high"
	LevelCritical Level = "critical"
)

// Action is what the server does with the call that produced a decision.
type Action string

// Actions, in increasing order of severity.
const (
	Allow     Action = "allow"
	StepUp    Action = "step_up"
	Deny      Action = "deny"
	Terminate Action = "terminate"
)

// Decision is the engine's verdict on one event. Every decision explains
// itself in Reasons: each piece of evidence with its contribution to the
// suspicion, and the impact (ReasonImpact) that set the tolerance.
type Decision struct {
	// Score is the suspicion in percent, 0..100: round(100·Suspicion).
	Score int
	// Suspicion is how likely the session is no longer its rightful
	// owner's, 0..1 (1 for a hard fact).
	Suspicion float64
	// Impact is what the call can do, 0..1: its tier, tactic, verbs, volume
	// and sequence. Level and Action weigh Suspicion×Impact.
	Impact float64
	Level  Level
	Action Action
	// MaxTTL caps the lifetime of any token issued by this call; 0 means no cap.
	MaxTTL time.Duration
	// NoRefresh is true when no refresh token may be issued or redeemed.
	NoRefresh bool
	Reasons   []Reason
	// NewFacts are sticky facts first established by this event; the caller
	// persists them before answering.
	NewFacts []Reason
	// Challenge describes the revalidation demanded when Action is StepUp.
	Challenge *Challenge
	// ReportOnly is true when the policy only reports: the caller logs the
	// decision and answers as for Allow.
	ReportOnly bool
	// Tier is the sensitivity tier (1..4) the decision was made for.
	Tier int
	// SensitiveTouched is true once the session has reached a sensitive
	// resource; every later token of the session is short-lived.
	SensitiveTouched bool
}

// Reason is one contribution to a decision: a detector's code, the evidence
// it added to the suspicion in decibels of log-odds (10 multiplies the odds
// by ten; the prior is negative), and secret-free evidence. ReasonImpact's
// Points are the call's impact in percent instead.
type Reason struct {
	Code     string `json:"code"`
	Points   int    `json:"points"`
	Evidence string `json:"evidence,omitempty"`
}

// Revalidation methods a Challenge may list, weakest first.
const (
	MethodClientAssertion = "private_key_jwt"      // a fresh client assertion (RFC 7523)
	MethodActorToken      = "actor_token"          // fresh proof from the delegated actor
	MethodSubjectToken    = "subject_token"        // fresh proof from the delegating subject
	MethodAttestation     = "workload_attestation" // a fresh workload attestation
	MethodOwnerApproval   = "owner_approval"       // approval by the delegating human or the owner
)

// Challenge says how a client may revalidate its session.
type Challenge struct {
	// Methods lists acceptable proofs: "private_key_jwt" (a fresh client
	// assertion), "actor_token" or "subject_token" (fresh delegation proof).
	Methods []string
	// Attempt is the number of challenges issued in the session so far, this one included.
	Attempt int
}

// Has reports whether the decision lists a reason with code.
func (d Decision) Has(code string) bool {
	for _, r := range d.Reasons {
		if r.Code == code {
			return true
		}
	}
	return false
}

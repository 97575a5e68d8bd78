package risk

import (
	"net/netip"
	"time"
)

// Op is the kind of call an Event reports.
type Op string

// The operations the server reports to the engine.
const (
	OpToken      Op = "token"      // client_credentials grant: opens a session
	OpExchange   Op = "exchange"   // RFC 8693 token exchange within a session
	OpRefresh    Op = "refresh"    // refresh_token grant
	OpIntrospect Op = "introspect" // a resource server asked about a session's token
	OpRevoke     Op = "revoke"     // RFC 7009 revocation by the client
	OpRevalidate Op = "revalidate" // the client answered a step-up challenge
	OpSignal     Op = "signal"     // an external security event (CAEP-shaped)
)

// Fact codes the server establishes deterministically and reports in
// Event.Facts. Facts stick for the session's life.
const (
	FactRefreshReuse         = "cred.refresh_reuse"
	FactAssertionReplay      = "cred.assertion_replay"
	FactPoPMismatch          = "bind.pop_mismatch"
	FactEscalationAttempt    = "scope.escalation_attempt"
	FactChainAnomaly         = "deleg.chain_anomaly"
	FactUnexpectedIntrospect = "rs.unexpected_introspector"
	FactCompromised          = "subj.compromised"
	FactRevalidationFailed   = "chal.failed"
	// FactSessionRevoked records an inbound session-revoked event: the
	// session ends at once.
	FactSessionRevoked = "subj.session_revoked"
)

// Event is one observation about a session, built by the request handlers
// from what they verified. The engine trusts it as given.
type Event struct {
	Op        Op
	At        time.Time
	SessionID string
	// ClientID is the client that owns the session.
	ClientID string
	// Caller is the client making this call when it differs from ClientID
	// (the actor in a delegated exchange, the resource server introspecting).
	Caller string
	// Client is what the session's client declared at registration.
	Client ClientProfile
	// IP is the source address of the call; for introspection, the address
	// the resource server saw the token come from (invalid if unknown).
	IP netip.Addr
	// Audience is the target of the call (exchange audience, introspecting
	// resource server's audience); Resource is what admins declared about it.
	Audience string
	Resource ResourceProfile
	Scopes   []string
	Tool     string
	Tenant   string
	// Actors is the delegation chain of the token involved, current actor first.
	Actors []string
	// Facts are deterministic findings from the handlers (Fact* codes).
	Facts []string
	// Signal is set for OpSignal.
	Signal *Signal
	// Passed is the outcome of an OpRevalidate.
	Passed bool
	// Evidence is a short, secret-free note copied into the reasons of Facts.
	Evidence string
	// ActorProfile is what the current actor (Actors[0]) declared at
	// registration, when Actors is set: the engine judges the address of a
	// delegated call against the actor's networks, not the subject's.
	ActorProfile ClientProfile
}

// ClientProfile is a client's declared registration, as the engine needs it.
type ClientProfile struct {
	Kind      string
	Scopes    []string
	Audiences []string
	Networks  []netip.Prefix
	Schedule  *Schedule
	Purposes  []string
	MayAct    []string
	DPoP      bool
	// SecretOnly is a client that registered no key: it authenticates
	// with a shared secret and cannot answer a revalidation challenge,
	// which needs a fresh private_key_jwt assertion. Where the ladder
	// would step its call up, the call is denied instead
	// (ReasonNoRevalidation): the work that needs the proof is refused,
	// work under the tolerance goes on, and the client is never left
	// with a challenge it cannot meet.
	SecretOnly bool
}

// Schedule is a declared weekly window: Days is a bit set (bit 0 = Sunday),
// Start and End are minutes after midnight in Loc (End <= Start wraps midnight).
type Schedule struct {
	Days       uint8
	Start, End int
	Loc        *time.Location
}

// ResourceProfile is what admins declared about an audience. A zero
// Sensitivity means the audience is not registered.
type ResourceProfile struct {
	Sensitivity int
	Tenant      string
	Tactic      string
}

// Signal types the engine understands (CAEP event names).
const (
	SignalCredentialChange = "credential-change"
	SignalSessionRevoked   = "session-revoked"
	SignalRiskLevelChange  = "risk-level-change"
)

// Signal is an inbound security event about a client or session, shaped
// like the CAEP events credential-change, session-revoked and risk-level-change.
type Signal struct {
	Type  string // credential-change | session-revoked | risk-level-change
	Level string // low | medium | high (risk-level-change)
}

package risk

import (
	"net/netip"
	"time"
)

// Rules evaluates compiled admin rules (Policy.Rules) for one decision.
// risk/rules implements it with CEL; this package never imports CEL.
// Implementations must be safe for concurrent use and must not retain in.
type Rules interface {
	// Evaluate fills out from every rule that matches in. An error means a
	// rule could not be evaluated; the engine then fails closed (deny).
	Evaluate(in *RuleInput, out *RuleVerdict) error
}

// RuleInput is what a rule can see about one call: the event and the
// session's standing. It is read-only for the rule.
type RuleInput struct {
	Op          Op
	ClientID    string
	Kind        string // the client's declared kind
	Caller      string
	Audience    string
	Sensitivity int // the resource's declared sensitivity, 0 if unregistered
	Tier        int // the tier the decision is made for
	Tactic      string
	Tool        string
	Tenant      string
	Scopes      []string
	Actors      []string
	IP          netip.Addr
	At          time.Time
	Score       int
	Level       Level
	// Action is the ladder's action before rules.
	Action           Action
	Reasons          []Reason
	Challenges       int
	SensitiveTouched bool
}

// RuleVerdict is the fold of every matching rule. Tighten is the strictest
// tightening action (empty if none) and TightenTTL the shortest lifetime
// (0 if none). Relax, when RelaxSet, is the action a client-scoped relaxing
// rule asks for, with RelaxTTL. Matched names the rules that matched.
type RuleVerdict struct {
	Tighten    Action
	TightenTTL time.Duration
	Relax      Action
	RelaxTTL   time.Duration
	RelaxSet   bool
	Matched    []string
}

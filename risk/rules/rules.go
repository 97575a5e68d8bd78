// Package rules compiles Vigil's admin risk rules, written in CEL
// (cel.dev/cel-go), into a [risk.Rules] the engine calls on every decision.
// It is the only package of the risk engine that imports CEL.
//
// A rule's "when" expression must be a CEL bool over these variables:
//
//	op                string        token, exchange, refresh, introspect, revoke, revalidate, signal
//	client, kind      string        the session's client and its declared kind
//	caller            string        the calling client when not the session's (actor, resource server)
//	audience          string        the call's audience ("" if none)
//	sensitivity, tier int           the audience's declared sensitivity (0 if unregistered) and the tier judged
//	tactic            string        the audience's declared tactic
//	tool, tenant      string        usage context
//	scopes, actors    list(string)  requested scopes; delegation chain, current actor first
//	ip                string        source address ("" if unknown)
//	hour, weekday     int           UTC hour 0..23 and weekday 0 (Sunday)..6 of the call
//	score             int           0..100
//	level             string        none, low, medium, high, critical
//	action            string        the default ladder's action: allow, step_up, deny, terminate
//	reasons           list(string)  reason codes behind the score
//	challenges        int           challenges issued in the session
//	sensitive_touched bool          the session already reached a sensitive resource
//
// Compile type-checks every rule and refuses one whose estimated cost exceeds
// the budget, or that relaxes decisions without naming its clients.
package rules

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/interpreter"

	"github.com/vigil-auth/vigil/risk"
)

// DefaultCostBudget is the most a rule's worst case may cost, in CEL cost
// units (roughly one per operation): enough for dozens of comparisons and a
// few list scans, little enough to keep a rule near a microsecond.
const DefaultCostBudget = 1000

// maxListSize is the size the cost estimator assumes for list variables.
const maxListSize = 64

// Set is a compiled rule set. It is immutable and safe for concurrent use.
type Set struct {
	rules []rule
}

var _ risk.Rules = (*Set)(nil)

type rule struct {
	name    string
	action  risk.Action
	ttl     int64 // ns
	relax   bool
	clients []string
	prg     cel.Program
}

// An Option changes how Compile works.
type Option func(*config)

type config struct{ budget uint64 }

// WithCostBudget sets the largest estimated cost a rule may have.
func WithCostBudget(n uint64) Option { return func(c *config) { c.budget = n } }

// ErrNotBool reports a rule whose expression is not a bool.
var ErrNotBool = errors.New("rules: expression must be a bool")

// ErrTooCostly reports a rule whose worst-case cost exceeds the budget.
var ErrTooCostly = errors.New("rules: expression exceeds the cost budget")

// Compile type-checks, cost-checks and compiles specs. It reports every
// problem at once with errors.Join; structural problems (a relaxing rule
// without clients, a missing name) are risk.RuleSpec validation errors.
func Compile(specs []risk.RuleSpec, opts ...Option) (*Set, error) {
	cfg := config{budget: DefaultCostBudget}
	for _, o := range opts {
		o(&cfg)
	}
	p := risk.DefaultPolicy()
	p.Rules = specs
	var errs []error
	if err := p.Validate(); err != nil {
		errs = append(errs, err)
	}
	env, err := newEnv()
	if err != nil {
		return nil, fmt.Errorf("rules: environment: %w", err)
	}
	set := &Set{}
	for _, sp := range specs {
		r, err := compileOne(env, sp, cfg.budget)
		if err != nil {
			errs = append(errs, fmt.Errorf("rules: rule %q: %w", sp.Name, err))
			continue
		}
		set.rules = append(set.rules, r)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return set, nil
}

func newEnv() (*cel.Env, error) {
	str, num := cel.StringType, cel.IntType
	list := cel.ListType(cel.StringType)
	return cel.NewEnv(
		cel.Variable("op", str), cel.Variable("client", str), cel.Variable("kind", str),
		cel.Variable("caller", str), cel.Variable("audience", str), cel.Variable("sensitivity", num),
		cel.Variable("tier", num), cel.Variable("tactic", str), cel.Variable("tool", str),
		cel.Variable("tenant", str), cel.Variable("scopes", list), cel.Variable("actors", list),
		cel.Variable("ip", str), cel.Variable("hour", num), cel.Variable("weekday", num),
		cel.Variable("score", num), cel.Variable("level", str), cel.Variable("action", str),
		cel.Variable("reasons", list), cel.Variable("challenges", num),
		cel.Variable("sensitive_touched", cel.BoolType),
	)
}

func compileOne(env *cel.Env, sp risk.RuleSpec, budget uint64) (rule, error) {
	ast, iss := env.Compile(sp.When)
	if iss.Err() != nil {
		return rule{}, iss.Err()
	}
	if ast.OutputType() != cel.BoolType {
		return rule{}, fmt.Errorf("%w, not %s", ErrNotBool, ast.OutputType())
	}
	est, err := env.EstimateCost(ast, sizes{})
	if err != nil {
		return rule{}, fmt.Errorf("estimate cost: %w", err)
	}
	if est.Max > budget {
		return rule{}, fmt.Errorf("%w: worst case %d, budget %d", ErrTooCostly, est.Max, budget)
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(budget))
	if err != nil {
		return rule{}, err
	}
	return rule{name: sp.Name, action: sp.Action, ttl: int64(sp.TTL), relax: sp.Relax,
		clients: slices.Clone(sp.Clients), prg: prg}, nil
}

// sizes bounds list and string variables for the cost estimate.
type sizes struct{}

func (sizes) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	if len(n.Path()) == 1 {
		switch n.Path()[0] {
		case "scopes", "actors", "reasons":
			return &cost.SizeEstimate{Min: 0, Max: maxListSize}
		default:
			return &cost.SizeEstimate{Min: 0, Max: 256}
		}
	}
	return nil
}

func (sizes) EstimateCallCost(string, string, *cost.AstNode, []cost.AstNode) *cost.CallEstimate {
	return nil
}

// Len returns the number of rules in the set.
func (s *Set) Len() int { return len(s.rules) }

// Evaluate runs every rule against in and folds the matches into out: the
// strictest tightening action and shortest lifetime, and, for rules that
// relax and name in.ClientID, the relaxation. An evaluation error stops at
// the first failing rule and is returned; the engine then fails closed.
func (s *Set) Evaluate(in *risk.RuleInput, out *risk.RuleVerdict) error {
	act := &activation{in: in}
	for i := range s.rules {
		r := &s.rules[i]
		if r.relax && !slices.Contains(r.clients, in.ClientID) {
			continue
		}
		v, _, err := r.prg.Eval(act)
		if err != nil {
			return fmt.Errorf("rules: rule %q: %w", r.name, err)
		}
		if matched, ok := v.Value().(bool); !ok || !matched {
			continue
		}
		r.apply(out)
	}
	return nil
}

func (r *rule) apply(out *risk.RuleVerdict) {
	out.Matched = append(out.Matched, r.name)
	if r.relax {
		out.RelaxSet = true
		out.Relax = r.action
		if r.action == "" {
			out.Relax = risk.Allow
		}
		out.RelaxTTL = durationOf(r.ttl)
		return
	}
	if severity(r.action) > severity(out.Tighten) {
		out.Tighten = r.action
	}
	if r.ttl > 0 && (out.TightenTTL == 0 || durationOf(r.ttl) < out.TightenTTL) {
		out.TightenTTL = durationOf(r.ttl)
	}
}

func severity(a risk.Action) int {
	return slices.Index([]risk.Action{"", risk.Allow, risk.StepUp, risk.Deny, risk.Terminate}, a)
}

// activation resolves rule variables from a RuleInput, converting lazily.
type activation struct {
	in *risk.RuleInput
}

var _ interpreter.Activation = (*activation)(nil)

func (a *activation) Parent() interpreter.Activation { return nil }

func (a *activation) ResolveName(name string) (any, bool) {
	in := a.in
	switch name {
	case "op":
		return string(in.Op), true
	case "client":
		return in.ClientID, true
	case "kind":
		return in.Kind, true
	case "caller":
		return in.Caller, true
	case "audience":
		return in.Audience, true
	case "sensitivity":
		return int64(in.Sensitivity), true
	case "tier":
		return int64(in.Tier), true
	case "tactic":
		return in.Tactic, true
	case "tool":
		return in.Tool, true
	case "tenant":
		return in.Tenant, true
	}
	return a.resolveMore(name)
}

func (a *activation) resolveMore(name string) (any, bool) {
	in := a.in
	switch name {
	case "scopes":
		return nonNil(in.Scopes), true
	case "actors":
		return nonNil(in.Actors), true
	case "ip":
		if !in.IP.IsValid() {
			return "", true
		}
		return in.IP.String(), true
	case "hour":
		return int64(in.At.UTC().Hour()), true
	case "weekday":
		return int64(in.At.UTC().Weekday()), true
	case "score":
		return int64(in.Score), true
	case "level":
		return string(in.Level), true
	case "action":
		return string(in.Action), true
	case "reasons":
		codes := make([]string, len(in.Reasons))
		for i, r := range in.Reasons {
			codes[i] = r.Code
		}
		return codes, true
	case "challenges":
		return int64(in.Challenges), true
	case "sensitive_touched":
		return in.SensitiveTouched, true
	}
	return nil, false
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func durationOf(ns int64) time.Duration { return time.Duration(ns) }

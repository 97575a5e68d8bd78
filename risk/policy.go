package risk

import (
	"errors"
	"fmt"
	"time"

	"github.com/vigil-auth/vigil/internal/limits"
)

// Duration is a time.Duration that reads and writes as a Go duration string
// such as "5m" or "1h30m", so policy files stay readable.
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// MarshalText writes d as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a Go duration string ("90s", "15m", "2h").
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("risk: duration %q: %w", b, err)
	}
	*d = Duration(v)
	return nil
}

// Thresholds are the suspicion scores (0..100, the percent chance that the
// session is no longer its rightful owner's) at which each level starts
// whatever the call can do: a floor under the level the expected loss gives.
// Critical terminates the session; at 100 (the default) only certainty (a
// hard fact) does.
type Thresholds struct {
	Low      int `json:"low" yaml:"low"`
	Medium   int `json:"medium" yaml:"medium"`
	High     int `json:"high" yaml:"high"`
	Critical int `json:"critical" yaml:"critical"`
}

// LossPolicy is the expected loss (suspicion × impact, both 0..1) at which
// each level starts, before Policy.Tolerance scales it. Medium is the
// tolerance itself: above it the call is stepped up (a challenge stops all
// but a 1-in-10 attacker, so stepping up keeps the loss under tolerance
// until High, ten times Medium by default), above High it is denied.
type LossPolicy struct {
	Low    float64 `json:"low" yaml:"low"`
	Medium float64 `json:"medium" yaml:"medium"`
	High   float64 `json:"high" yaml:"high"`
}

// ImpactPolicy says what a call can do, 0..1. Tiers[i] is the base impact of
// a resource of sensitivity tier i+1 (an unregistered audience counts as
// tier 4); Tactics multiplies it by the resource's declared tactic, Verbs by
// what the tool and scopes do (the verb classes are listed in the package
// documentation); Volume is the largest multiplier a session reaching far
// more records, tenants or calls than usual earns.
type ImpactPolicy struct {
	Tiers   []float64          `json:"tiers" yaml:"tiers"`
	Tactics map[string]float64 `json:"tactics" yaml:"tactics"`
	Verbs   map[string]float64 `json:"verbs" yaml:"verbs"`
	Volume  float64            `json:"volume" yaml:"volume"`
}

// SuspicionPolicy sets the prior the evidence moves. Suspicion is combined
// as log-odds in decibels (10·log10 of the odds): Prior is a mature client's
// session before any evidence, NewPrior that of a client never observed;
// a client matures with the time it has been observed (MatureAfter) and the
// clean calls it made (MatureCalls). Within one kind of evidence (network,
// scope, volume, ...) the strongest detector counts fully and the others by
// Overlap, since they often see the same cause.
type SuspicionPolicy struct {
	Prior       float64  `json:"prior" yaml:"prior"`
	NewPrior    float64  `json:"new_prior" yaml:"new_prior"`
	MatureAfter Duration `json:"mature_after" yaml:"mature_after"`
	MatureCalls float64  `json:"mature_calls" yaml:"mature_calls"`
	Overlap     float64  `json:"overlap" yaml:"overlap"`
}

// TTLs caps token lifetimes per level. Zero means no cap beyond the server's
// default. Sensitive applies to every token issued after the session touched
// a resource of the sensitive tier, whatever the level.
type TTLs struct {
	None      Duration `json:"none" yaml:"none"`
	Low       Duration `json:"low" yaml:"low"`
	Medium    Duration `json:"medium" yaml:"medium"`
	High      Duration `json:"high" yaml:"high"`
	Sensitive Duration `json:"sensitive" yaml:"sensitive"`
}

// DetectorPolicy tunes one behaviour detector: its evidence (decibels of
// log-odds) is multiplied by Weight (0 disables it) and its standing
// contribution in a session never exceeds Cap decibels.
type DetectorPolicy struct {
	Weight float64 `json:"weight" yaml:"weight"`
	Cap    int     `json:"cap" yaml:"cap"`
}

// FactPolicy sets the sticky evidence of one fact, in decibels of log-odds.
// A Hard fact is certain: the session is no longer its owner's and goes
// straight to the critical level. A fact reported again adds Repeat, up to
// Points+2*Repeat.
type FactPolicy struct {
	Points int  `json:"points" yaml:"points"`
	Repeat int  `json:"repeat" yaml:"repeat"`
	Hard   bool `json:"hard" yaml:"hard"`
}

// ChallengePolicy governs step-up. Each challenge issued raises the
// session's suspicion floor by FloorPerChallenge decibels above the prior,
// each failed one by FloorPerFailure; the Max-th challenge terminates instead
// (counting the client's recent unanswered challenges). A passed challenge
// covers later calls up to VerifiedMargin decibels above the suspicion it
// was passed at, at no more than the impact it was passed for.
type ChallengePolicy struct {
	FloorPerChallenge int `json:"floor_per_challenge" yaml:"floor_per_challenge"`
	FloorPerFailure   int `json:"floor_per_failure" yaml:"floor_per_failure"`
	Max               int `json:"max" yaml:"max"`
	VerifiedMargin    int `json:"verified_margin" yaml:"verified_margin"`
}

// BaselinePolicy governs learning. Only sessions that ended with no fact, no
// challenge and a peak suspicion score below CleanBelow teach the client's
// baseline. Counts halve every HalfLife; a value whose decayed count reaches
// KnownAt is normal, below that it is partly novel in proportion (so a value
// unused for several half-lives becomes novel again). A session idle for
// IdleEnd has ended.
type BaselinePolicy struct {
	KnownAt    float64  `json:"known_at" yaml:"known_at"`
	HalfLife   Duration `json:"half_life" yaml:"half_life"`
	CleanBelow int      `json:"clean_below" yaml:"clean_below"`
	IdleEnd    Duration `json:"idle_end" yaml:"idle_end"`
}

// MemoryPolicy is the client-level memory that stops a client from
// laundering risk by splitting work into short sessions or spreading it
// thinly over days. A new session starts with Carry times the evidence of
// the client's recent risky peak as a floor, plus PerUnanswered and
// PerFailure decibels for its recent unanswered and failed challenges; that
// memory halves every HalfLife. Novelty and volume also accumulate per
// client in windows that halve every Window (hours) and Slow (days):
// evidence that stays small in each session adds up there.
type MemoryPolicy struct {
	HalfLife      Duration `json:"half_life" yaml:"half_life"`
	Carry         float64  `json:"carry" yaml:"carry"`
	PerUnanswered int      `json:"per_unanswered" yaml:"per_unanswered"`
	PerFailure    int      `json:"per_failure" yaml:"per_failure"`
	Window        Duration `json:"window" yaml:"window"`
	Slow          Duration `json:"slow" yaml:"slow"`
}

// RuleSpec is one admin rule. When is a CEL expression over the variables
// that risk/rules documents; when it is true the rule applies Action (and
// TTL, if set). A rule tightens: it can only make the decision stricter or
// the lifetime shorter. With Relax it may loosen the decision instead, but
// only for the clients it names, and never undo a termination.
type RuleSpec struct {
	Name    string   `json:"name" yaml:"name"`
	When    string   `json:"when" yaml:"when"`
	Action  Action   `json:"action,omitempty" yaml:"action,omitempty"`
	TTL     Duration `json:"ttl,omitempty" yaml:"ttl,omitempty"`
	Relax   bool     `json:"relax,omitempty" yaml:"relax,omitempty"`
	Clients []string `json:"clients,omitempty" yaml:"clients,omitempty"`
}

// Policy is the engine's whole configuration, as data. Start from
// DefaultPolicy and change what you need; Validate reports every problem.
type Policy struct {
	// ReportOnly makes every decision advisory: callers log it and allow.
	ReportOnly bool `json:"report_only" yaml:"report_only"`
	// Tolerance scales the expected loss every level starts at: 2 tolerates
	// twice the loss (less friction, less caught), 0.5 half.
	Tolerance float64 `json:"tolerance" yaml:"tolerance"`
	// HalfLife is how fast behaviour evidence fades; facts never fade.
	HalfLife   Duration        `json:"half_life" yaml:"half_life"`
	Thresholds Thresholds      `json:"thresholds" yaml:"thresholds"`
	Loss       LossPolicy      `json:"loss" yaml:"loss"`
	Impact     ImpactPolicy    `json:"impact" yaml:"impact"`
	Suspicion  SuspicionPolicy `json:"suspicion" yaml:"suspicion"`
	// SensitiveTier is the lowest tier that counts as sensitive (1..4).
	SensitiveTier int                       `json:"sensitive_tier" yaml:"sensitive_tier"`
	TTL           TTLs                      `json:"ttl" yaml:"ttl"`
	Detectors     map[string]DetectorPolicy `json:"detectors" yaml:"detectors"`
	Facts         map[string]FactPolicy     `json:"facts" yaml:"facts"`
	Challenge     ChallengePolicy           `json:"challenge" yaml:"challenge"`
	Baseline      BaselinePolicy            `json:"baseline" yaml:"baseline"`
	Memory        MemoryPolicy              `json:"memory" yaml:"memory"`
	// Rules are admin rules in CEL, compiled by risk/rules.
	Rules []RuleSpec `json:"rules,omitempty" yaml:"rules,omitempty"`
}

// DefaultPolicy returns the documented default policy. Each call returns a
// fresh copy the caller may modify.
func DefaultPolicy() Policy {
	dets := make(map[string]DetectorPolicy, len(detectors))
	for _, d := range detectors {
		dets[d.code] = DetectorPolicy{Weight: 1, Cap: d.cap}
	}
	return Policy{
		Tolerance:     1,
		HalfLife:      Duration(20 * time.Minute),
		Thresholds:    Thresholds{Low: 50, Medium: 90, High: 99, Critical: 100},
		Loss:          LossPolicy{Low: 0.005, Medium: 0.01, High: 0.1},
		Impact:        defaultImpact(),
		Suspicion:     SuspicionPolicy{Prior: -30, NewPrior: -26, MatureAfter: Duration(7 * 24 * time.Hour), MatureCalls: 50, Overlap: 0.3},
		SensitiveTier: 3,
		TTL: TTLs{
			Low:       Duration(limits.RiskLowTTL),
			Medium:    Duration(limits.RiskMediumTTL),
			High:      Duration(limits.RiskHighTTL),
			Sensitive: Duration(limits.RiskSensitiveTTL),
		},
		Detectors: dets,
		Facts:     defaultFacts(),
		Challenge: ChallengePolicy{FloorPerChallenge: 8, FloorPerFailure: 20, Max: 3, VerifiedMargin: 5},
		Baseline: BaselinePolicy{
			KnownAt: 0.5, HalfLife: Duration(30 * 24 * time.Hour), CleanBelow: 20, IdleEnd: Duration(2 * time.Hour),
		},
		Memory: MemoryPolicy{HalfLife: Duration(6 * time.Hour), Carry: 0.3, PerUnanswered: 4, PerFailure: 15,
			Window: Duration(2 * time.Hour), Slow: Duration(3 * 24 * time.Hour)},
	}
}

func defaultImpact() ImpactPolicy {
	return ImpactPolicy{
		Tiers: []float64{0.01, 0.03, 0.1, 0.3},
		Tactics: map[string]float64{
			"discovery": 1, "collection": 1, "credential_access": 2, "persistence": 2,
			"defense_evasion": 2, "exfiltration": 2, "impact": 3,
		},
		Verbs:  map[string]float64{VerbWrite: 1.5, VerbExport: 2, VerbDelete: 3, VerbCost: 5, VerbAdmin: 2},
		Volume: 3,
	}
}

func defaultFacts() map[string]FactPolicy {
	hard := FactPolicy{Points: 100, Hard: true}
	return map[string]FactPolicy{
		FactRefreshReuse:       hard,
		FactAssertionReplay:    hard,
		FactPoPMismatch:        hard,
		FactCompromised:        hard,
		FactSessionRevoked:     hard,
		FactEscalationAttempt:  {Points: 25, Repeat: 5},
		FactChainAnomaly:       {Points: 25, Repeat: 5},
		FactRevalidationFailed: {Points: 25, Repeat: 5},
	}
}

// WithTolerance returns p with its tolerance multiplied by t: t = 1 leaves
// it unchanged, t > 1 tolerates more expected loss (less friction, fewer
// attacks caught), t < 1 less. It is the knob a detection/friction curve
// sweeps.
func (p Policy) WithTolerance(t float64) Policy {
	p.Tolerance *= t
	return p
}

// Validate reports every problem with p, joined with errors.Join; nil means
// the policy is usable. CEL expressions are checked by risk/rules, not here.
func (p Policy) Validate() error {
	var errs []error
	check := func(bad bool, format string, args ...any) {
		if bad {
			errs = append(errs, fmt.Errorf("risk: policy: "+format, args...))
		}
	}
	t := p.Thresholds
	check(!(0 < t.Low && t.Low < t.Medium && t.Medium < t.High && t.High < t.Critical && t.Critical <= 100),
		"thresholds must rise strictly within 1..100 (low %d, medium %d, high %d, critical %d)", t.Low, t.Medium, t.High, t.Critical)
	check(p.HalfLife <= 0, "half_life must be positive")
	check(!(p.Tolerance > 0 && p.Tolerance <= 100), "tolerance must be in (0, 100]")
	l := p.Loss
	check(!(0 < l.Low && l.Low < l.Medium && l.Medium < l.High && l.High <= 1),
		"loss must rise strictly within (0, 1] (low %g, medium %g, high %g)", l.Low, l.Medium, l.High)
	errs = append(errs, p.Impact.validate(), p.Suspicion.validate())
	check(p.SensitiveTier < 1 || p.SensitiveTier > 4, "sensitive_tier %d must be 1..4", p.SensitiveTier)
	errs = append(errs, p.TTL.validate(), p.validateDetectors(), p.validateFacts(), p.validateLearning(), p.validateRules())
	return errors.Join(errs...)
}

func (t TTLs) validate() error {
	var errs []error
	for name, d := range map[string]Duration{"none": t.None, "low": t.Low, "medium": t.Medium, "high": t.High, "sensitive": t.Sensitive} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("risk: policy: ttl.%s must not be negative", name))
		}
	}
	if t.Sensitive == 0 {
		errs = append(errs, errors.New("risk: policy: ttl.sensitive must be set"))
	}
	return errors.Join(errs...)
}

func (p Policy) validateDetectors() error {
	var errs []error
	for code, d := range p.Detectors {
		if detectorIndex(code) < 0 {
			errs = append(errs, fmt.Errorf("risk: policy: unknown detector %q", code))
		}
		if d.Weight < 0 || d.Weight > 10 || d.Cap < 0 || d.Cap > 100 {
			errs = append(errs, fmt.Errorf("risk: policy: detector %q: weight must be 0..10 and cap 0..100", code))
		}
	}
	return errors.Join(errs...)
}

func (p Policy) validateFacts() error {
	var errs []error
	for code, f := range p.Facts {
		if f.Points < 0 || f.Points > 100 || f.Repeat < 0 {
			errs = append(errs, fmt.Errorf("risk: policy: fact %q: points must be 0..100 and repeat not negative", code))
		}
	}
	return errors.Join(errs...)
}

func (p Policy) validateLearning() error {
	var errs []error
	check := func(bad bool, msg string) {
		if bad {
			errs = append(errs, errors.New("risk: policy: "+msg))
		}
	}
	b, m, c := p.Baseline, p.Memory, p.Challenge
	check(b.KnownAt <= 0, "baseline.known_at must be positive")
	check(b.HalfLife <= 0 || b.IdleEnd <= 0, "baseline.half_life and baseline.idle_end must be positive")
	check(b.CleanBelow < 1 || b.CleanBelow > p.Thresholds.Medium, "baseline.clean_below must be 1..thresholds.medium")
	check(m.HalfLife <= 0 || m.Window <= 0 || m.Slow <= 0, "memory.half_life, memory.window and memory.slow must be positive")
	check(m.Carry < 0 || m.Carry > 1, "memory.carry must be 0..1")
	check(m.PerUnanswered < 0 || m.PerFailure < 0, "memory points must not be negative")
	check(c.Max < 2, "challenge.max must be at least 2")
	check(c.FloorPerChallenge < 0 || c.FloorPerFailure < 0 || c.VerifiedMargin < 0, "challenge points must not be negative")
	return errors.Join(errs...)
}

func (ip ImpactPolicy) validate() error {
	var errs []error
	if len(ip.Tiers) != 4 {
		errs = append(errs, fmt.Errorf("risk: policy: impact.tiers needs 4 entries (tiers 1..4), has %d", len(ip.Tiers)))
	}
	for i, v := range ip.Tiers {
		if !(v > 0 && v <= 1) || (i > 0 && v < ip.Tiers[i-1]) {
			errs = append(errs, fmt.Errorf("risk: policy: impact.tiers[%d] = %g must be in (0, 1] and not below the tier before", i, v))
		}
	}
	for name, m := range ip.Tactics {
		if tacticBit(name) == otherTactic || m < 1 || m > 10 {
			errs = append(errs, fmt.Errorf("risk: policy: impact.tactics.%s: a known tactic with a multiplier 1..10", name))
		}
	}
	for name, m := range ip.Verbs {
		if verbIndex(name) < 0 || m < 1 || m > 10 {
			errs = append(errs, fmt.Errorf("risk: policy: impact.verbs.%s: a known verb class with a multiplier 1..10", name))
		}
	}
	if ip.Volume < 1 || ip.Volume > 10 {
		errs = append(errs, errors.New("risk: policy: impact.volume must be 1..10"))
	}
	return errors.Join(errs...)
}

func (sp SuspicionPolicy) validate() error {
	var errs []error
	if !(sp.Prior < 0 && sp.Prior >= -60 && sp.NewPrior < 0 && sp.NewPrior >= sp.Prior) {
		errs = append(errs, errors.New("risk: policy: suspicion.prior must be in [-60, 0) and new_prior in [prior, 0)"))
	}
	if sp.MatureAfter <= 0 || sp.MatureCalls <= 0 {
		errs = append(errs, errors.New("risk: policy: suspicion.mature_after and suspicion.mature_calls must be positive"))
	}
	if sp.Overlap < 0 || sp.Overlap > 1 {
		errs = append(errs, errors.New("risk: policy: suspicion.overlap must be 0..1"))
	}
	return errors.Join(errs...)
}

func (p Policy) validateRules() error {
	var errs []error
	seen := make(map[string]bool, len(p.Rules))
	for i, r := range p.Rules {
		if err := r.validate(); err != nil {
			errs = append(errs, fmt.Errorf("risk: policy: rule %d: %w", i, err))
		}
		if seen[r.Name] {
			errs = append(errs, fmt.Errorf("risk: policy: rule %d: duplicate name %q", i, r.Name))
		}
		seen[r.Name] = true
	}
	return errors.Join(errs...)
}

// ErrRelaxUnscoped reports a rule that relaxes decisions without naming the
// clients it applies to.
var ErrRelaxUnscoped = errors.New("risk: a relaxing rule must name its clients")

func (r RuleSpec) validate() error {
	var errs []error
	if r.Name == "" {
		errs = append(errs, errors.New("name is required"))
	}
	if r.When == "" {
		errs = append(errs, fmt.Errorf("%q: when is required", r.Name))
	}
	if r.Action == "" && r.TTL == 0 {
		errs = append(errs, fmt.Errorf("%q: needs an action or a ttl", r.Name))
	}
	if r.Action != "" && severity(r.Action) < 0 {
		errs = append(errs, fmt.Errorf("%q: unknown action %q", r.Name, r.Action))
	}
	if r.TTL < 0 {
		errs = append(errs, fmt.Errorf("%q: ttl must not be negative", r.Name))
	}
	if r.Relax && len(r.Clients) == 0 {
		errs = append(errs, fmt.Errorf("%q: %w", r.Name, ErrRelaxUnscoped))
	}
	if !r.Relax && r.Action == Allow {
		errs = append(errs, fmt.Errorf("%q: action allow can only relax: set relax and clients", r.Name))
	}
	return errors.Join(errs...)
}

// severity orders actions; -1 for an unknown one.
func severity(a Action) int {
	switch a {
	case Allow:
		return 0
	case StepUp:
		return 1
	case Deny:
		return 2
	case Terminate:
		return 3
	}
	return -1
}

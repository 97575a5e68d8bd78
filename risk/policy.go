package risk

import (
	"errors"
	"fmt"
	"time"
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

// Thresholds are the scores at which each level starts, for a routine
// (tier 1) resource. TierAdjust lowers the first three for sensitive tiers.
type Thresholds struct {
	Low      int `json:"low" yaml:"low"`
	Medium   int `json:"medium" yaml:"medium"`
	High     int `json:"high" yaml:"high"`
	Critical int `json:"critical" yaml:"critical"`
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

// DetectorPolicy tunes one behaviour detector: its points are multiplied by
// Weight (0 disables it) and its standing contribution in a session never
// exceeds Cap.
type DetectorPolicy struct {
	Weight float64 `json:"weight" yaml:"weight"`
	Cap    int     `json:"cap" yaml:"cap"`
}

// FactPolicy sets the sticky points of one fact. A Hard fact sends the
// session straight to the critical level. A fact reported again adds Repeat
// points, up to Points+2*Repeat.
type FactPolicy struct {
	Points int  `json:"points" yaml:"points"`
	Repeat int  `json:"repeat" yaml:"repeat"`
	Hard   bool `json:"hard" yaml:"hard"`
}

// AgreementPolicy rewards evidence of different kinds agreeing: PerKind
// points for each kind beyond the first whose standing points reach
// MinPoints, at most Max.
type AgreementPolicy struct {
	PerKind   int `json:"per_kind" yaml:"per_kind"`
	Max       int `json:"max" yaml:"max"`
	MinPoints int `json:"min_points" yaml:"min_points"`
}

// ChallengePolicy governs step-up. Each challenge issued raises the
// session's score floor by FloorPerChallenge, each failed one by
// FloorPerFailure; the Max-th challenge terminates instead (counting the
// client's recent unanswered challenges). A passed challenge covers later
// calls up to VerifiedMargin points above the score it was passed at.
type ChallengePolicy struct {
	FloorPerChallenge int `json:"floor_per_challenge" yaml:"floor_per_challenge"`
	FloorPerFailure   int `json:"floor_per_failure" yaml:"floor_per_failure"`
	Max               int `json:"max" yaml:"max"`
	VerifiedMargin    int `json:"verified_margin" yaml:"verified_margin"`
}

// BaselinePolicy governs learning. Only sessions that ended with no fact, no
// challenge and a peak score below CleanBelow teach the client's baseline.
// Counts of clean sessions halve every HalfLife; a value whose decayed count
// reaches KnownAt is normal, below that it is partly novel in proportion (so
// a value unused for several half-lives becomes novel again). A client with
// fewer than MinSessions clean sessions is learning: its learned detectors
// are scaled by (sessions/MinSessions)², never below LearningFloor, so it
// leans on declared data. A session idle for IdleEnd has ended.
type BaselinePolicy struct {
	MinSessions   int      `json:"min_sessions" yaml:"min_sessions"`
	KnownAt       float64  `json:"known_at" yaml:"known_at"`
	HalfLife      Duration `json:"half_life" yaml:"half_life"`
	CleanBelow    int      `json:"clean_below" yaml:"clean_below"`
	IdleEnd       Duration `json:"idle_end" yaml:"idle_end"`
	LearningFloor float64  `json:"learning_floor" yaml:"learning_floor"`
}

// MemoryPolicy is the client-level memory that stops a client from
// laundering risk by splitting work into short sessions. A new session starts
// with Carry times the client's recent peak score as a floor, plus
// PerUnanswered and PerFailure points for its recent unanswered and failed
// challenges. The memory halves every HalfLife.
type MemoryPolicy struct {
	HalfLife      Duration `json:"half_life" yaml:"half_life"`
	Carry         float64  `json:"carry" yaml:"carry"`
	PerUnanswered int      `json:"per_unanswered" yaml:"per_unanswered"`
	PerFailure    int      `json:"per_failure" yaml:"per_failure"`
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
	// HalfLife is how fast behaviour points fade; facts never fade.
	HalfLife   Duration   `json:"half_life" yaml:"half_life"`
	Thresholds Thresholds `json:"thresholds" yaml:"thresholds"`
	// TierAdjust[i] is subtracted from the low, medium and high thresholds
	// for a resource of sensitivity tier i+1: sensitive resources step up at
	// lower scores.
	TierAdjust []int `json:"tier_adjust" yaml:"tier_adjust"`
	// SensitiveTier is the lowest tier that counts as sensitive (1..4).
	SensitiveTier int                       `json:"sensitive_tier" yaml:"sensitive_tier"`
	TTL           TTLs                      `json:"ttl" yaml:"ttl"`
	Agreement     AgreementPolicy           `json:"agreement" yaml:"agreement"`
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
		HalfLife:      Duration(20 * time.Minute),
		Thresholds:    Thresholds{Low: 15, Medium: 35, High: 60, Critical: 85},
		TierAdjust:    []int{0, 0, 5, 10},
		SensitiveTier: 3,
		TTL: TTLs{
			Low:       Duration(15 * time.Minute),
			Medium:    Duration(5 * time.Minute),
			High:      Duration(time.Minute),
			Sensitive: Duration(5 * time.Minute),
		},
		Agreement: AgreementPolicy{PerKind: 5, Max: 15, MinPoints: 5},
		Detectors: dets,
		Facts:     defaultFacts(),
		Challenge: ChallengePolicy{FloorPerChallenge: 10, FloorPerFailure: 25, Max: 3, VerifiedMargin: 10},
		Baseline: BaselinePolicy{
			MinSessions: 10, KnownAt: 0.5, HalfLife: Duration(30 * 24 * time.Hour),
			CleanBelow: 25, IdleEnd: Duration(2 * time.Hour), LearningFloor: 0.05,
		},
		Memory: MemoryPolicy{HalfLife: Duration(6 * time.Hour), Carry: 0.5, PerUnanswered: 10, PerFailure: 20},
	}
}

func defaultFacts() map[string]FactPolicy {
	hard := FactPolicy{Points: 100, Hard: true}
	return map[string]FactPolicy{
		FactRefreshReuse:         hard,
		FactAssertionReplay:      hard,
		FactPoPMismatch:          hard,
		FactCompromised:          hard,
		FactSessionRevoked:       hard,
		FactEscalationAttempt:    {Points: 40, Repeat: 10},
		FactChainAnomaly:         {Points: 40, Repeat: 10},
		FactUnexpectedIntrospect: {Points: 40, Repeat: 10},
		FactRevalidationFailed:   {Points: 30, Repeat: 10},
	}
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
	check(len(p.TierAdjust) != 4, "tier_adjust needs 4 entries (tiers 1..4), has %d", len(p.TierAdjust))
	for i, a := range p.TierAdjust {
		check(a < 0 || a >= t.Low, "tier_adjust[%d] = %d must be in 0..low-1", i, a)
	}
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
	check(b.MinSessions < 1, "baseline.min_sessions must be at least 1")
	check(b.KnownAt <= 0, "baseline.known_at must be positive")
	check(b.HalfLife <= 0 || b.IdleEnd <= 0, "baseline.half_life and baseline.idle_end must be positive")
	check(b.CleanBelow < 1 || b.CleanBelow > p.Thresholds.Medium, "baseline.clean_below must be 1..thresholds.medium")
	check(b.LearningFloor < 0 || b.LearningFloor > 1, "baseline.learning_floor must be 0..1")
	check(m.HalfLife <= 0, "memory.half_life must be positive")
	check(m.Carry < 0 || m.Carry > 1, "memory.carry must be 0..1")
	check(m.PerUnanswered < 0 || m.PerFailure < 0, "memory points must not be negative")
	check(c.Max < 2, "challenge.max must be at least 2")
	check(c.FloorPerChallenge < 0 || c.FloorPerFailure < 0 || c.VerifiedMargin < 0, "challenge points must not be negative")
	check(p.Agreement.PerKind < 0 || p.Agreement.Max < 0 || p.Agreement.MinPoints < 0, "agreement points must not be negative")
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

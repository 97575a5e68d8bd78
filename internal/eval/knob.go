package eval

import (
	"github.com/vigil-auth/vigil/risk"
)

// Knob sets a policy's tolerance: t = 1 leaves the policy as it is, a
// larger t tolerates more (fewer challenges, more attacks let through), a
// smaller one less.
type Knob interface {
	// Name says what the knob changes, for reports.
	Name() string
	// Apply returns p with tolerance t.
	Apply(p risk.Policy, t float64) risk.Policy
}

// ToleranceScale is the default Knob: it multiplies the policy's
// expected-loss tolerance (risk.Policy.Tolerance, which scales every loss
// band) by t.
type ToleranceScale struct{}

// Name implements Knob.
func (ToleranceScale) Name() string { return "expected-loss tolerance × t" }

// Apply implements Knob.
func (ToleranceScale) Apply(p risk.Policy, t float64) risk.Policy { return p.WithTolerance(t) }

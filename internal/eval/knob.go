package eval

import (
	"math"

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

// ThresholdScale is the default Knob: it multiplies the score at which
// each level starts (low, medium, high, critical) by t, keeping them
// within 1..100 and strictly rising, and scales what is measured on the
// same axis with them (the per-tier lowering of thresholds and the score
// below which a session teaches the baseline).
type ThresholdScale struct{}

// Name implements Knob.
func (ThresholdScale) Name() string { return "level thresholds × t" }

// Apply implements Knob.
func (ThresholdScale) Apply(p risk.Policy, t float64) risk.Policy {
	th := []*int{&p.Thresholds.Low, &p.Thresholds.Medium, &p.Thresholds.High, &p.Thresholds.Critical}
	prev := 0
	for i, v := range th {
		n := int(math.Round(float64(*v) * t))
		n = max(n, prev+1)
		n = min(n, 100-(len(th)-1-i))
		*v, prev = n, n
	}
	adj := make([]int, len(p.TierAdjust))
	for i, a := range p.TierAdjust {
		adj[i] = min(int(math.Round(float64(a)*t)), p.Thresholds.Low-1)
	}
	p.TierAdjust = adj
	p.Baseline.CleanBelow = max(1, min(int(math.Round(float64(p.Baseline.CleanBelow)*t)), p.Thresholds.Medium))
	return p
}

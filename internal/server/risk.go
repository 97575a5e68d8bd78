package server

import (
	"time"

	"github.com/vigil-auth/vigil/risk"
)

// defaultRisk builds the engine with the default policy.
func defaultRisk() (Risk, error) {
	return risk.New(risk.DefaultPolicy())
}

// decisionMetrics is what measuredRisk reports to. *metrics.Registry
// implements it.
type decisionMetrics interface {
	Decided(op, action, level string, took time.Duration)
	Reason(code string)
}

// measuredRisk counts every decision of the engine it wraps (by operation,
// action and level, and by reason code) and times how long the engine
// took, on the wall clock whatever clock the server runs on.
type measuredRisk struct {
	Risk
	m decisionMetrics
}

// Observe implements authz.Risk and introspect.Risk.
func (r measuredRisk) Observe(ev risk.Event) risk.Decision {
	began := time.Now()
	d := r.Risk.Observe(ev)
	r.m.Decided(string(ev.Op), string(d.Action), string(d.Level), time.Since(began))
	for _, reason := range d.Reasons {
		r.m.Reason(reason.Code)
	}
	return d
}

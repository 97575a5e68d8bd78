package telemetry

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Decision is what a risk decision span records: the operation judged and
// the outcome, never the event's token, secret, assertion or evidence.
type Decision struct {
	// Op is the kind of call judged (token, exchange, introspect, …).
	Op string
	// Level and Action are the decision's level and action.
	Level, Action string
	// Score is the suspicion in percent.
	Score int
	// ReportOnly is true when the policy only reported the decision.
	ReportOnly bool
	// Reasons are the decision's reason codes.
	Reasons []string
}

// Attribute keys of risk decision spans.
const (
	attrRiskOp         = "vigil.risk.op"
	attrRiskLevel      = "vigil.risk.level"
	attrRiskAction     = "vigil.risk.action"
	attrRiskScore      = "vigil.risk.score"
	attrRiskReportOnly = "vigil.risk.report_only"
	attrRiskReasons    = "vigil.risk.reasons"
)

// Decided records d as a span "risk.decision" from began until now, the
// child of the span in ctx. Outside a traced request (no span in ctx), and
// on a nil *Tracing, it records nothing.
func (t *Tracing) Decided(ctx context.Context, began time.Time, d Decision) {
	if t == nil || !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	_, span := t.tracer.Start(ctx, "risk.decision", trace.WithTimestamp(began), trace.WithAttributes(
		attribute.String(attrRiskOp, d.Op), attribute.String(attrRiskLevel, d.Level),
		attribute.String(attrRiskAction, d.Action), attribute.Int(attrRiskScore, d.Score),
		attribute.Bool(attrRiskReportOnly, d.ReportOnly), attribute.StringSlice(attrRiskReasons, d.Reasons)))
	span.End()
}

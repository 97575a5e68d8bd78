package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// scrubber is a span processor in front of the exporter that passes
// Vigil's own spans as they are and strips the spans other libraries start
// under Vigil's (fosite traces its token, introspection and revocation
// handling through the span in the context) down to their name, timing,
// parent and status code: their attributes, events and status text may
// hold error messages, hints or debug text that Vigil does not control.
// Keeping the spans, not dropping them, keeps the tree whole.
type scrubber struct{ sdktrace.SpanProcessor }

// OnEnd hands s, scrubbed unless it is Vigil's, to the next processor.
func (p scrubber) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.InstrumentationScope().Name != scope {
		s = scrubbed{s}
	}
	p.SpanProcessor.OnEnd(s)
}

// OnStart implements sdktrace.SpanProcessor.
func (p scrubber) OnStart(ctx context.Context, s sdktrace.ReadWriteSpan) {
	p.SpanProcessor.OnStart(ctx, s)
}

// ForceFlush implements sdktrace.SpanProcessor.
func (p scrubber) ForceFlush(ctx context.Context) error { return p.SpanProcessor.ForceFlush(ctx) }

// scrubbed is a span without attributes, events, links or status text.
type scrubbed struct{ sdktrace.ReadOnlySpan }

func (scrubbed) Attributes() []attribute.KeyValue { return nil }
func (scrubbed) Events() []sdktrace.Event         { return nil }
func (scrubbed) Links() []sdktrace.Link           { return nil }
func (s scrubbed) Status() sdktrace.Status {
	return sdktrace.Status{Code: s.ReadOnlySpan.Status().Code}
}

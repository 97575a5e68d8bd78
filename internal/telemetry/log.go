package telemetry

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// LogHandler returns h wrapped so that every record logged with a context
// carrying a span (every log line of a traced request) also carries
// trace_id and span_id, as the W3C trace context spells them (32 and 16 hex
// digits).
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

// Logger returns log with [LogHandler] around its handler; on a nil
// *Tracing it returns log unchanged.
func (t *Tracing) Logger(log *slog.Logger) *slog.Logger {
	if t == nil {
		return log
	}
	return slog.New(LogHandler(log.Handler()))
}

type logHandler struct{ slog.Handler }

// Handle adds trace_id and span_id from ctx, then delegates.
func (h logHandler) Handle(ctx context.Context, rec slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		rec.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, rec)
}

// WithAttrs keeps the wrapper around the derived handler.
func (h logHandler) WithAttrs(a []slog.Attr) slog.Handler { return logHandler{h.Handler.WithAttrs(a)} }

// WithGroup keeps the wrapper around the derived handler.
func (h logHandler) WithGroup(n string) slog.Handler { return logHandler{h.Handler.WithGroup(n)} }

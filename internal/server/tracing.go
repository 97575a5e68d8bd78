package server

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/internal/telemetry"
	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// tracingShutdownTimeout bounds how long Close waits for the last spans to
// reach the collector.
const tracingShutdownTimeout = 5 * time.Second

// WithTracing traces the instance with t instead of the tracing the OTEL_*
// environment variables describe (nil turns tracing off); Close shuts t
// down.
func WithTracing(t *telemetry.Tracing) Option {
	return func(o *openOptions) { o.tracing, o.tracingSet = t, true }
}

// openTracing returns the tracing o asks for: the one given with
// WithTracing, else the one the environment describes (nil when off).
func openTracing(ctx context.Context, o openOptions) (*telemetry.Tracing, error) {
	if o.tracingSet {
		return o.tracing, nil
	}
	return telemetry.FromEnv(ctx, o.getenv, o.log)
}

// tracer is the request-span hook for web.Middleware: nil when tracing is
// off, so the middleware does no tracing work at all.
func (s *Server) tracer() web.Tracer {
	if s.d.Tracing == nil {
		return nil
	}
	return s.d.Tracing
}

// tracedStore is the store the request handlers use: with tracing on, each
// transaction is a span of the request.
func (s *Server) tracedStore() storage.Store {
	return s.d.Tracing.Store(s.d.Store, backendName(s.d.Store))
}

// backendName names the store's backend by its package: bolt, postgres,
// memory.
func backendName(st storage.Store) string {
	name := strings.TrimPrefix(fmt.Sprintf("%T", st), "*")
	pkg, _, _ := strings.Cut(name, ".")
	return pkg
}

// tracedRisk returns r with each decision made for a traced request
// recorded as a span of it; with tracing off, r itself.
func (s *Server) tracedRisk(r Risk) Risk {
	if s.d.Tracing == nil {
		return r
	}
	return tracedRisk{Risk: r, t: s.d.Tracing}
}

// tracedRisk records the decisions of the engine it wraps as spans
// (operation, level, action, score, reason codes; never the event itself).
// It implements authz.ContextRisk and introspect.ContextRisk.
type tracedRisk struct {
	Risk
	t *telemetry.Tracing
}

// ObserveContext judges ev and records the decision as a child of the span
// in ctx.
func (r tracedRisk) ObserveContext(ctx context.Context, ev risk.Event) risk.Decision {
	began := time.Now()
	d := r.Observe(ev)
	reasons := make([]string, len(d.Reasons))
	for i, reason := range d.Reasons {
		reasons[i] = reason.Code
	}
	r.t.Decided(ctx, began, telemetry.Decision{Op: string(ev.Op), Level: string(d.Level), Action: string(d.Action),
		Score: d.Score, ReportOnly: d.ReportOnly, Reasons: reasons})
	return d
}

// shutdownTracing flushes and stops the server's tracing.
func (s *Server) shutdownTracing() error {
	ctx, cancel := context.WithTimeout(context.Background(), tracingShutdownTimeout)
	defer cancel()
	return s.d.Tracing.Shutdown(ctx)
}

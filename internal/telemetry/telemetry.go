// Package telemetry is Vigil's OpenTelemetry tracing: a span per request,
// per storage transaction and per risk decision, exported over OTLP, and
// trace ids in the log lines of a request. It is the only package that
// imports OpenTelemetry; the rest of Vigil sees small hooks (web.Tracer, a
// storage.Store, a decision callback, an slog.Handler).
//
// Tracing is off unless the standard OTEL_* environment variables ask for
// it (see [FromEnv]); then a nil *Tracing stands for "off" and costs
// nothing: every method of a nil *Tracing returns its input unchanged.
//
// Spans never carry a token, secret, assertion, request body or query: a
// request span holds the method, the route template and the status; a
// storage span the operation and the backend; a decision span the
// operation, level, action, score and reason codes.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/contrib/propagators/autoprop"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-auth/vigil/internal/buildinfo"
)

// ServiceName is the service.name of Vigil's spans unless OTEL_SERVICE_NAME
// or OTEL_RESOURCE_ATTRIBUTES names another.
const ServiceName = "vigil"

// scope is the instrumentation scope of every span Vigil starts.
const scope = "github.com/vigil-auth/vigil"

// Tracing is a tracer provider, the tracer Vigil starts its spans with, and
// the propagator that reads an incoming traceparent. It is safe for
// concurrent use. A nil *Tracing is tracing turned off.
type Tracing struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
}

// Enabled reports whether the environment turns tracing on: never when
// OTEL_SDK_DISABLED is true or OTEL_TRACES_EXPORTER is "none"; otherwise
// when OTEL_TRACES_EXPORTER names an exporter or an OTLP endpoint
// (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set.
// Unlike the SDK's default, an empty environment leaves tracing off.
func Enabled(getenv func(string) string) bool {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	switch exp := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); {
	case strings.EqualFold(exp, "none"):
		return false
	case exp != "":
		return true
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// FromEnv returns the tracing the OTEL_* environment variables describe, or
// nil (off) when [Enabled] says so. getenv decides whether tracing is on;
// the exporter (OTEL_TRACES_EXPORTER: otlp, console; OTEL_EXPORTER_OTLP_*),
// the sampler (OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG), the resource
// (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) and the batching
// (OTEL_BSP_*) are read from the process environment by the OpenTelemetry
// SDK itself; the propagators (OTEL_PROPAGATORS, default
// tracecontext,baggage) through getenv. Spans other libraries start under
// Vigil's are exported scrubbed (name, timing, parent, status code).
//
// An unknown exporter, protocol or propagator, or malformed resource
// attributes, is an error. What the SDK reports later (a failed export, an
// unknown sampler, which then falls back to the default) is logged to log
// at warn level.
func FromEnv(ctx context.Context, getenv func(string) string, log *slog.Logger) (*Tracing, error) {
	if !Enabled(getenv) {
		return nil, nil
	}
	prop, err := propagators(getenv("OTEL_PROPAGATORS"))
	if err != nil {
		return nil, err
	}
	exp, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: exporter: %w", err)
	}
	res, err := newResource(ctx)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("tracing: resource: %w", err), exp.Shutdown(ctx))
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing failed", "err", err)
	}))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(scrubber{sdktrace.NewBatchSpanProcessor(exp)}),
		sdktrace.WithResource(res))
	return newTracing(tp, prop), nil
}

// New returns tracing that hands every ended span to exp at once (no
// batching; other libraries' spans scrubbed as with [FromEnv]), samples
// every span whose parent does not say otherwise, and reads W3C traceparent
// and baggage headers. Tests use it with an in-memory exporter.
func New(exp sdktrace.SpanExporter) *Tracing {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(scrubber{sdktrace.NewSimpleSpanProcessor(exp)}),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())))
	return newTracing(tp, propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
}

// propagators returns the propagators a comma-separated OTEL_PROPAGATORS
// value names (tracecontext, baggage, b3, b3multi, jaeger, xray, ottrace,
// none), or tracecontext and baggage when it is empty. An unknown name is an
// error.
func propagators(names string) (propagation.TextMapPropagator, error) {
	if strings.TrimSpace(names) == "" {
		return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}), nil
	}
	list := strings.Split(names, ",")
	for i := range list {
		list[i] = strings.TrimSpace(list[i])
	}
	prop, err := autoprop.TextMapPropagator(list...)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTEL_PROPAGATORS: %w", err)
	}
	return prop, nil
}

func newTracing(tp *sdktrace.TracerProvider, prop propagation.TextMapPropagator) *Tracing {
	return &Tracing{tp: tp, tracer: tp.Tracer(scope, trace.WithInstrumentationVersion(buildinfo.Read().Version)), prop: prop}
}

// newResource describes this process: service.name vigil and
// service.version, which OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
// override, and the SDK's own attributes.
func newResource(ctx context.Context) (*resource.Resource, error) {
	return resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", ServiceName),
			attribute.String("service.version", buildinfo.Read().Version)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv())
}

// Shutdown exports the spans still buffered and stops the provider; spans
// started afterwards are dropped. It is safe on a nil *Tracing.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	if err := t.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: shutdown: %w", err)
	}
	return nil
}

// child starts a span named name under the span in ctx, or returns a nil
// span when ctx carries none: storage and risk work outside a request (the
// background workers, maintenance) would otherwise make a root span each.
func (t *Tracing) child(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, nil
	}
	return t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...))
}

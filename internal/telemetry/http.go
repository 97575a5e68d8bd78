package telemetry

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Attribute keys of request spans (OpenTelemetry HTTP semantic conventions,
// plus Vigil's request id).
const (
	attrMethod    = "http.request.method"
	attrRoute     = "http.route"
	attrStatus    = "http.response.status_code"
	attrScheme    = "url.scheme"
	attrRequestID = "vigil.request_id"
)

// knownMethods are the methods a span names as sent; any other is "_OTHER",
// so a caller cannot choose span names or attribute values.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true, http.MethodPatch: true,
	http.MethodDelete: true, http.MethodOptions: true, http.MethodConnect: true, http.MethodTrace: true,
}

// StartRequest starts the server span of r, the child of the span an
// incoming traceparent names (through the configured propagators), and
// returns ctx carrying it and the function that ends it once the route
// template and the status are known. The span is named "METHOD route"
// ("POST /oauth2/introspect"); it never records the path, the query, a
// header or the body, so no token reaches it. requestID is r's X-Request-Id.
// On a nil *Tracing it returns ctx and a no-op.
func (t *Tracing) StartRequest(ctx context.Context, r *http.Request, requestID string) (context.Context, func(route string, status int)) {
	if t == nil {
		return ctx, func(string, int) {}
	}
	method := r.Method
	if !knownMethods[method] {
		method = "_OTHER"
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	ctx = t.prop.Extract(ctx, propagation.HeaderCarrier(r.Header))
	ctx, span := t.tracer.Start(ctx, method, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attribute.String(attrMethod, method), attribute.String(attrScheme, scheme), attribute.String(attrRequestID, requestID)))
	return ctx, func(route string, status int) {
		if route != "" {
			span.SetName(method + " " + route)
			span.SetAttributes(attribute.String(attrRoute, route))
		}
		span.SetAttributes(attribute.Int(attrStatus, status))
		if status >= http.StatusInternalServerError {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
		span.End()
	}
}

package telemetry_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-auth/vigil/internal/telemetry"
	"github.com/vigil-auth/vigil/internal/telemetry/otlptest"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/memory"
)

const (
	traceID     = "4bf92f3577b34da6a3ce929d0e0e4736"
	spanID      = "00f067aa0ba902b7"
	traceparent = "00-" + traceID + "-" + spanID + "-01"
)

func env(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

func TestEnabled(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want bool
	}{
		{"empty environment: off", nil, false},
		{"an OTLP endpoint turns it on", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, true},
		{"a traces endpoint turns it on", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, true},
		{"an exporter turns it on", map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true},
		{"console exporter", map[string]string{"OTEL_TRACES_EXPORTER": "console"}, true},
		{"exporter none wins over an endpoint", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, false},
		{"SDK disabled wins", map[string]string{"OTEL_SDK_DISABLED": "TRUE", "OTEL_TRACES_EXPORTER": "otlp"}, false},
		{"SDK disabled false is not disabled", map[string]string{"OTEL_SDK_DISABLED": "false", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, true},
		{"a sampler alone does not turn it on", map[string]string{"OTEL_TRACES_SAMPLER": "always_on"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := telemetry.Enabled(env(tt.vars)); got != tt.want {
				t.Errorf("Enabled = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestFromEnv_Off: with tracing off FromEnv returns nil, whose methods give
// back what they were given.
func TestFromEnv_Off(t *testing.T) {
	tr, err := telemetry.FromEnv(t.Context(), env(nil), slog.New(slog.DiscardHandler))
	if tr != nil || err != nil {
		t.Fatalf("FromEnv = %v, %v; want nil, nil", tr, err)
	}
	st := memory.New()
	log := slog.New(slog.DiscardHandler)
	ctx := t.Context()
	gotCtx, end := tr.StartRequest(ctx, httptest.NewRequest(http.MethodGet, "/", nil), "id")
	end("/", 200)
	if tr.Store(st, "memory") != storage.Store(st) || tr.Logger(log) != log || gotCtx != ctx || tr.Shutdown(ctx) != nil {
		t.Error("nil tracing changed what it was given")
	}
}

// TestFromEnv_Errors: a variable set to a value the SDK does not know stops
// the start instead of silently tracing nothing.
func TestFromEnv_Errors(t *testing.T) {
	tests := map[string]map[string]string{
		"unknown exporter":   {"OTEL_TRACES_EXPORTER": "carrier-pigeon"},
		"unknown protocol":   {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "smoke-signals"},
		"unknown propagator": {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_PROPAGATORS": "telepathy"},
		"malformed resource": {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_RESOURCE_ATTRIBUTES": "no-equals-sign"},
	}
	for name, vars := range tests {
		t.Run(name, func(t *testing.T) {
			for k, v := range vars {
				t.Setenv(k, v)
			}
			tr, err := telemetry.FromEnv(t.Context(), os.Getenv, slog.New(slog.DiscardHandler))
			if err == nil {
				_ = tr.Shutdown(t.Context())
				t.Fatal("FromEnv accepted it")
			}
		})
	}
}

// TestFromEnv_ExportsOTLP is the end-to-end path: OTEL_EXPORTER_OTLP_ENDPOINT
// points at an OTLP/HTTP receiver, and after Shutdown the receiver holds the
// request span (child of the incoming traceparent) and its children, with
// the service name from the environment.
func TestFromEnv_ExportsOTLP(t *testing.T) {
	rc := otlptest.NewReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rc.URL)
	t.Setenv("OTEL_SERVICE_NAME", "vigil-e2e")
	tr, err := telemetry.FromEnv(t.Context(), os.Getenv, slog.New(slog.DiscardHandler))
	if err != nil || tr == nil {
		t.Fatalf("FromEnv = %v, %v", tr, err)
	}
	r := httptest.NewRequest(http.MethodPost, "/oauth2/introspect", nil)
	r.Header.Set("traceparent", traceparent)
	ctx, end := tr.StartRequest(t.Context(), r, "req-1")
	tr.Decided(ctx, time.Now(), telemetry.Decision{Op: "introspect", Level: "none", Action: "allow"})
	end("/oauth2/introspect", http.StatusOK)
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := map[string]otlptest.Span{}
	for _, s := range rc.Spans() {
		got[s.Name] = s
	}
	srv, ok := got["POST /oauth2/introspect"]
	if !ok {
		t.Fatalf("received %v, no request span", got)
	}
	if hex.EncodeToString(srv.TraceId) != traceID || hex.EncodeToString(srv.ParentSpanId) != spanID || srv.Service != "vigil-e2e" {
		t.Errorf("request span trace %x parent %x service %q", srv.TraceId, srv.ParentSpanId, srv.Service)
	}
	if dec := got["risk.decision"]; dec.Span == nil || !bytes.Equal(dec.ParentSpanId, srv.SpanId) || dec.Attr("vigil.risk.action") != "allow" {
		t.Errorf("risk.decision span %v, want a child of the request span with its action", dec.Span)
	}
}

// TestFromEnv_Sampler: the SDK reads OTEL_TRACES_SAMPLER: always_off
// exports nothing.
func TestFromEnv_Sampler(t *testing.T) {
	rc := otlptest.NewReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rc.URL)
	t.Setenv("OTEL_TRACES_SAMPLER", "always_off")
	tr, err := telemetry.FromEnv(t.Context(), os.Getenv, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	_, end := tr.StartRequest(t.Context(), httptest.NewRequest(http.MethodGet, "/", nil), "id")
	end("/", http.StatusOK)
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(rc.Spans()); n != 0 {
		t.Errorf("always_off exported %d spans", n)
	}
}

// TestStartRequest: the span is named by method and route, is the child
// of the incoming traceparent, and records neither path nor query.
func TestStartRequest(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr := telemetry.New(exp)
	r := httptest.NewRequest("BREW", "/admin/clients/c1?token=secret-value", nil)
	r.Header.Set("traceparent", traceparent)
	_, end := tr.StartRequest(t.Context(), r, "rid")
	end("/admin/clients/{id}", http.StatusServiceUnavailable)
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	s := spans[0]
	if s.Name != "_OTHER /admin/clients/{id}" || s.Parent.TraceID().String() != traceID || s.Status.Code.String() != "Error" {
		t.Errorf("span %q parent %v status %v", s.Name, s.Parent, s.Status)
	}
	for _, kv := range s.Attributes {
		if v := kv.Value.Emit(); strings.Contains(v, "secret-value") || strings.Contains(v, "c1") || strings.Contains(v, "BREW") {
			t.Errorf("attribute %s = %q leaks the request", kv.Key, v)
		}
	}
}

// TestStore_EveryTransactionTraced calls every method of storage.Store (but
// Close) through the traced store under a span, and wants one span per
// call, named after the method, with the backend; outside a span, none. A
// method added to the contract and not traced fails here.
func TestStore_EveryTransactionTraced(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr := telemetry.New(exp)
	st := tr.Store(memory.New(), "memory")
	ctx, parent := tr.StartRequest(t.Context(), httptest.NewRequest(http.MethodGet, "/", nil), "id")
	want := callAll(t, ctx, st)
	parent("/", http.StatusOK)
	byName := map[string]tracetest.SpanStub{}
	for _, s := range exp.GetSpans() {
		byName[s.Name] = s
	}
	for _, m := range want {
		s, ok := byName["storage."+m]
		if !ok {
			t.Errorf("%s: no span", m)
			continue
		}
		if s.Status.Code.String() == "Error" {
			t.Errorf("%s: status %v (not found is an answer, not an error)", m, s.Status)
		}
		var backend bool
		for _, kv := range s.Attributes {
			backend = backend || (kv.Key == "vigil.storage.backend" && kv.Value.AsString() == "memory")
		}
		if !backend {
			t.Errorf("%s: no backend attribute in %v", m, s.Attributes)
		}
	}
	exp.Reset()
	callAll(t, context.Background(), st)
	if n := len(exp.GetSpans()); n != 0 {
		t.Errorf("%d spans outside a traced request", n)
	}
}

// callAll calls each method of storage.Store but Close on st with zero
// arguments (and fn returning nil for Update), and returns their names.
func callAll(t *testing.T, ctx context.Context, st storage.Store) []string {
	t.Helper()
	typ := reflect.TypeFor[storage.Store]()
	v := reflect.ValueOf(st)
	var called []string
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		if m.Name == "Close" {
			continue
		}
		ft := m.Type
		args := make([]reflect.Value, ft.NumIn())
		for j := range args {
			args[j] = reflect.Zero(ft.In(j))
		}
		args[0] = reflect.ValueOf(ctx)
		if m.Name == "Update" {
			args[1] = reflect.ValueOf(func(storage.Writer) error { return nil })
		}
		out := v.MethodByName(m.Name).Call(args)
		if err, _ := out[len(out)-1].Interface().(error); err != nil && !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%s: %v", m.Name, err)
		}
		called = append(called, m.Name)
	}
	return called
}

// TestStore_ErrorKind: a failing transaction marks its span failed by
// kind, never with the error's text.
func TestStore_ErrorKind(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr := telemetry.New(exp)
	st := tr.Store(memory.New(), "memory")
	ctx, end := tr.StartRequest(t.Context(), httptest.NewRequest(http.MethodGet, "/", nil), "id")
	err := st.Update(ctx, func(storage.Writer) error { return errors.New("key tok_secret broke") })
	end("/", http.StatusInternalServerError)
	if err == nil {
		t.Fatal("Update swallowed the error")
	}
	var upd tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.Name == "storage.Update" {
			upd = s
		}
	}
	if upd.Status.Code.String() != "Error" || strings.Contains(upd.Status.Description, "tok_secret") {
		t.Errorf("Update span status %v", upd.Status)
	}
	for _, kv := range upd.Attributes {
		if strings.Contains(kv.Value.Emit(), "tok_secret") {
			t.Errorf("attribute %s leaks the error text", kv.Key)
		}
	}
}

// TestLogHandler: a record logged with a span's context carries its trace
// and span ids; one without a span carries neither.
func TestLogHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(telemetry.LogHandler(slog.NewJSONHandler(&buf, nil))).With("k", "v")
	tid, _ := trace.TraceIDFromHex(traceID)
	sid, _ := trace.SpanIDFromHex(spanID)
	ctx := trace.ContextWithSpanContext(t.Context(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid}))
	log.InfoContext(ctx, "traced")
	log.InfoContext(t.Context(), "untraced")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	var traced, untraced map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &traced)
	_ = json.Unmarshal([]byte(lines[1]), &untraced)
	if traced["trace_id"] != traceID || traced["span_id"] != spanID || traced["k"] != "v" {
		t.Errorf("traced line %s", lines[0])
	}
	if _, ok := untraced["trace_id"]; ok {
		t.Errorf("untraced line %s has a trace_id", lines[1])
	}
}

// TestForeignSpansScrubbed: a span another library starts under Vigil's
// (through the span in the context, as fosite does) keeps its name, parent
// and status code but loses its attributes, events and status text.
func TestForeignSpansScrubbed(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr := telemetry.New(exp)
	ctx, end := tr.StartRequest(t.Context(), httptest.NewRequest(http.MethodPost, "/oauth2/token", nil), "id")
	_, lib := trace.SpanFromContext(ctx).TracerProvider().Tracer("github.com/ory/fosite").Start(ctx, "Fosite.NewAccessRequest")
	lib.SetAttributes(attribute.String("error.debug", "assertion eyJhbGciOi.secret"))
	lib.AddEvent("exception", trace.WithAttributes(attribute.String("exception.message", "eyJhbGciOi.secret")))
	lib.SetStatus(codes.Error, "eyJhbGciOi.secret")
	lib.End()
	end("/oauth2/token", http.StatusBadRequest)
	var got tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.Name == "Fosite.NewAccessRequest" {
			got = s
		}
	}
	if got.Name == "" || !got.Parent.IsValid() || got.Status.Code != codes.Error {
		t.Fatalf("library span %+v: want it kept, with its parent and status code", got)
	}
	if len(got.Attributes) != 0 || len(got.Events) != 0 || got.Status.Description != "" {
		t.Errorf("library span keeps attributes %v, events %v, status text %q", got.Attributes, got.Events, got.Status.Description)
	}
}

// TestFromEnv_UnreachableCollector: a collector that cannot be reached
// costs the spans, not the shutdown: the failure is logged as a warning.
func TestFromEnv_UnreachableCollector(t *testing.T) {
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", gone.URL)
	var logs bytes.Buffer
	tr, err := telemetry.FromEnv(t.Context(), os.Getenv, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	_, end := tr.StartRequest(t.Context(), httptest.NewRequest(http.MethodGet, "/", nil), "id")
	end("/", http.StatusOK)
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown = %v, want nil", err)
	}
	if !strings.Contains(logs.String(), `"level":"WARN","msg":"tracing failed"`) {
		t.Errorf("no warning logged: %s", logs.String())
	}
}

// TestFromEnv_UnknownSampler: the SDK falls back to its default sampler for
// a sampler it does not know, and says so in the log.
func TestFromEnv_UnknownSampler(t *testing.T) {
	rc := otlptest.NewReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rc.URL)
	t.Setenv("OTEL_TRACES_SAMPLER", "coin_flip")
	var logs bytes.Buffer
	tr, err := telemetry.FromEnv(t.Context(), os.Getenv, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	_, end := tr.StartRequest(t.Context(), httptest.NewRequest(http.MethodGet, "/", nil), "id")
	end("/", http.StatusOK)
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `"msg":"tracing failed"`) || len(rc.Spans()) != 1 {
		t.Errorf("unknown sampler: %d spans exported, log %s; want 1 (default sampler) and a warning", len(rc.Spans()), logs.String())
	}
}

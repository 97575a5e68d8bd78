package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-auth/vigil/internal/telemetry"
	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage/memory"
)

// Incoming W3C trace context of the introspection call.
const (
	incomingTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	incomingSpanID  = "00f067aa0ba902b7"
)

// TestTracing_Introspection: an introspection request is a server span,
// the child of the caller's traceparent, named by its route; its storage
// transactions and its risk decision are children of it; no attribute
// holds the token or a secret; every log line of the request carries the
// trace and span ids and the request id.
func TestTracing_Introspection(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr := telemetry.New(exp)
	t.Cleanup(func() { _ = tr.Shutdown(t.Context()) })
	var logs bytes.Buffer
	log := tr.Logger(slog.New(web.LogHandler{Handler: slog.NewJSONHandler(&logs, nil)}))
	h := benchServerWith(t, memory.New(), Deps{Tracing: tr, Log: log})

	tok := call(t, h, PathToken, "agent", url.Values{"grant_type": {"client_credentials"}, "scope": {"a"}})["access_token"].(string)
	exp.Reset()
	logs.Reset()
	got := call(t, h, PathIntrospect, "rs", url.Values{"token": {tok}},
		"traceparent", "00-"+incomingTraceID+"-"+incomingSpanID+"-01", web.RequestIDHeader, "req-42")
	if got["active"] != true {
		t.Fatalf("introspection = %v, want active", got)
	}

	spans := exp.GetSpans()
	srv := findSpan(t, spans, "POST "+PathIntrospect)
	if srv.SpanKind != trace.SpanKindServer || srv.Parent.TraceID().String() != incomingTraceID ||
		srv.Parent.SpanID().String() != incomingSpanID || !srv.Parent.IsRemote() {
		t.Errorf("server span kind %v parent %v, want server, child of %s-%s", srv.SpanKind, srv.Parent, incomingTraceID, incomingSpanID)
	}
	wantAttrs(t, srv, map[string]string{"http.route": PathIntrospect, "http.response.status_code": "200",
		"http.request.method": "POST", "vigil.request_id": "req-42"})

	var storageSpans int
	for _, s := range spans {
		if strings.HasPrefix(s.Name, "storage.") {
			storageSpans++
			if s.Parent.SpanID() != srv.SpanContext.SpanID() {
				t.Errorf("%s: parent %s, want the request span", s.Name, s.Parent.SpanID())
			}
			wantAttrs(t, s, map[string]string{"vigil.storage.backend": "memory"})
		}
	}
	if storageSpans == 0 {
		t.Errorf("no storage span among %v", names(spans))
	}
	dec := findSpan(t, spans, "risk.decision")
	if dec.Parent.SpanID() != srv.SpanContext.SpanID() {
		t.Errorf("risk.decision: parent %s, want the request span", dec.Parent.SpanID())
	}
	wantAttrs(t, dec, map[string]string{"vigil.risk.op": "introspect", "vigil.risk.action": "allow", "vigil.risk.level": "none"})

	secrets := []string{tok, benchSecret("rs"), benchSecret("agent")}
	for _, s := range spans {
		for _, kv := range s.Attributes {
			for _, secret := range secrets {
				if strings.Contains(kv.Value.Emit(), secret) || strings.Contains(s.Name, secret) {
					t.Errorf("span %s attribute %s holds a token or secret", s.Name, kv.Key)
				}
			}
		}
	}
	checkLogLines(t, &logs, srv.SpanContext)
}

// checkLogLines wants every log line to carry the request's trace id, its
// span id and its request id, and the access log among them.
func checkLogLines(t *testing.T, logs *bytes.Buffer, sc trace.SpanContext) {
	t.Helper()
	var access bool
	sc2 := bufio.NewScanner(logs)
	for sc2.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc2.Bytes(), &line); err != nil {
			t.Fatalf("log line %q: %v", sc2.Text(), err)
		}
		if line["trace_id"] != sc.TraceID().String() || line["span_id"] != sc.SpanID().String() || line["request_id"] != "req-42" {
			t.Errorf("log line %s lacks the request's trace_id %s, span_id %s or request_id", sc2.Text(), sc.TraceID(), sc.SpanID())
		}
		access = access || line["msg"] == "request"
	}
	if !access {
		t.Error("no access log line")
	}
}

func findSpan(t *testing.T, spans tracetest.SpanStubs, name string) tracetest.SpanStub {
	t.Helper()
	for _, s := range spans {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no span %q among %v", name, names(spans))
	return tracetest.SpanStub{}
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

func wantAttrs(t *testing.T, s tracetest.SpanStub, want map[string]string) {
	t.Helper()
	have := map[attribute.Key]string{}
	for _, kv := range s.Attributes {
		have[kv.Key] = kv.Value.Emit()
	}
	for k, v := range want {
		if have[attribute.Key(k)] != v {
			t.Errorf("span %s: %s = %q, want %q", s.Name, k, have[attribute.Key(k)], v)
		}
	}
}

// TestTracing_OffByDefault: without OTEL_* variables an instance has no
// tracing: the middleware gets no tracer, and the handlers get the store and
// the risk engine themselves, unwrapped.
func TestTracing_OffByDefault(t *testing.T) {
	tr, err := openTracing(t.Context(), options([]Option{WithGetenv(func(string) string { return "" })}))
	if tr != nil || err != nil {
		t.Fatalf("openTracing with an empty environment = %v, %v; want nil, nil", tr, err)
	}
	on := func(k string) string {
		if k == "OTEL_EXPORTER_OTLP_ENDPOINT" {
			return "http://127.0.0.1:4318"
		}
		return ""
	}
	if tr, err := openTracing(t.Context(), options([]Option{WithGetenv(on), WithTracing(nil)})); tr != nil || err != nil {
		t.Errorf("WithTracing(nil) with an endpoint set = %v, %v; want nil, nil (the option wins)", tr, err)
	}
	s := &Server{d: Deps{Store: memory.New(), Tracing: tr}}
	r := &countingRisk{}
	if s.tracer() != nil || s.tracedStore() != s.d.Store || s.tracedRisk(r) != Risk(r) {
		t.Errorf("tracing off: tracer %v, store wrapped %v, risk wrapped %v", s.tracer(), s.tracedStore() != s.d.Store, s.tracedRisk(r) != Risk(r))
	}
	if err := s.shutdownTracing(); err != nil {
		t.Errorf("shutdown without tracing: %v", err)
	}
}

type countingRisk struct{ n int }

func (c *countingRisk) Observe(risk.Event) risk.Decision { c.n++; return risk.Decision{} }

// TestTracedRisk_SameDecision: the traced engine gives the decision of the
// engine it wraps, traced or not.
func TestTracedRisk_SameDecision(t *testing.T) {
	want := risk.Decision{Score: 40, Level: risk.LevelMedium, Action: risk.StepUp, Reasons: []risk.Reason{{Code: "net.new_network"}}}
	exp := tracetest.NewInMemoryExporter()
	tr := telemetry.New(exp)
	r := tracedRisk{Risk: fakeEngine{d: want}, t: tr}
	ctx, end := tr.StartRequest(t.Context(), httptest.NewRequest(http.MethodPost, "/oauth2/token", nil), "id")
	got := r.ObserveContext(ctx, risk.Event{Op: risk.OpToken})
	end("/oauth2/token", http.StatusOK)
	if got.Score != want.Score || got.Action != want.Action || got.Level != want.Level || len(got.Reasons) != 1 {
		t.Errorf("ObserveContext = %+v, want %+v", got, want)
	}
	dec := findSpan(t, exp.GetSpans(), "risk.decision")
	wantAttrs(t, dec, map[string]string{"vigil.risk.op": "token", "vigil.risk.level": "medium", "vigil.risk.action": "step_up",
		"vigil.risk.score": "40", "vigil.risk.reasons": `["net.new_network"]`})
}

// BenchmarkIntrospectionTracing measures what tracing costs an
// introspection: off (the default), and on with every span recorded (the
// request, its storage reads and the risk decision) and handed to an
// exporter that discards them.
func BenchmarkIntrospectionTracing(b *testing.B) {
	for _, bc := range []struct {
		name string
		tr   *telemetry.Tracing
	}{{"off", nil}, {"on", telemetry.New(tracetest.NewNoopExporter())}} {
		b.Run(bc.name, func(b *testing.B) {
			h := benchServerWith(b, memory.New(), Deps{Tracing: bc.tr})
			tok := call(b, h, PathToken, "agent", url.Values{"grant_type": {"client_credentials"}})["access_token"].(string)
			f := url.Values{"token": {tok}, "tool": {"t.get"}, "ip": {"10.0.0.1"}}
			b.ReportAllocs()
			for b.Loop() {
				if call(b, h, PathIntrospect, "rs", f)["active"] != true {
					b.Fatal("inactive")
				}
			}
		})
	}
}

package server_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-auth/vigil/internal/server"
	"github.com/vigil-auth/vigil/internal/server/servertest"
	"github.com/vigil-auth/vigil/internal/telemetry/otlptest"
)

// TestTracing_ExportsToOTLPCollector is the operator's path end to end:
// OTEL_EXPORTER_OTLP_ENDPOINT names an OTLP/HTTP collector, Vigil is opened
// as vigil serve opens it, serves a token request carrying a traceparent,
// and is closed; the collector then holds the request span (child of the
// caller's span, service.name vigil) and its storage span, and the
// access log line carries the trace id.
func TestTracing_ExportsToOTLPCollector(t *testing.T) {
	rc := otlptest.NewReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rc.URL)
	base := servertest.Env("")
	env := func(k string) string {
		if strings.HasPrefix(k, "OTEL_") {
			return os.Getenv(k)
		}
		return base(k)
	}
	var logs syncBuffer
	s := servertest.Settings()
	s.Data, s.Issuer = t.TempDir(), "http://vigil.test"
	in, err := server.Open(t.Context(), s, server.WithGetenv(env),
		server.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(in.Handler())
	req, _ := http.NewRequest(http.MethodPost, ts.URL+server.PathToken, strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	req.SetBasicAuth("nobody", "wrong-secret-0123456789")
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ts.Close()
	if err := in.Close(); err != nil { // flushes the spans
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("token request: %d, want 401", resp.StatusCode)
	}
	var srv, st *otlptest.Span
	ids := map[string]bool{}
	for _, sp := range rc.Spans() {
		ids[hex.EncodeToString(sp.SpanId)] = true
		for _, kv := range sp.Attributes {
			if strings.Contains(kv.String(), "wrong-secret") {
				t.Errorf("span %s attribute %s holds the secret", sp.Name, kv.Key)
			}
		}
		switch sp.Name {
		case "POST " + server.PathToken:
			srv = &sp
		case "storage.GetClient":
			st = &sp
		}
	}
	if srv == nil || st == nil {
		t.Fatalf("collector received %d spans, want the request span and storage.GetClient", len(rc.Spans()))
	}
	if hex.EncodeToString(srv.TraceId) != "4bf92f3577b34da6a3ce929d0e0e4736" || hex.EncodeToString(srv.ParentSpanId) != "00f067aa0ba902b7" ||
		srv.Service != "vigil" || srv.Attr("http.response.status_code") == "" {
		t.Errorf("request span: trace %x parent %x service %q", srv.TraceId, srv.ParentSpanId, srv.Service)
	}
	// The storage span is in the request's trace, under the request span or
	// under a span fosite started in it: the tree the collector sees is whole.
	if !bytes.Equal(st.TraceId, srv.TraceId) || !ids[hex.EncodeToString(st.ParentSpanId)] || st.Attr("vigil.storage.backend") != "bolt" {
		t.Errorf("storage span: trace %x parent %x (not received?), backend %q", st.TraceId, st.ParentSpanId, st.Attr("vigil.storage.backend"))
	}
	if !accessLogTraced(t, logs.String(), "4bf92f3577b34da6a3ce929d0e0e4736") {
		t.Errorf("no access log line with the trace id in:\n%s", logs.String())
	}
}

func accessLogTraced(t *testing.T, logs, traceID string) bool {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if line["msg"] == "request" && line["trace_id"] == traceID && line["span_id"] != nil {
			return true
		}
	}
	return false
}

// syncBuffer is a bytes.Buffer safe for the server's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

package web

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// observed records what the middleware reports.
type observed struct {
	mu     sync.Mutex
	routes []string
	codes  []int
}

func (o *observed) ObserveRequest(route string, status int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.routes, o.codes = append(o.routes, route), append(o.codes, status)
}

func text(s string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(s + Var(r, "id"))) }
}

func router() *Router {
	rt := NewRouter()
	rt.Handle("/oauth2/token", text("token"), http.MethodPost)
	rt.HandleFunc("/health", text("health"))
	rt.Handle("/items/{id}", text("item:"), http.MethodGet)
	rt.Handle("/items/all", text("all"), http.MethodGet) // after a template: mux order decides
	rt.HandleFunc("/boom", func(http.ResponseWriter, *http.Request) { panic("deliberate") })
	return rt
}

func TestRouting(t *testing.T) {
	obs := &observed{}
	h := Middleware(router(), slog.New(slog.DiscardHandler), obs, time.Now, nil)
	cases := []struct {
		method, path string
		code         int
		body, route  string
	}{
		{"POST", "/oauth2/token", 200, "token", "/oauth2/token"},
		{"GET", "/oauth2/token", 405, "", "other"},
		{"GET", "/health", 200, "health", "/health"},
		{"DELETE", "/health", 200, "health", "/health"},
		{"GET", "/items/42", 200, "item:42", "/items/{id}"},
		{"GET", "/items/all", 200, "item:all", "/items/{id}"},
		{"GET", "/nothing", 404, "", "other"},
		{"GET", "/boom", 500, "", "/boom"},
		{"GET", "/health/", 404, "", "other"},
	}
	for _, tc := range cases {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.code || (tc.body != "" && rec.Body.String() != tc.body) {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, rec.Code, rec.Body, tc.code, tc.body)
		}
		if id := rec.Header().Get("X-Request-Id"); !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(id) {
			t.Errorf("%s %s: request id %q", tc.method, tc.path, id)
		}
		if got := obs.routes[len(obs.routes)-1]; got != tc.route {
			t.Errorf("%s %s: route label %q, want %q", tc.method, tc.path, got, tc.route)
		}
	}
}

func TestRequestIDsDiffer(t *testing.T) {
	h := Middleware(router(), slog.New(slog.DiscardHandler), nil, time.Now, nil)
	seen := map[string]bool{}
	for range 1000 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/health", nil))
		id := rec.Header().Get("X-Request-Id")
		if seen[id] {
			t.Fatalf("request id %s repeated", id)
		}
		seen[id] = true
	}
}

func TestLogHandlerAddsRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(LogHandler{slog.NewTextHandler(&buf, nil)})
	rt := NewRouter()
	rt.HandleFunc("/x", func(w http.ResponseWriter, r *http.Request) {
		log.InfoContext(r.Context(), "inside")
		if RequestID(r.Context()) == "" || RequestID(context.Background()) != "" {
			t.Error("RequestID")
		}
	})
	rec := httptest.NewRecorder()
	Middleware(rt, log, nil, time.Now, nil).ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if id := rec.Header().Get("X-Request-Id"); !strings.Contains(buf.String(), "request_id="+id) {
		t.Errorf("log %q lacks request_id=%s", buf.String(), id)
	}
}

type errorsSeen struct {
	observed
	errs []string
}

func (o *errorsSeen) OAuthError(route, code string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.errs = append(o.errs, route+" "+code)
}

// TestAccessLogRequestIDAndErrors: the access log is at info with seconds,
// a sane incoming X-Request-Id is kept (an insane one replaced), and the
// OAuth error code of an error answer reaches the observer.
func TestAccessLogRequestIDAndErrors(t *testing.T) {
	rt := NewRouter()
	rt.HandleFunc("/oauth2/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"no"}`))
	})
	var logs bytes.Buffer
	obs := &errorsSeen{}
	h := Middleware(rt, slog.New(LogHandler{Handler: slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})}), obs, time.Now, nil)
	for _, tt := range []struct{ sent, want string }{
		{"req-123_abc.DEF", "req-123_abc.DEF"},
		{"bad id\nwith newline", ""},
		{strings.Repeat("a", 65), ""},
	} {
		logs.Reset()
		req := httptest.NewRequest("POST", "/oauth2/token", nil)
		req.Header.Set(RequestIDHeader, tt.sent)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := rec.Header().Get(RequestIDHeader)
		if (tt.want != "" && got != tt.want) || (tt.want == "" && (got == tt.sent || !validID(got))) {
			t.Errorf("sent %q, answered %q", tt.sent, got)
		}
		line := logs.String()
		if !strings.Contains(line, `"level":"INFO"`) || !strings.Contains(line, `"duration_s":`) || !strings.Contains(line, `"request_id":"`+got+`"`) {
			t.Errorf("access log line = %s", line)
		}
	}
	if len(obs.errs) != 3 || obs.errs[0] != "/oauth2/token invalid_grant" {
		t.Errorf("OAuth errors seen = %v", obs.errs)
	}
}

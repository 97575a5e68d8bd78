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
	h := Middleware(router(), slog.New(slog.DiscardHandler), obs, time.Now)
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
	h := Middleware(router(), slog.New(slog.DiscardHandler), nil, time.Now)
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
	Middleware(rt, log, nil, time.Now).ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if id := rec.Header().Get("X-Request-Id"); !strings.Contains(buf.String(), "request_id="+id) {
		t.Errorf("log %q lacks request_id=%s", buf.String(), id)
	}
}

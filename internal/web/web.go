// Package web is Vigil's HTTP plumbing: a router over gorilla/mux (the only
// package that imports it), request ids carried in the context and in every
// log line, panic recovery, and per-route metrics. It imports internal/oauth
// only.
package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/vigil-auth/vigil/internal/oauth"
)

// Router maps method and path templates ("/admin/clients/{id}") to handlers.
type Router struct {
	m *mux.Router
}

// NewRouter returns an empty router that answers 404 for unknown paths and
// 405 for known paths with another method.
func NewRouter() *Router {
	// Paths are not cleaned: an audience such as https://x in a path must
	// not be redirected to https:/x.
	m := mux.NewRouter().SkipClean(true)
	m.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writePlain(w, http.StatusNotFound)
	})
	m.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writePlain(w, http.StatusMethodNotAllowed)
	})
	return &Router{m: m}
}

// Handle routes requests for path with one of methods (any method when none
// is given) to h.
func (rt *Router) Handle(path string, h http.Handler, methods ...string) {
	r := rt.m.Handle(path, h)
	if len(methods) > 0 {
		r.Methods(methods...)
	}
}

// HandleFunc is Handle for a function.
func (rt *Router) HandleFunc(path string, f http.HandlerFunc, methods ...string) {
	rt.Handle(path, f, methods...)
}

// ServeHTTP dispatches r.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) { rt.m.ServeHTTP(w, r) }

// Var returns the path variable name of r ("" if absent).
func Var(r *http.Request, name string) string { return mux.Vars(r)[name] }

// Route returns the path template r matched, for metrics labels ("" if none).
func Route(r *http.Request) string {
	if cr := mux.CurrentRoute(r); cr != nil {
		if t, err := cr.GetPathTemplate(); err == nil {
			return t
		}
	}
	return ""
}

func writePlain(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(http.StatusText(status) + "\n"))
}

type ctxKey struct{}

// RequestID returns the request id stored in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// Observer records one finished request; a metrics registry implements it.
type Observer interface {
	ObserveRequest(route string, status int, d time.Duration)
}

// Middleware wraps h with request ids (X-Request-Id), panic recovery (a
// panic becomes a logged server_error, never a dropped connection), an access
// log line, and the observer. Logs never include bodies or headers, so no
// token or secret reaches them.
func Middleware(h http.Handler, log *slog.Logger, obs Observer, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := now()
		id := newID()
		w.Header().Set("X-Request-Id", id)
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, id))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				log.ErrorContext(r.Context(), "panic serving request", "path", r.URL.Path, "panic", p)
				if !sw.wrote {
					oauth.WriteError(sw, r, log, oauth.Errorf(oauth.ServerError, "internal error"))
				}
			}
			d := now().Sub(start)
			if obs != nil {
				obs.ObserveRequest(routeOf(r), sw.code(), d)
			}
			log.DebugContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path, "status", sw.code(), "duration", d)
		}()
		h.ServeHTTP(sw, r)
	})
}

func routeOf(r *http.Request) string {
	if rt := Route(r); rt != "" {
		return rt
	}
	return "other"
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// LogHandler wraps an slog.Handler so every record logged with a request's
// context carries its request_id.
type LogHandler struct{ slog.Handler }

// Handle adds request_id from ctx, then delegates.
func (h LogHandler) Handle(ctx context.Context, rec slog.Record) error {
	if id := RequestID(ctx); id != "" {
		rec.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, rec)
}

// WithAttrs keeps the wrapper around the derived handler.
func (h LogHandler) WithAttrs(a []slog.Attr) slog.Handler { return LogHandler{h.Handler.WithAttrs(a)} }

// WithGroup keeps the wrapper around the derived handler.
func (h LogHandler) WithGroup(n string) slog.Handler { return LogHandler{h.Handler.WithGroup(n)} }

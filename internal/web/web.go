// Package web is Vigil's HTTP plumbing: a router over gorilla/mux (the only
// package that imports it), request ids carried in the context and in every
// log line, panic recovery, and per-route metrics. It imports internal/oauth
// only.
package web

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/vigil-auth/vigil/internal/oauth"
)

// Router maps method and path templates ("/admin/clients/{id}") to handlers.
// Paths without variables registered before any template are served from a
// map, without gorilla/mux's matching; the rest go through mux, in
// registration order.
type Router struct {
	m     *mux.Router
	exact map[string]exactRoute
	// templated is set once a path with variables is registered: later
	// exact paths go through mux, so registration order still decides.
	templated bool
}

// exactRoute is a route whose path has no variables.
type exactRoute struct {
	h       http.Handler
	methods []string
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
	return &Router{m: m, exact: map[string]exactRoute{}}
}

// Handle routes requests for path with one of methods (any method when none
// is given) to h.
func (rt *Router) Handle(path string, h http.Handler, methods ...string) {
	h = labeled{h: h, route: path}
	r := rt.m.Handle(path, h)
	if len(methods) > 0 {
		r.Methods(methods...)
	}
	switch {
	case strings.Contains(path, "{"):
		rt.templated = true
	case !rt.templated:
		if _, dup := rt.exact[path]; !dup {
			rt.exact[path] = exactRoute{h: h, methods: methods}
		}
	}
}

// labeled records the route template of the request it serves, for the
// access log and the metrics.
type labeled struct {
	h     http.Handler
	route string
}

func (l labeled) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if info, ok := r.Context().Value(ctxKey{}).(*requestInfo); ok {
		info.route = l.route
	}
	l.h.ServeHTTP(w, r)
}

// HandleFunc is Handle for a function.
func (rt *Router) HandleFunc(path string, f http.HandlerFunc, methods ...string) {
	rt.Handle(path, f, methods...)
}

// ServeHTTP dispatches r.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if e, ok := rt.exact[r.URL.Path]; ok && (len(e.methods) == 0 || slices.Contains(e.methods, r.Method)) {
		e.h.ServeHTTP(w, r)
		return
	}
	rt.m.ServeHTTP(w, r) // templates, 404 and 405
}

// Walk calls fn with the path template and methods (nil: any method) of
// every route, in registration order, and stops at fn's first error.
func (rt *Router) Walk(fn func(path string, methods []string) error) error {
	return rt.m.Walk(func(r *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, err := r.GetPathTemplate()
		if err != nil {
			return nil // a route without a path (none are registered here)
		}
		methods, _ := r.GetMethods()
		return fn(path, methods)
	})
}

// Var returns the path variable name of r ("" if absent).
func Var(r *http.Request, name string) string { return mux.Vars(r)[name] }

// Route returns the path template r matched, for metrics labels ("" if none).
func Route(r *http.Request) string {
	if info, ok := r.Context().Value(ctxKey{}).(*requestInfo); ok && info.route != "" {
		return info.route
	}
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

// requestInfo is what Middleware keeps about a request: its id, and the
// route template the router matched (set while routing).
type requestInfo struct {
	id, route string
}

// RequestID returns the request id stored in ctx, or "".
func RequestID(ctx context.Context) string {
	if info, ok := ctx.Value(ctxKey{}).(*requestInfo); ok {
		return info.id
	}
	return ""
}

// Observer records one finished request; a metrics registry implements it.
type Observer interface {
	ObserveRequest(route string, status int, d time.Duration)
}

// ErrorObserver, when the Observer implements it, also records the OAuth
// error code ("error" member) of each error answer, by route.
type ErrorObserver interface {
	OAuthError(route, code string)
}

// Tracer starts the trace span of a request; internal/telemetry implements
// it. StartRequest returns ctx carrying the span and a function that ends it
// once the route template ("" when none matched) and the status are known.
type Tracer interface {
	StartRequest(ctx context.Context, r *http.Request, requestID string) (context.Context, func(route string, status int))
}

// RequestIDHeader carries the request id: taken from the request when it
// is a sane id (see validID), else generated; always echoed in the answer.
const RequestIDHeader = "X-Request-Id"

// Middleware wraps h with request ids (X-Request-Id, honoured when the
// caller sends one), panic recovery (a panic becomes a logged server_error,
// never a dropped connection), an access log line at info level (method,
// route, path, status, duration in seconds), the observer, and, when tr is
// not nil, a trace span whose context every log line of the request (the
// access log included) is written with. Logs never include bodies or
// headers, so no token or secret reaches them.
func Middleware(h http.Handler, log *slog.Logger, obs Observer, now func() time.Time, tr Tracer) http.Handler {
	eobs, _ := obs.(ErrorObserver)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := now()
		id := r.Header.Get(RequestIDHeader)
		if !validID(id) {
			id = newID()
		}
		info := &requestInfo{id: id}
		w.Header().Set(RequestIDHeader, info.id)
		ctx := context.WithValue(r.Context(), ctxKey{}, info)
		endSpan := func(string, int) {}
		if tr != nil {
			ctx, endSpan = tr.StartRequest(ctx, r, id)
		}
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				log.ErrorContext(r.Context(), "panic serving request", "path", r.URL.Path, "panic", p)
				if !sw.wrote {
					oauth.WriteError(sw, r, log, oauth.Errorf(oauth.ServerError, "internal error"))
				}
			}
			d := now().Sub(start)
			route := routeOf(r)
			if obs != nil {
				obs.ObserveRequest(route, sw.code(), d)
			}
			if eobs != nil && sw.errCode != "" {
				eobs.OAuthError(route, sw.errCode)
			}
			log.InfoContext(r.Context(), "request", "method", r.Method, "route", route, "path", r.URL.Path,
				"status", sw.code(), "duration_s", d.Seconds())
			endSpan(Route(r), sw.code())
		}()
		h.ServeHTTP(sw, r)
	})
}

// validID accepts a caller's request id of 1 to 64 characters of letters,
// digits, '-', '_' and '.', so it cannot forge log lines or grow without
// bound.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

func routeOf(r *http.Request) string {
	if rt := Route(r); rt != "" {
		return rt
	}
	return "other"
}

// newID returns 64 random bits in hex. Request ids need to be unique, not
// secret: math/rand/v2's generator (per thread, seeded by the OS) makes them
// without a system call.
func newID() string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], rand.Uint64())
	return hex.EncodeToString(b[:])
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
	// errCode is the "error" member of a JSON error answer (status 400 or
	// more), read from its first write.
	errCode string
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	first := !w.wrote
	if first {
		w.status, w.wrote = http.StatusOK, true
	}
	if w.status >= 400 && w.errCode == "" && strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil {
			w.errCode = e.Error
		}
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

// Package ceiling is the reference point of Vigil's benchmarks: the
// smallest useful net/http handler. It parses the form of a POST, as every
// OAuth endpoint must, and answers a fixed introspection-shaped JSON
// document: no authentication, no storage, no routing, no logging. Measured
// with the same load generator in the same run, it shows how much of a
// result is HTTP on this machine and how much is the server under test.
package ceiling

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Answer is the fixed body, shaped and sized like an active introspection
// answer.
const Answer = `{"active":true,"scope":"bench.read","client_id":"bench-agent","sub":"bench-agent",` +
	`"aud":"https://bench.vigil.test","iss":"http://127.0.0.1","exp":1900000000,"iat":1800000000,` +
	`"nbf":1800000000,"jti":"0123456789abcdefghijklmnopqrstuvwxyzABCDEFG","token_type":"Bearer",` +
	`"sid":"ses_0123456789abcdefghijkl","risk":{"level":"none","score":0,"action":"allow","reasons":[]}}`

var answer = []byte(Answer)

// Handler parses the request's form and writes Answer; a malformed form
// gets 400.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "malformed form", http.StatusBadRequest)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		_, _ = w.Write(answer)
	})
}

// Serve serves Handler on ln, with the HTTP server limits Vigil itself
// uses, until ctx is done; then it shuts down and returns nil.
func Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 16 << 10}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := hs.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

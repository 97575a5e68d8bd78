package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Scenario is one workload. Prepare runs once before the load (issuing the
// tokens the workload needs); then every worker gets its own stepper.
type Scenario interface {
	// Name is the scenario's short name ("introspect").
	Name() string
	// Describe says what the workload does and how it spreads load.
	Describe() string
	prepare(ctx context.Context, p *prep) error
	stepper(worker int) stepper
	// ops lists the operations it records, in report order.
	ops() []string
}

// prep is what Prepare may use: the target and a connection budget.
type prep struct {
	target *Target
	conns  int
	load   Load
}

// parallel runs fn for every i in [0, n) on up to conns connections and
// returns the first error.
func (p *prep) parallel(ctx context.Context, n int, fn func(ctx context.Context, c *Conn, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(p.conns, max(n, 1)) {
		wg.Go(func() {
			c := NewConn(p.target, p.load.Timeout)
			defer c.Close()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, c, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// issueMany issues n access tokens by client_credentials, spread over the
// given agents (token i belongs to agents[i % len]).
func (p *prep) issueMany(ctx context.Context, e *Env, agents []Cred, n int) ([]string, error) {
	toks := make([]string, n)
	err := p.parallel(ctx, n, func(ctx context.Context, c *Conn, i int) error {
		tok, err := e.issue(ctx, c, agents[i%len(agents)])
		if err != nil {
			return fmt.Errorf("issuing token %d of %d: %w", i+1, n, err)
		}
		toks[i] = tok
		return nil
	})
	return toks, err
}

// call sends req and reports the answer, or records the transport failure
// of op and returns false.
func call(ctx context.Context, c *Conn, r *recorder, op string, req *Request, due time.Time) (Response, bool) {
	resp, err := c.Do(ctx, req)
	if err != nil {
		r.fail(op, due, time.Now(), transportFailure(err))
		return resp, false
	}
	return resp, true
}

// Operation names.
const (
	opToken      = "token"
	opIntrospect = "introspect"
	opExchange   = "exchange"
	opCeiling    = "ceiling"
)

// TokenScenario measures client_credentials issuance: every request opens
// a new session and commits it durably.
type TokenScenario struct{ Env *Env }

// Name implements Scenario.
func (s *TokenScenario) Name() string { return "client_credentials" }

// Describe implements Scenario.
func (s *TokenScenario) Describe() string {
	return fmt.Sprintf("client_credentials issuance (client_secret_basic), each request a new session, spread over %d clients", len(s.Env.Agents))
}

func (s *TokenScenario) prepare(context.Context, *prep) error { return nil }

func (s *TokenScenario) ops() []string { return []string{opToken} }

func (s *TokenScenario) stepper(w int) stepper {
	return &tokenStepper{req: s.Env.ccRequest(s.Env.Agents[w%len(s.Env.Agents)])}
}

type tokenStepper struct{ req *Request }

func (t *tokenStepper) step(ctx context.Context, c *Conn, r *recorder, due time.Time) {
	resp, ok := call(ctx, c, r, opToken, t.req, due)
	if !ok {
		return
	}
	end := time.Now()
	switch {
	case resp.Status != 200:
		r.fail(opToken, due, end, failure(resp))
	case jsonString(resp.Body, "access_token") == "":
		r.fail(opToken, due, end, "no access_token")
	default:
		r.ok(opToken, due, end, "", "")
	}
}

// CeilingScenario sends introspection-shaped requests to a trivial handler
// that parses the form and answers fixed JSON: the most any server written
// on net/http can do on this machine under this load generator.
type CeilingScenario struct {
	Target *Target
	Path   string
	RS     Cred
}

// Name implements Scenario.
func (s *CeilingScenario) Name() string { return "ceiling" }

// Describe implements Scenario.
func (s *CeilingScenario) Describe() string {
	return "trivial net/http handler: parse the form, answer fixed introspection JSON (the ceiling)"
}

func (s *CeilingScenario) prepare(context.Context, *prep) error { return nil }

func (s *CeilingScenario) ops() []string { return []string{opCeiling} }

func (s *CeilingScenario) stepper(int) stepper {
	e := Env{IntrospectPath: s.Path}
	return &ceilingStepper{req: e.introspectRequest(s.RS, "vgl_at_ceiling-probe-0123456789abcdefghijklmnopqrstu")}
}

type ceilingStepper struct{ req *Request }

func (t *ceilingStepper) step(ctx context.Context, c *Conn, r *recorder, due time.Time) {
	resp, ok := call(ctx, c, r, opCeiling, t.req, due)
	if !ok {
		return
	}
	if resp.Status != 200 {
		r.fail(opCeiling, due, time.Now(), failure(resp))
		return
	}
	r.ok(opCeiling, due, time.Now(), "", "")
}

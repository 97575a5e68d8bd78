package loadgen

import (
	"context"
	"fmt"
	"time"
)

// ExchangeScenario measures RFC 8693 token exchange as an agent does it
// per tool call: the subject token is the agent's session token, the answer
// a narrower short-lived token. Load is spread over many sessions, as a
// fleet of agents would spread it, so that no session runs at a rate the
// risk engine would rightly call a flood.
type ExchangeScenario struct {
	Env *Env
	// Sessions is how many session tokens the exchanges are spread over
	// (default 20000).
	Sessions int

	reqs    []*Request
	workers int
}

// Name implements Scenario.
func (s *ExchangeScenario) Name() string { return "exchange" }

// Describe implements Scenario.
func (s *ExchangeScenario) Describe() string {
	return fmt.Sprintf("RFC 8693 exchange of a session token for a narrower token (audience %s), "+
		"round-robin over %d sessions of %d clients", s.Env.Audience, s.sessions(), len(s.Env.Agents))
}

func (s *ExchangeScenario) sessions() int {
	if s.Sessions <= 0 {
		return 20000
	}
	return s.Sessions
}

func (s *ExchangeScenario) ops() []string { return []string{opExchange} }

func (s *ExchangeScenario) prepare(ctx context.Context, p *prep) error {
	e := s.Env
	toks, err := p.issueMany(ctx, e, e.Agents, s.sessions())
	if err != nil {
		return err
	}
	s.workers = p.load.Connections
	s.reqs = make([]*Request, len(toks))
	for i, t := range toks {
		s.reqs[i] = e.exchangeRequest(e.Agents[i%len(e.Agents)], t)
	}
	return nil
}

// stepper starts worker w at its own share of the session pool and walks
// on from there, so every session is used about equally often and no two
// workers work the same session at once.
func (s *ExchangeScenario) stepper(w int) stepper {
	return &exchangeStepper{reqs: s.reqs, next: w * len(s.reqs) / max(s.workers, 1)}
}

type exchangeStepper struct {
	reqs []*Request
	next int
}

func (t *exchangeStepper) step(ctx context.Context, c *Conn, r *recorder, due time.Time) {
	req := t.reqs[t.next%len(t.reqs)]
	t.next++
	resp, ok := call(ctx, c, r, opExchange, req, due)
	if !ok {
		return
	}
	end := time.Now()
	switch {
	case resp.Status != 200:
		r.fail(opExchange, due, end, failure(resp))
	case jsonString(resp.Body, "access_token") == "":
		r.fail(opExchange, due, end, "no access_token")
	default:
		r.ok(opExchange, due, end, "", "")
	}
}

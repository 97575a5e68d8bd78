package loadgen

import (
	"context"
	"fmt"
	"time"
)

// AgentScenario is the mixed workload of a fleet of tool-calling agents:
// each worker plays agents one after another. An agent obtains a session
// token (client_credentials), then makes Calls tool calls; each tool call
// is a token exchange, and the resource server introspects the exchanged
// token Checks times. Then the agent ends and a new one starts, so every
// session carries the rate of one busy agent, not of the whole fleet.
type AgentScenario struct {
	Env *Env
	// Calls is the number of exchanges per session (default 8); Checks the
	// introspections per exchanged token (default 3).
	Calls, Checks int
}

// Agent operation names.
const (
	opAgentToken      = "agent: token"
	opAgentExchange   = "agent: exchange"
	opAgentIntrospect = "agent: introspect"
)

// Name implements Scenario.
func (s *AgentScenario) Name() string { return "agent" }

// Describe implements Scenario.
func (s *AgentScenario) Describe() string {
	return fmt.Sprintf("agent fleet: per session 1 client_credentials token, %d exchanges, %d introspections of each "+
		"exchanged token; a new session after that; %d clients", s.calls(), s.checks(), len(s.Env.Agents))
}

func (s *AgentScenario) calls() int {
	if s.Calls <= 0 {
		return 8
	}
	return s.Calls
}

func (s *AgentScenario) checks() int {
	if s.Checks < 0 {
		return 0
	}
	if s.Checks == 0 {
		return 3
	}
	return s.Checks
}

func (s *AgentScenario) ops() []string {
	return []string{opAgentToken, opAgentExchange, opAgentIntrospect}
}

func (s *AgentScenario) prepare(context.Context, *prep) error { return nil }

func (s *AgentScenario) stepper(w int) stepper {
	agent := s.Env.Agents[w%len(s.Env.Agents)]
	return &agentStepper{e: s.Env, agent: agent, rs: s.Env.RS[w%len(s.Env.RS)], cc: s.Env.ccRequest(agent),
		calls: s.calls(), checks: s.checks()}
}

// agentStepper is one worker's agent: a small state machine that sends the
// next request of the current agent's life on each step.
type agentStepper struct {
	e             *Env
	agent, rs     Cred
	cc            *Request
	calls, checks int
	exchange      *Request // nil: the agent needs a session token
	check         *Request // the current exchanged token's introspection
	made, pending int
}

func (a *agentStepper) step(ctx context.Context, c *Conn, r *recorder, due time.Time) {
	switch {
	case a.exchange == nil || a.made >= a.calls && a.pending == 0:
		a.session(ctx, c, r, due)
	case a.pending > 0:
		a.introspect(ctx, c, r, due)
	default:
		a.call(ctx, c, r, due)
	}
}

func (a *agentStepper) session(ctx context.Context, c *Conn, r *recorder, due time.Time) {
	a.exchange, a.made, a.pending = nil, 0, 0
	resp, ok := call(ctx, c, r, opAgentToken, a.cc, due)
	if !ok {
		return
	}
	tok, fail := tokenOf(resp)
	if fail != "" {
		r.fail(opAgentToken, due, time.Now(), fail)
		return
	}
	r.ok(opAgentToken, due, time.Now(), "", "")
	a.exchange = a.e.exchangeRequest(a.agent, tok)
}

func (a *agentStepper) call(ctx context.Context, c *Conn, r *recorder, due time.Time) {
	a.made++
	resp, ok := call(ctx, c, r, opAgentExchange, a.exchange, due)
	if !ok {
		return
	}
	tok, fail := tokenOf(resp)
	if fail != "" {
		r.fail(opAgentExchange, due, time.Now(), fail)
		return
	}
	r.ok(opAgentExchange, due, time.Now(), "", "")
	a.check, a.pending = a.e.introspectRequest(a.rs, tok), a.checks
}

func (a *agentStepper) introspect(ctx context.Context, c *Conn, r *recorder, due time.Time) {
	a.pending--
	resp, ok := call(ctx, c, r, opAgentIntrospect, a.check, due)
	if !ok {
		return
	}
	checkIntrospection(r, opAgentIntrospect, resp, true, "exchanged active", "wrong verdict: exchanged token inactive", due)
}

// tokenOf reads the access token of a token endpoint answer, or names the failure.
func tokenOf(resp Response) (string, string) {
	if resp.Status != 200 {
		return "", failure(resp)
	}
	tok := jsonString(resp.Body, "access_token")
	if tok == "" {
		return "", "no access_token"
	}
	return tok, ""
}

package replay

import (
	"context"
	"net/http"
	"net/url"

	"github.com/vigil-auth/vigil/internal/server"
	"github.com/vigil-auth/vigil/risk"
)

// introspect has the step's resource server introspect the session's
// latest token (or, with "token": "first", its session token), passing the
// tool, tenant and the address it saw the token come from.
func (d *driver) introspect(ctx context.Context, st Step, s *session) outcome {
	tok := s.latest
	if st.Token == "first" {
		tok = s.token
	}
	if tok == "" {
		return notSent("no token was issued")
	}
	form := url.Values{"token": {tok}}
	addCall(form, Step{Tool: st.Tool, Tenant: st.Tenant})
	if st.IP.IsValid() {
		form.Set("ip", st.IP.String())
	}
	a := d.w.send(request{path: server.PathIntrospect, form: form, ip: st.IP, client: st.RS})
	if a.status != http.StatusOK {
		return d.refused(ctx, s, a)
	}
	active, _ := a.body["active"].(bool)
	out := outcome{decision: Allow, active: &active, answer: a.String()}
	switch {
	case !active:
		out.decision = d.refused(ctx, s, a).decision
	case riskAction(a) == string(risk.StepUp):
		out.decision = StepUp
	}
	return out
}

// riskAction is the risk member's action of an introspection answer.
func riskAction(a answer) string {
	v, _ := a.body["risk"].(map[string]any)
	act, _ := v["action"].(string)
	return act
}

// revalidate answers the session's pending challenge at the revalidation
// endpoint, naming the session by its token. With "ok" the client presents
// a fresh private_key_jwt assertion (a delegated caller adds its actor
// token) and, when the challenge came from the token endpoint, repeats the
// refused request; without it the client cannot prove more and sends no
// client authentication.
func (d *driver) revalidate(ctx context.Context, st Step, s *session) outcome {
	caller := firstOf(st.Client, s.owner)
	tok := firstOf(s.token, s.latest)
	form := url.Values{}
	if caller != s.owner {
		tok = s.latest
		if at := d.actorToken(ctx, Step{Actor: caller, IP: st.IP}); at != "" {
			form.Set("actor_token", at)
		}
	}
	if tok != "" {
		form.Set("token", tok)
	}
	req := request{path: server.PathRevalidate, form: form, ip: st.IP}
	if st.OK {
		req.client = caller
	}
	p := s.pending
	s.pending = nil
	a := d.w.send(req)
	switch {
	case a.status != http.StatusOK:
		return d.refused(ctx, s, a)
	case p != nil:
		return d.grant(ctx, s, p.req, p.kind)
	}
	return outcome{decision: Allow, answer: a.String()}
}

// answer has the client that made st, which met a step-up demand,
// revalidate with its key (Options.Answer).
func (d *driver) answer(ctx context.Context, ts Timed) {
	st := ts.Step
	s := d.sessions[ts.Session]
	if s == nil {
		return
	}
	caller := s.owner
	if st.Op == OpExchange {
		caller = firstOf(st.Actor, st.Client, s.owner)
	}
	d.revalidate(ctx, Step{Op: OpRevalidate, Client: caller, IP: st.IP, OK: true}, s)
}

// signal delivers an inbound security event about the session (about the
// client's sessions when the session never got a token) through the admin
// API's signals endpoint.
func (d *driver) signal(st Step, s *session) outcome {
	body := map[string]string{"type": st.Signal.Type}
	if st.Signal.Level != "" {
		body["level"] = st.Signal.Level
	}
	if s.sid != "" {
		body["sid"] = s.sid
	} else {
		body["client_id"] = s.owner
	}
	a := d.w.adminPost("/admin/signals", body)
	if a.status != http.StatusOK {
		return outcome{decision: Deny, answer: a.String()}
	}
	sessions, _ := a.body["sessions"].(map[string]any)
	for _, v := range sessions {
		if o, _ := v.(map[string]any); o["action"] == string(risk.Terminate) {
			return outcome{decision: Terminate, answer: "200 terminate"}
		}
	}
	return outcome{decision: Allow, answer: a.String()}
}

// revoke has the client revoke its session (RFC 7009): the refresh token
// when it holds one, which takes the whole family and every derived token
// with it, else the session token.
func (d *driver) revoke(ctx context.Context, st Step, s *session) outcome {
	tok := firstOf(s.refresh, s.token)
	if tok == "" {
		return notSent("no token is held")
	}
	caller := firstOf(st.Client, s.owner)
	a := d.w.send(request{path: server.PathRevoke, form: url.Values{"token": {tok}}, ip: st.IP, client: caller})
	if a.status != http.StatusOK {
		return d.refused(ctx, s, a)
	}
	s.token, s.latest, s.refresh = "", "", ""
	return outcome{decision: Allow, answer: a.String()}
}

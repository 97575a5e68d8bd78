package replay

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/internal/server"
)

// outcome is what one step got, in FORMAT.md's terms.
type outcome struct {
	decision string
	ttl      time.Duration // lifetime of the token issued, if any
	issued   bool          // a token was issued
	refresh  bool          // a refresh token was issued
	active   *bool         // the introspection answer
	answer   string        // the wire answer, or why nothing was sent
}

// notSent is the outcome of a step that needs a token the server never
// issued: it reached nothing.
func notSent(why string) outcome { return outcome{decision: Deny, answer: "not sent: " + why} }

// session is what a scenario session's clients hold.
type session struct {
	owner   string
	sid     string
	token   string // the session token: from the token step or the latest refresh
	latest  string // the latest access token the session obtained
	refresh string // the current refresh token
	prev    string // the refresh token presented last (rotated or retired)
	// pending is the token-endpoint request the server answered with a
	// step-up demand; a passed revalidation repeats it.
	pending *pendingRequest
}

type pendingRequest struct {
	req  request
	kind string // OpToken, OpExchange or OpRefresh
}

// actorToken is an actor's own access token, for actor_token.
type actorToken struct {
	raw string
	exp time.Time
}

// driver plays one scenario's steps against its world.
type driver struct {
	w        *world
	sc       Scenario
	sessions map[string]*session
	actors   map[string]actorToken
}

// do performs one step at its time and returns its outcome.
func (d *driver) do(ctx context.Context, ts Timed) outcome {
	d.w.clock.set(ts.At)
	st := ts.Step
	if st.Op == OpToken {
		return d.token(ctx, ts)
	}
	s := d.sessions[ts.Session]
	if s == nil {
		return notSent("the session was never opened")
	}
	switch st.Op {
	case OpExchange:
		return d.exchange(ctx, st, s)
	case OpRefresh:
		return d.refresh(ctx, st, s)
	case OpIntrospect:
		return d.introspect(ctx, st, s)
	case OpRevalidate:
		return d.revalidate(ctx, st, s)
	case OpSignal:
		return d.signal(st, s)
	case OpRevoke:
		return d.revoke(ctx, st, s)
	}
	return notSent("unknown operation")
}

// token opens a session with a client_credentials grant.
func (d *driver) token(ctx context.Context, ts Timed) outcome {
	st := ts.Step
	s := &session{owner: st.Client}
	d.sessions[ts.Session] = s
	form := url.Values{"grant_type": {oauth.GrantClientCredentials}}
	addCall(form, st)
	req := request{path: server.PathToken, form: form, ip: st.IP, client: st.Client, dpop: d.w.dpop[st.Client]}
	return d.grant(ctx, s, req, OpToken)
}

// grant sends a token-endpoint request and records what it issued.
func (d *driver) grant(ctx context.Context, s *session, req request, kind string) outcome {
	a := d.w.send(req)
	switch {
	case a.status == http.StatusOK && a.str("access_token") != "":
		return d.issued(ctx, s, a, kind)
	case a.status == http.StatusUnauthorized && a.str("error") == "revalidation_required":
		s.pending = &pendingRequest{req: req, kind: kind}
		return outcome{decision: StepUp, answer: a.String()}
	}
	return d.refused(ctx, s, a)
}

// issued records a successful token-endpoint answer.
func (d *driver) issued(ctx context.Context, s *session, a answer, kind string) outcome {
	at, rt := a.str("access_token"), a.str("refresh_token")
	s.latest = at
	if kind != OpExchange {
		s.token, s.refresh = at, rt
	}
	if s.sid == "" {
		s.sid = d.w.sessionOf(ctx, at)
	}
	return outcome{decision: Allow, issued: true, refresh: rt != "", answer: a.String(),
		ttl: time.Duration(a.num("expires_in")) * time.Second}
}

// refused classifies an error answer: terminate when the session is over
// (its record says so, or the answer says the session was terminated),
// deny otherwise.
func (d *driver) refused(ctx context.Context, s *session, a answer) outcome {
	if d.w.terminated(ctx, s.sid) || (a.str("error") == oauth.InvalidGrant && a.str("error_description") == "session terminated") {
		return outcome{decision: Terminate, answer: a.String()}
	}
	return outcome{decision: Deny, answer: a.String()}
}

// exchange runs an RFC 8693 exchange of the session token (or, with
// "subject": "latest", of the session's latest token), by the step's client
// or actor.
func (d *driver) exchange(ctx context.Context, st Step, s *session) outcome {
	subject := s.token
	if st.Subject == "latest" {
		subject = s.latest
	}
	if subject == "" {
		return notSent("no subject token was issued")
	}
	caller := firstOf(st.Actor, st.Client, s.owner)
	form := url.Values{"grant_type": {oauth.GrantTokenExchange}, "subject_token": {subject},
		"subject_token_type": {oauth.TokenTypeAccessToken}}
	addCall(form, st)
	if st.Actor != "" {
		tok := d.actorToken(ctx, st)
		if tok == "" {
			return notSent("the actor got no token of its own")
		}
		form.Set("actor_token", tok)
		form.Set("actor_token_type", oauth.TokenTypeAccessToken)
	}
	req := request{path: server.PathToken, form: form, ip: st.IP, client: caller, dpop: d.proofKey(caller, s)}
	return d.grant(ctx, s, req, OpExchange)
}

// actorToken returns the actor's own access token, getting one with a
// client_credentials grant from the step's address when it has none live.
func (d *driver) actorToken(ctx context.Context, st Step) string {
	now := d.w.clock.Now()
	if t, ok := d.actors[st.Actor]; ok && now.Add(30*time.Second).Before(t.exp) {
		return t.raw
	}
	form := url.Values{"grant_type": {oauth.GrantClientCredentials}}
	a := d.w.send(request{path: server.PathToken, form: form, ip: st.IP, client: st.Actor, dpop: d.w.dpop[st.Actor]})
	raw := a.str("access_token")
	if a.status != http.StatusOK || raw == "" {
		return ""
	}
	d.actors[st.Actor] = actorToken{raw: raw, exp: now.Add(time.Duration(a.num("expires_in")) * time.Second)}
	return raw
}

// proofKey is the DPoP key a call on session s is signed with: the
// caller's own, else the session owner's when the owner's tokens are bound.
func (d *driver) proofKey(caller string, s *session) *ecKey {
	if k := d.w.dpop[caller]; k != nil {
		return k
	}
	return d.w.dpop[s.owner]
}

// refresh redeems the session's current refresh token, or with "reuse"
// the previous, already used one.
func (d *driver) refresh(ctx context.Context, st Step, s *session) outcome {
	presented, reuse := s.refresh, false
	if st.Reuse && s.prev != "" {
		presented, reuse = s.prev, true
	}
	if presented == "" {
		return notSent("no refresh token is held")
	}
	form := url.Values{"grant_type": {oauth.GrantRefreshToken}, "refresh_token": {presented}}
	addCall(form, st)
	caller := firstOf(st.Client, s.owner)
	out := d.grant(ctx, s, request{path: server.PathToken, form: form, ip: st.IP, client: caller, dpop: d.proofKey(caller, s)}, OpRefresh)
	if !reuse {
		s.prev = presented // used up, whether or not a successor came back
		if out.decision != Allow {
			s.refresh = ""
		}
	}
	return out
}

// addCall copies the step's request parameters into form.
func addCall(form url.Values, st Step) {
	for k, v := range map[string]string{"scope": st.Scope, "audience": st.Audience, "tool": st.Tool, "tenant": st.Tenant} {
		if v != "" {
			form.Set(k, v)
		}
	}
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

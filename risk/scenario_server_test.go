package risk_test

// This file models, at the level of risk events, what Vigil's request
// handlers do for each scenario operation: the protocol checks they make
// before asking the engine, the facts they report, and how they act on the
// engine's decision. Keep it in step with the real handlers (token,
// exchange, refresh, introspection, revocation); `vigil replay` drives those
// for real, and the two must agree.
//
// Handler rules modelled here:
//   - token: scopes must lie within the registration and the audience in it;
//     otherwise the request is refused and FactEscalationAttempt reported.
//     The session token is audience-bound when an audience was asked for,
//     else valid for the registered audiences. A refresh token comes with it
//     unless the decision says NoRefresh.
//   - exchange: the subject token must be live. An actor (or a calling client
//     other than the session's) must be in the subject client's may_act, else
//     FactChainAnomaly and refusal. The audience must be in the subject
//     token's audiences and the client's registration (and the actor's), the
//     scopes within the subject token's and the registration's (and the
//     actor's), else FactEscalationAttempt and refusal. The new token lives at
//     most as long as the subject token, the server default and Decision.MaxTTL.
//   - refresh: rotation on every use. A refresh refused on risk retires the
//     presented token. A rotated token presented again within the grace window
//     after a successful rotation replays the same answer; otherwise it is
//     FactRefreshReuse and the family is revoked.
//   - introspect: a resource server whose introspect list lacks the token's
//     audiences learns nothing (active false) and FactUnexpectedIntrospect is
//     reported. Otherwise the decision maps to active (allow), active with a
//     challenge (step_up) or inactive (deny, terminate).
//   - revalidate: answers the pending challenge; on success the pending
//     request completes.
//   - signal, revoke: reported as is; revoking ends the session.
//   - Terminate revokes every token of the session; later calls fail.

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/risk"
)

const (
	defaultAccessTTL = time.Hour
	refreshGrace     = 5 * time.Second
)

// outcome is what one step got, in FORMAT.md's terms.
type outcome struct {
	decision string // allow, step_up, deny, terminate
	ttl      time.Duration
	issued   bool // a token was issued
	refresh  bool // a refresh token was issued
	active   *bool
	d        risk.Decision
	reached  bool // the engine was asked
}

type token struct {
	aud, scopes, actors []string
	exp                 time.Time
}

type pendingOp struct {
	op       string
	aud      string
	scopes   []string
	actors   []string
	subject  *token
	audBound bool
}

type simSession struct {
	sid        string
	client     string
	terminated bool
	ended      bool
	sessionTok *token
	latest     *token
	refreshCur bool
	prevAt     time.Time // when the last refresh token was redeemed or retired
	prevOK     bool      // that redemption issued a successor
	pending    *pendingOp
}

type server struct {
	eng      *risk.Engine
	sc       scenario
	profiles map[string]risk.ClientProfile
	sessions map[string]*simSession
	actorExp map[string]time.Time
	n        int
}

func newServer(eng *risk.Engine, sc scenario) (*server, error) {
	srv := &server{eng: eng, sc: sc, profiles: map[string]risk.ClientProfile{},
		sessions: map[string]*simSession{}, actorExp: map[string]time.Time{}}
	for id, c := range sc.Clients {
		p, err := c.profile()
		if err != nil {
			return nil, err
		}
		srv.profiles[id] = p
	}
	return srv, nil
}

// do runs one step and returns its outcome.
func (srv *server) do(ts timedStep) outcome {
	st := ts.step
	if st.Op == "token" {
		return srv.token(ts)
	}
	ss := srv.sessions[ts.session]
	if ss == nil {
		return outcome{decision: "deny"} // no session: the call reached nothing
	}
	if ss.terminated {
		return inactive("terminate")
	}
	switch st.Op {
	case "exchange":
		return srv.exchange(ts, ss)
	case "refresh":
		return srv.refresh(ts, ss)
	case "introspect":
		return srv.introspect(ts, ss)
	case "revalidate":
		return srv.revalidate(ts, ss)
	case "signal":
		return srv.signal(ts, ss)
	case "revoke":
		return srv.revoke(ts, ss)
	}
	return outcome{decision: "deny"}
}

func inactive(decision string) outcome {
	f := false
	return outcome{decision: decision, active: &f}
}

func (srv *server) event(op risk.Op, ts timedStep, ss *simSession) risk.Event {
	ip, _ := netip.ParseAddr(ts.step.IP)
	return risk.Event{Op: op, At: ts.at, SessionID: ss.sid, ClientID: ss.client, Client: srv.profiles[ss.client],
		IP: ip, Tool: ts.step.Tool, Tenant: ts.step.Tenant}
}

func (srv *server) resource(aud string) risk.ResourceProfile {
	r := srv.sc.Resources[aud]
	return risk.ResourceProfile{Sensitivity: r.Sensitivity, Tenant: r.Tenant, Tactic: r.Tactic}
}

// token handles a client_credentials grant: it opens a new session.
func (srv *server) token(ts timedStep) outcome {
	st := ts.step
	srv.n++
	ss := &simSession{sid: ts.session + "#" + strconv.Itoa(srv.n), client: st.Client}
	srv.sessions[ts.session] = ss
	reg := srv.sc.Clients[st.Client]
	scopes := strings.Fields(st.Scope)
	if len(scopes) == 0 {
		scopes = reg.Scopes
	}
	ev := srv.event(risk.OpToken, ts, ss)
	ev.Scopes, ev.Audience = scopes, st.Audience
	if st.Audience != "" {
		ev.Resource = srv.resource(st.Audience)
	}
	refused := !subset(scopes, reg.Scopes) || (st.Audience != "" && !slices.Contains(reg.Audiences, st.Audience))
	if refused {
		ev.Facts = []string{risk.FactEscalationAttempt}
	}
	d := srv.eng.Observe(ev)
	p := &pendingOp{op: "token", aud: st.Audience, scopes: scopes}
	return srv.finish(ss, d, refused, p, ts.at)
}

// finish acts on a decision for a token-issuing call.
func (srv *server) finish(ss *simSession, d risk.Decision, refused bool, p *pendingOp, at time.Time) outcome {
	out := outcome{d: d, reached: true}
	switch {
	case d.Action == risk.Terminate && !d.ReportOnly:
		srv.terminate(ss)
		out.decision = "terminate"
	case refused:
		out.decision = "deny"
	case d.Action == risk.StepUp && !d.ReportOnly:
		ss.pending = p
		out.decision = "step_up"
	case d.Action == risk.Deny && !d.ReportOnly:
		out.decision = "deny"
	default:
		out = srv.issue(ss, d, p, at)
	}
	return out
}

// issue completes an allowed token or exchange request.
func (srv *server) issue(ss *simSession, d risk.Decision, p *pendingOp, at time.Time) outcome {
	ttl := defaultAccessTTL
	if d.MaxTTL > 0 {
		ttl = min(ttl, d.MaxTTL)
	}
	out := outcome{decision: "allow", issued: true, d: d, reached: true}
	if p.op == "token" {
		aud := srv.sc.Clients[ss.client].Audiences
		if p.aud != "" {
			aud = []string{p.aud}
		}
		ss.sessionTok = &token{aud: aud, scopes: p.scopes, exp: at.Add(ttl)}
		ss.latest = ss.sessionTok
		ss.refreshCur = !d.NoRefresh
		out.refresh = ss.refreshCur
	} else {
		if rem := p.subject.exp.Sub(at); rem < ttl {
			ttl = rem
		}
		ss.latest = &token{aud: []string{p.aud}, scopes: p.scopes, actors: p.actors, exp: at.Add(ttl)}
	}
	out.ttl = ttl
	return out
}

func (srv *server) terminate(ss *simSession) {
	ss.terminated = true
	ss.sessionTok, ss.latest, ss.refreshCur, ss.pending = nil, nil, false, nil
}

// exchange handles an RFC 8693 token exchange within the session.
func (srv *server) exchange(ts timedStep, ss *simSession) outcome {
	st := ts.step
	subject := ss.sessionTok
	if st.Subject == "latest" {
		subject = ss.latest
	}
	if subject == nil || !ts.at.Before(subject.exp) {
		return outcome{decision: "deny"} // no live subject token
	}
	actor := st.Actor
	if st.Client != "" && st.Client != ss.client && actor == "" {
		actor = st.Client
	}
	if actor != "" && !srv.actorToken(ts, actor) {
		return outcome{decision: "deny"} // the actor could not get its own token
	}
	owner := srv.sc.Clients[ss.client]
	scopes := strings.Fields(st.Scope)
	ev := srv.event(risk.OpExchange, ts, ss)
	ev.Audience, ev.Resource, ev.Scopes = st.Audience, srv.resource(st.Audience), scopes
	ev.Actors = slices.Clone(subject.actors)
	refused := false
	if actor != "" {
		ev.Caller, ev.ActorProfile = actor, srv.profiles[actor]
		ev.Actors = append([]string{actor}, ev.Actors...)
		if !slices.Contains(owner.MayAct, actor) {
			ev.Facts, refused = append(ev.Facts, risk.FactChainAnomaly), true
		}
	}
	if !srv.withinGrant(st.Audience, scopes, subject, owner, actor) {
		ev.Facts, refused = append(ev.Facts, risk.FactEscalationAttempt), true
	}
	d := srv.eng.Observe(ev)
	p := &pendingOp{op: "exchange", aud: st.Audience, scopes: scopes, actors: ev.Actors, subject: subject}
	return srv.finish(ss, d, refused, p, ts.at)
}

// withinGrant reports whether an exchange only narrows: audience and scopes
// inside the subject token, the client's registration and the actor's.
func (srv *server) withinGrant(aud string, scopes []string, subject *token, owner clientSpec, actor string) bool {
	ok := slices.Contains(subject.aud, aud) && slices.Contains(owner.Audiences, aud) &&
		subset(scopes, subject.scopes) && subset(scopes, owner.Scopes)
	if actor != "" {
		a := srv.sc.Clients[actor]
		ok = ok && subset(scopes, a.Scopes) && slices.Contains(a.Audiences, aud)
	}
	return ok
}

// actorToken makes sure the actor holds a token of its own (a token step of
// its own, which the scenario leaves implicit).
func (srv *server) actorToken(ts timedStep, actor string) bool {
	if exp, ok := srv.actorExp[actor]; ok && ts.at.Before(exp) {
		return true
	}
	srv.n++
	ip, _ := netip.ParseAddr(ts.step.IP)
	reg := srv.sc.Clients[actor]
	d := srv.eng.Observe(risk.Event{Op: risk.OpToken, At: ts.at, SessionID: "actor/" + actor + "#" + strconv.Itoa(srv.n),
		ClientID: actor, Client: srv.profiles[actor], IP: ip, Scopes: reg.Scopes})
	if d.Action != risk.Allow && !d.ReportOnly {
		return false
	}
	ttl := defaultAccessTTL
	if d.MaxTTL > 0 {
		ttl = min(ttl, d.MaxTTL)
	}
	srv.actorExp[actor] = ts.at.Add(ttl)
	return true
}

// refresh handles a refresh_token grant, with rotation and reuse detection.
func (srv *server) refresh(ts timedStep, ss *simSession) outcome {
	reuse := ts.step.Reuse && !ss.prevAt.IsZero()
	if !reuse && !ss.refreshCur {
		return outcome{decision: "deny"} // no current refresh token
	}
	ev := srv.event(risk.OpRefresh, ts, ss)
	if reuse {
		if ts.at.Sub(ss.prevAt) > refreshGrace {
			ev.Facts = []string{risk.FactRefreshReuse}
			ss.refreshCur = false // the family is revoked
			d := srv.eng.Observe(ev)
			return srv.refused(ss, d)
		}
		if !ss.prevOK {
			return outcome{decision: "deny"}
		}
		d := srv.eng.Observe(ev) // within grace: the same successor again
		if d.Action != risk.Allow && !d.ReportOnly {
			return srv.refused(ss, d)
		}
		out := outcome{decision: "allow", issued: ss.sessionTok != nil, refresh: ss.refreshCur, d: d, reached: true}
		if ss.sessionTok != nil {
			out.ttl = ss.sessionTok.exp.Sub(ts.at)
		}
		return out
	}
	d := srv.eng.Observe(ev)
	ss.prevAt, ss.refreshCur = ts.at, false // the presented token is spent either way
	if d.Action != risk.Allow && !d.ReportOnly {
		ss.prevOK = false
		return srv.refused(ss, d)
	}
	ss.prevOK = true
	ttl := defaultAccessTTL
	if d.MaxTTL > 0 {
		ttl = min(ttl, d.MaxTTL)
	}
	aud := ss.sessionTok
	if aud == nil {
		aud = &token{aud: srv.sc.Clients[ss.client].Audiences, scopes: srv.sc.Clients[ss.client].Scopes}
	}
	ss.sessionTok = &token{aud: aud.aud, scopes: aud.scopes, exp: ts.at.Add(ttl)}
	ss.latest = ss.sessionTok
	ss.refreshCur = !d.NoRefresh
	return outcome{decision: "allow", issued: true, refresh: ss.refreshCur, ttl: ttl, d: d, reached: true}
}

func (srv *server) refused(ss *simSession, d risk.Decision) outcome {
	if d.Action == risk.Terminate {
		srv.terminate(ss)
		return outcome{decision: "terminate", d: d, reached: true}
	}
	if d.Action == risk.StepUp {
		return outcome{decision: "step_up", d: d, reached: true}
	}
	return outcome{decision: "deny", d: d, reached: true}
}

// introspect handles RFC 7662 introspection by a resource server.
func (srv *server) introspect(ts timedStep, ss *simSession) outcome {
	st := ts.step
	tok := ss.latest
	if st.Token == "first" {
		tok = ss.sessionTok
	}
	if tok == nil {
		return outcome{decision: "deny"} // no token was ever issued
	}
	if !ts.at.Before(tok.exp) {
		return inactive("deny")
	}
	rs := srv.sc.Clients[st.RS]
	aud, allowed := introspectAudience(rs.Introspect, tok.aud)
	ev := srv.event(risk.OpIntrospect, ts, ss)
	ev.Caller, ev.Audience, ev.Resource, ev.Actors = st.RS, aud, srv.resource(aud), tok.actors
	if len(tok.actors) > 0 {
		ev.ActorProfile = srv.profiles[tok.actors[0]]
	}
	if !allowed {
		ev.Facts = []string{risk.FactUnexpectedIntrospect}
	}
	d := srv.eng.Observe(ev)
	switch {
	case d.Action == risk.Terminate && !d.ReportOnly:
		srv.terminate(ss)
		o := inactive("terminate")
		o.d, o.reached = d, true
		return o
	case !allowed || (d.Action == risk.Deny && !d.ReportOnly):
		o := inactive("deny")
		o.d, o.reached = d, true
		return o
	}
	t := true
	decision := "allow"
	if d.Action == risk.StepUp && !d.ReportOnly {
		decision = "step_up"
	}
	return outcome{decision: decision, active: &t, d: d, reached: true}
}

// introspectAudience picks the audience the resource server introspects
// for: one of the token's it may see, else its own first one.
func introspectAudience(may, tokenAud []string) (string, bool) {
	for _, a := range tokenAud {
		if slices.Contains(may, a) {
			return a, true
		}
	}
	if len(may) > 0 {
		return may[0], false
	}
	return "", false
}

// revalidate answers the pending challenge.
func (srv *server) revalidate(ts timedStep, ss *simSession) outcome {
	ev := srv.event(risk.OpRevalidate, ts, ss)
	ev.Passed = ts.step.OK != nil && *ts.step.OK
	d := srv.eng.Observe(ev)
	p := ss.pending
	ss.pending = nil
	if d.Action == risk.Terminate && !d.ReportOnly {
		srv.terminate(ss)
		return outcome{decision: "terminate", d: d, reached: true}
	}
	if !ev.Passed || (d.Action != risk.Allow && !d.ReportOnly) {
		return outcome{decision: "deny", d: d, reached: true}
	}
	if p == nil {
		return outcome{decision: "allow", d: d, reached: true}
	}
	return srv.issue(ss, d, p, ts.at)
}

// signal delivers an inbound security event about the session's client.
func (srv *server) signal(ts timedStep, ss *simSession) outcome {
	ev := srv.event(risk.OpSignal, ts, ss)
	ev.IP = netip.Addr{}
	if s := ts.step.Signal; s != nil {
		ev.Signal = &risk.Signal{Type: s.Type, Level: s.Level}
	}
	d := srv.eng.Observe(ev)
	if d.Action == risk.Terminate && !d.ReportOnly {
		srv.terminate(ss)
		return outcome{decision: "terminate", d: d, reached: true}
	}
	return outcome{decision: "allow", d: d, reached: true}
}

// revoke handles RFC 7009 revocation of the session's token.
func (srv *server) revoke(ts timedStep, ss *simSession) outcome {
	d := srv.eng.Observe(srv.event(risk.OpRevoke, ts, ss))
	ss.ended = true
	ss.sessionTok, ss.latest, ss.refreshCur = nil, nil, false
	return outcome{decision: "allow", d: d, reached: true}
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

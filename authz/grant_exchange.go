package authz

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// exchangeParams are RFC 8693 §2.1's parameters after the presence rules.
type exchangeParams struct {
	subject, subjectType string
	actor, actorType     string
	requested            string
}

// subjectToken is a resolved, verified subject token.
type subjectToken struct {
	token   storage.Token   // Vigil's record; for an external JWT, a synthetic one
	session storage.Session // its session; for an external JWT, a new one
	owner   storage.Client  // the client the subject belongs to
	newSess bool            // an external JWT opens a session
}

// exchange runs RFC 8693 token exchange: the caller presents a subject token
// (its session token, a delegated token, or a trusted external JWT) and
// optionally its own token as actor, and receives a narrower, short-lived
// token in the subject's session.
func (s *Server) exchange(ctx context.Context, req *tokenRequest) (*tokenResponse, error) {
	c := req.caller.client
	if !c.HasGrant(oauth.GrantTokenExchange) {
		return nil, oauth.Errorf(oauth.UnauthorizedClient, "client is not registered for token exchange")
	}
	p, err := parseExchange(req)
	if err != nil {
		return nil, err
	}
	subj, err := s.resolveSubject(ctx, p, c)
	if err != nil {
		return nil, err
	}
	if !subj.newSess {
		req.sid = subj.session.ID
	}
	chain, actor, err := s.delegation(ctx, req, p, subj)
	if err != nil {
		return nil, err
	}
	b, err := s.exchangeTargets(ctx, req, subj)
	if err != nil {
		return nil, err
	}
	return s.issueExchange(ctx, req, p, subj, actor, chain, b)
}

// parseExchange applies RFC 8693 §2.1's presence and type rules.
func parseExchange(req *tokenRequest) (exchangeParams, error) {
	f := req.form
	p := exchangeParams{subject: f.Get("subject_token"), subjectType: f.Get("subject_token_type"),
		actor: f.Get("actor_token"), actorType: f.Get("actor_token_type"), requested: f.Get("requested_token_type")}
	switch {
	case p.subject == "" || p.subjectType == "":
		return p, oauth.Errorf(oauth.InvalidRequest, "subject_token and subject_token_type are required")
	case p.actor != "" && p.actorType == "":
		return p, oauth.Errorf(oauth.InvalidRequest, "actor_token_type is required with actor_token")
	case p.actor == "" && p.actorType != "":
		return p, oauth.Errorf(oauth.InvalidRequest, "actor_token_type must not be sent without actor_token")
	case p.actor != "" && p.actorType != oauth.TokenTypeAccessToken:
		return p, oauth.Errorf(oauth.InvalidRequest, "actor_token must be a Vigil access token")
	}
	switch p.requested {
	case "":
		p.requested = oauth.TokenTypeAccessToken
	case oauth.TokenTypeAccessToken, oauth.TokenTypeJWT, oauth.TokenTypeTxnToken:
	default:
		return p, oauth.Errorf(oauth.InvalidRequest, "requested_token_type is not supported")
	}
	return p, nil
}

// resolveSubject verifies the subject token by its declared type: a Vigil
// access token must be declared access_token; a trusted issuer's JWT, jwt
// or id_token. Refresh tokens are never exchange inputs.
func (s *Server) resolveSubject(ctx context.Context, p exchangeParams, c storage.Client) (subjectToken, error) {
	switch p.subjectType {
	case oauth.TokenTypeAccessToken:
		return s.vigilSubject(ctx, p.subject)
	case oauth.TokenTypeJWT, oauth.TokenTypeIDToken:
		if strings.HasPrefix(p.subject, accessPrefix) || strings.HasPrefix(p.subject, refreshPrefix) {
			return subjectToken{}, errSubject("subject_token is not a JWT")
		}
		if _, err := s.store.GetToken(ctx, TokenID(p.subject)); err == nil {
			return subjectToken{}, errSubject("subject_token_type does not match the token")
		}
		return s.externalSubject(ctx, p.subject, c)
	}
	return subjectToken{}, errSubject("subject_token_type is not supported")
}

func errSubject(desc string) *oauth.Error { return oauth.Errorf(oauth.InvalidRequest, "%s", desc) }

// vigilSubject loads a live Vigil access token, its active session and its
// enabled owner.
func (s *Server) vigilSubject(ctx context.Context, raw string) (subjectToken, error) {
	t, err := s.store.GetToken(ctx, TokenID(raw))
	if errors.Is(err, storage.ErrNotFound) {
		return subjectToken{}, errSubject("subject_token is invalid")
	}
	if err != nil {
		return subjectToken{}, storeErr(err)
	}
	if t.Kind != storage.AccessToken || t.Format == FormatTxn {
		return subjectToken{}, errSubject("subject_token must be an access token")
	}
	if !t.Active(s.now()) {
		return subjectToken{}, errSubject("subject_token is expired or revoked")
	}
	sess, err := s.store.GetSession(ctx, t.SessionID)
	if err != nil {
		return subjectToken{}, storeErr(err)
	}
	if sess.Status != storage.SessionActive {
		return subjectToken{}, errSubject("subject_token's session has ended")
	}
	owner, err := s.store.GetClient(ctx, sess.ClientID)
	if err != nil || owner.Disabled {
		return subjectToken{}, errSubject("subject_token's client is not active")
	}
	return subjectToken{token: t, session: sess, owner: owner}, nil
}

// subjectStillLive re-reads an exchange's subject token inside the issuing
// transaction: a revocation that committed after the subject was first read
// must still stop the exchange, or a descendant would outlive it (#38).
func subjectStillLive(ctx context.Context, w storage.Writer, id string, now time.Time) error {
	t, err := w.GetToken(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return errSubject("subject_token is invalid")
	case err != nil:
		return err
	case !t.Active(now):
		return errSubject("subject_token is expired or revoked")
	}
	return nil
}

// exchangeTargets narrows scopes and audiences to what the subject token
// carries and the caller is registered for. Asking for more is refused
// (invalid_scope, invalid_target) and reported to the risk engine as an
// escalation attempt, a fact that sticks to the session.
func (s *Server) exchangeTargets(ctx context.Context, req *tokenRequest, subj subjectToken) (bounds, error) {
	c := req.caller.client
	live, err := s.liveSubject(ctx, subj)
	if err != nil {
		return bounds{}, err
	}
	b, err := s.allowed(ctx, c, subj.session)
	if err != nil {
		return bounds{}, policyErr(err)
	}
	b.scopes, err = narrowScopes(req.scopes, oauth.Intersect(live.Scopes, b.scopes))
	if err == nil {
		b.audiences, err = narrowTargets(req.targets, oauth.Intersect(live.Audiences, b.audiences))
		if err == nil {
			return b, nil
		}
	}
	if !subj.newSess {
		s.recordFact(ctx, req, subj, risk.FactEscalationAttempt, "asked beyond the subject token or registration")
	}
	return bounds{}, err
}

// recordFact reports a refused request's fact to the risk engine and makes
// the fact durable on the session before the refusal is answered.
func (s *Server) recordFact(ctx context.Context, req *tokenRequest, subj subjectToken, fact, evidence string) {
	ev := s.event(ctx, risk.OpExchange, subj.session.ID, subj.owner, req)
	ev.Caller, ev.Actors, ev.Facts, ev.Evidence = req.caller.client.ID, callerChain(req, subj), []string{fact}, evidence
	ev.ActorProfile = s.actorProfile(ctx, ev.Actors, req.caller.client)
	d := s.observe(ctx, ev)
	now := s.now()
	err := s.store.Update(ctx, func(w storage.Writer) error {
		if err := w.AppendAudit(ctx, factAudit(req, subj.session.ID, fact, evidence, now)); err != nil {
			return err
		}
		if d.Action == risk.Terminate && !d.ReportOnly {
			return s.terminateIn(ctx, w, subj.session.ID, "risk: "+fact, d)
		}
		sess, err := w.GetSession(ctx, subj.session.ID)
		if err != nil {
			return err
		}
		sess.Facts = append(sess.Facts, sessionFacts(d, now)...)
		if err := w.PutSession(ctx, sess); err != nil {
			return err
		}
		return w.AppendEvent(ctx, timelineEvent(sess.ID, "refused", req.caller.client.ID, evidence, d, now))
	})
	if err != nil {
		s.log.ErrorContext(ctx, "recording a risk fact failed", "session", subj.session.ID, "fact", fact, "err", err)
		return
	}
	req.audited = true
}

// callerChain is the delegation chain a refused exchange asked for: the
// caller in front when it is neither the subject's client nor already the
// current actor, so that the engine judges the call's address against the
// caller's own registration.
func callerChain(req *tokenRequest, subj subjectToken) []string {
	caller, prior := req.caller.client.ID, subj.token.Actors
	if caller == subj.owner.ID || (len(prior) > 0 && prior[0] == caller) {
		return prior
	}
	return append([]string{caller}, prior...)
}

// actorProfile is the registration of a chain's current actor (the caller,
// or a client loaded by id), for risk.Event.ActorProfile.
func (s *Server) actorProfile(ctx context.Context, chain []string, caller storage.Client) risk.ClientProfile {
	if len(chain) == 0 {
		return risk.ClientProfile{}
	}
	if chain[0] == caller.ID {
		return Profile(caller)
	}
	if a, err := s.store.GetClient(ctx, chain[0]); err == nil {
		return Profile(a)
	}
	return risk.ClientProfile{}
}

// issueExchange judges the exchange and issues the token in the subject's
// session. actor is the verified actor token of a delegation, or nil.
func (s *Server) issueExchange(ctx context.Context, req *tokenRequest, p exchangeParams, subj subjectToken,
	actor *storage.Token, chain []string, b bounds) (*tokenResponse, error) {
	c := req.caller.client
	scopes, auds := b.scopes, b.audiences
	ev := s.event(ctx, risk.OpExchange, subj.session.ID, subj.owner, req)
	ev.Caller, ev.Actors, ev.Scopes = c.ID, chain, scopes
	ev.ActorProfile = s.actorProfile(ctx, chain, c)
	if len(auds) > 0 {
		ev.Audience, ev.Resource = auds[0], s.resourceProfile(ctx, auds[0])
	}
	jkt, err := s.exchangeBinding(ctx, req, subj, actor)
	if err != nil {
		return nil, err
	}
	if subj.newSess {
		subj.session.JKT = jkt
	}
	judge := s.judgeSession
	if subj.newSess { // the session opens with this exchange: nothing stored to end yet
		judge = s.judge
	}
	d, err := judge(ctx, ev)
	if err != nil {
		return nil, err
	}
	now := s.now()
	ttl, err := exchangeTTL(s.cfg.ExchangeTTL, c, subj, capOf(b.caps, auds), d, now)
	if err != nil {
		return nil, err
	}
	g := grant{client: c, session: subj.session, newSess: subj.newSess, scopes: scopes, audiences: auds, caps: b.caps,
		format: exchangeFormat(p.requested, c), ttl: ttl, now: now, parent: subj.token.ID, actors: chain,
		decision: d, eventType: "exchange", jkt: jkt, notAfter: subj.token.ExpiresAt,
		// Per-call tokens never refresh; a session opened from an external
		// JWT may, when the client is registered for refresh_token.
		refresh: subj.newSess && c.HasGrant(oauth.GrantRefreshToken) && !d.NoRefresh && p.requested != oauth.TokenTypeTxnToken}
	resp, err := s.issue(ctx, req, g)
	if err != nil {
		return nil, err
	}
	resp.IssuedTokenType = p.requested
	if p.requested == oauth.TokenTypeTxnToken {
		resp.TokenType = "N_A"
	}
	return resp, nil
}

// exchangeBinding decides the DPoP key of an exchanged token (RFC 9449 binds
// a token to the key of whoever presents it) and checks the request's proof:
//   - Without an actor token, the caller presents the subject token as its
//     own (the subject's client, the current actor of a delegated token, an
//     impersonator): the proof must be by the subject token's key, and the
//     issued token keeps it.
//   - In a delegation (an actor token, which checkActorToken verified is the
//     caller's own), the caller presents its actor token and passes the
//     subject token on the subject's authority (may_act): the proof must be
//     by the actor token's key, and the issued token is bound to the proof's
//     key, the actor's. The subject token's key is not demanded of the actor,
//     who does not hold it, unless the caller holds the subject token too
//     (the current actor narrowing its own delegated token): then the one
//     proof must match both tokens' keys.
//   - A proof by another key than a presented bound token's is refused and
//     recorded on the subject's session (bind.pop_mismatch), as in refresh.
//   - Sender constraint never falls away: when the subject token is bound,
//     the delegated token must be bound too, so an actor whose own token is
//     not bound must still send a proof (by a key of its own), and a client
//     registered with dpop always must.
func (s *Server) exchangeBinding(ctx context.Context, req *tokenRequest, subj subjectToken, actor *storage.Token) (string, error) {
	if actor == nil {
		return s.binding(ctx, req, subj.token.JKT, &subj)
	}
	if subj.token.ClientID == req.caller.client.ID {
		// binding returns the proof's key whenever it accepts a proof, so
		// both calls agree when both pass.
		if _, err := s.binding(ctx, req, subj.token.JKT, &subj); err != nil {
			return "", err
		}
	}
	jkt, err := s.binding(ctx, req, actor.JKT, &subj)
	if err != nil {
		return "", err
	}
	if jkt == "" && subj.token.JKT != "" {
		return "", errDPoP("the subject token is DPoP-bound: a delegated token must be too; send a DPoP proof")
	}
	return jkt, nil
}

// liveSubject is the subject token as the registrations allow it now: a
// Vigil token bounded like a live token at introspection; an external JWT's
// synthetic token is built from the current registrations already.
func (s *Server) liveSubject(ctx context.Context, subj subjectToken) (storage.Token, error) {
	if subj.newSess {
		return subj.token, nil
	}
	holder := subj.owner
	if holder.ID != subj.token.ClientID {
		h, err := s.store.GetClient(ctx, subj.token.ClientID)
		if err != nil || h.Disabled {
			return storage.Token{}, errSubject("subject_token's client is not active")
		}
		holder = h
	}
	t, err := s.Bound(ctx, subj.token, subj.session, holder)
	if errors.Is(err, errDPoPRequired) {
		return t, policyErr(err)
	}
	if errors.Is(err, ErrRegistration) {
		return t, errSubject("subject_token is not allowed by the current registrations")
	}
	return t, storeErr(err)
}

// exchangeTTL is the per-tool-call lifetime: the client's or server's
// exchange default, capped by the resource's maximum, the risk decision and
// the subject token's remaining life.
func exchangeTTL(def time.Duration, c storage.Client, subj subjectToken, resourceCap time.Duration, d risk.Decision, now time.Time) (time.Duration, error) {
	left := subj.token.ExpiresAt.Sub(now)
	if left < time.Second {
		return 0, errSubject("subject_token is expired or about to expire")
	}
	ttl := capTTL(c.ExchangeTTL.D(), def, d.MaxTTL, left, resourceCap)
	if ttl < time.Second {
		return 0, errSubject("subject_token is about to expire")
	}
	return ttl.Truncate(time.Second), nil
}

func exchangeFormat(requested string, c storage.Client) string {
	switch requested {
	case oauth.TokenTypeJWT:
		return FormatJWT
	case oauth.TokenTypeTxnToken:
		return FormatTxn
	}
	return c.TokenFormat
}

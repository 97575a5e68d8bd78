package authz

import (
	"context"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// clientCredentials runs RFC 6749 §4.4: it opens a session, judges it, and
// issues an access token (and, for clients registered for refresh_token, a
// refresh token) in one durable transaction.
func (s *Server) clientCredentials(ctx context.Context, req *tokenRequest) (*tokenResponse, error) {
	c := req.caller.client
	if !c.HasGrant(oauth.GrantClientCredentials) || c.Kind == storage.KindResourceServer {
		return nil, oauth.Errorf(oauth.UnauthorizedClient, "client is not registered for client_credentials")
	}
	now := s.now()
	sess := storage.Session{ID: "ses_" + randomString(16), ClientID: c.ID, Subject: c.ID, CreatedAt: now,
		Status: storage.SessionActive}
	b, err := s.allowed(ctx, c, sess)
	if err != nil {
		return nil, policyErr(err)
	}
	scopes, err := narrowScopes(req.scopes, b.scopes)
	var auds []string
	if err == nil {
		auds, err = narrowTargets(req.targets, b.audiences)
	}
	if err != nil {
		s.reportOpenRefused(ctx, c, req)
		return nil, err
	}
	jkt, err := s.binding(ctx, req, "", nil)
	if err != nil {
		return nil, err
	}
	sess.JKT = jkt
	d, err := s.judge(ctx, s.event(ctx, risk.OpToken, sess.ID, c, req))
	if err != nil {
		return nil, err
	}
	g := grant{client: c, session: sess, newSess: true, scopes: scopes, audiences: auds, caps: b.caps,
		format: c.TokenFormat, ttl: capTTL(c.AccessTokenTTL.D(), s.cfg.AccessTokenTTL, d.MaxTTL), now: now,
		refresh: c.HasGrant(oauth.GrantRefreshToken) && !d.NoRefresh, decision: d, eventType: "token", jkt: jkt}
	return s.issue(ctx, req, g)
}

// reportOpenRefused tells the risk engine about a session-opening request
// that asked beyond the client's registration: no session opens, but the
// escalation attempt stays in the client's recent memory, so its next
// sessions start from a floor.
func (s *Server) reportOpenRefused(ctx context.Context, c storage.Client, req *tokenRequest) {
	ev := s.event(ctx, risk.OpToken, "", c, req)
	ev.Facts, ev.Evidence = []string{risk.FactEscalationAttempt}, "asked beyond the registration"
	s.observe(ctx, ev)
}

// grant is everything needed to issue the tokens of one successful request.
type grant struct {
	client    storage.Client
	session   storage.Session // a new session (CreatedAt == now) or an existing one
	newSess   bool
	scopes    []string
	audiences []string
	// caps are the registered resources' max_ttl by audience, from the
	// bounds the grant path computed (bounds.caps).
	caps    map[string]time.Duration
	format  string
	ttl     time.Duration
	now     time.Time
	refresh bool
	// parent, family and actors are set for refresh and exchange.
	parent, family string
	actors, mayAct []string
	jkt            string
	decision       risk.Decision
	eventType      string
	// rotate is the refresh token this grant uses up (refresh only).
	rotate *storage.Token
	// refreshRaw, when set, is the refresh token to issue (a derived successor).
	refreshRaw string
	// notAfter, when set, is the end of the grant's subject (an exchanged
	// token, an external JWT): no token of the grant outlives it.
	notAfter time.Time
}

// endOf returns when a token of g living ttl ends: now + ttl, but never
// after the grant's subject.
func (g grant) endOf(ttl time.Duration) time.Time {
	end := g.now.Add(ttl)
	if !g.notAfter.IsZero() && end.After(g.notAfter) {
		return g.notAfter
	}
	return end
}

// issue mints the grant's tokens and writes the session, the tokens, the
// client assertion's jti, the new risk facts and the timeline event in one
// transaction, then answers.
func (s *Server) issue(ctx context.Context, req *tokenRequest, g grant) (*tokenResponse, error) {
	// Every grant path meets the same resource caps (max_ttl).
	g.ttl = capTTL(g.ttl, capOf(g.caps, g.audiences))
	at := storage.Token{Kind: storage.AccessToken, Format: orDefault(g.format, FormatOpaque), ClientID: g.client.ID,
		Subject: g.session.Subject, SessionID: g.session.ID, ParentID: g.parent, Scopes: g.scopes,
		Audiences: g.audiences, Actors: g.actors, MayAct: g.mayAct, JKT: g.jkt,
		IssuedAt: g.now, NotBefore: g.now, ExpiresAt: g.endOf(g.ttl)}
	if !at.ExpiresAt.After(g.now) {
		return nil, oauth.Errorf(oauth.InvalidGrant, "the grant's subject has expired")
	}
	g.ttl = at.ExpiresAt.Sub(g.now)
	if g.newSess && req.ip.IsValid() {
		g.session.Origin = req.ip.String()
	}
	raw, err := s.mint(&at, req)
	if err != nil {
		return nil, err
	}
	resp := &tokenResponse{AccessToken: raw, TokenType: tokenType(g.jkt), ExpiresIn: int64(g.ttl / time.Second),
		Scope: strings.Join(g.scopes, " ")}
	var rt *storage.Token
	if g.refresh {
		rt, resp.RefreshToken = s.refreshToken(g, at)
		at.FamilyID = rt.FamilyID
	}
	err = s.store.Update(ctx, func(w storage.Writer) error { return s.write(ctx, w, req, g, at, rt, req.claimed) })
	if err != nil {
		return nil, storeErr(err)
	}
	req.recorded = true
	if g.rotate != nil {
		s.rotated.committed(g.rotate.ID, s.now())
		resp.rotated = g.rotate.ID
	}
	if s.metrics != nil {
		s.metrics.TokenIssued(req.grant, storage.AccessToken)
		if rt != nil {
			s.metrics.TokenIssued(req.grant, storage.RefreshToken)
		}
	}
	return resp, nil
}

func (s *Server) write(ctx context.Context, w storage.Writer, req *tokenRequest, g grant, at storage.Token, rt *storage.Token, jtis []*pendingJTI) error {
	if err := s.recordJTIs(ctx, w, jtis); err != nil {
		return err
	}
	if g.rotate != nil {
		fresh, err := s.rotateIn(ctx, w, *g.rotate, *rt)
		if err != nil {
			return err
		}
		if !fresh {
			rt = nil // the successor exists already: hand it out again
			g.eventType = "refresh_repeat"
		}
	}
	if g.rotate == nil && g.parent != "" {
		if err := subjectStillLive(ctx, w, g.parent, g.now); err != nil {
			return err
		}
	}
	if err := s.saveSession(ctx, w, g, at, rt); err != nil {
		return err
	}
	if err := w.CreateToken(ctx, at); err != nil {
		return err
	}
	if rt != nil {
		if err := w.CreateToken(ctx, *rt); err != nil {
			return err
		}
	}
	if err := w.AppendAudit(ctx, grantAudit(req, g)); err != nil {
		return err
	}
	return w.AppendEvent(ctx, timelineEvent(g.session.ID, g.eventType, req.caller.client.ID, detail(g), g.decision, g.now))
}

// saveSession creates the session or extends it so that it outlives its
// newest token, and appends the decision's new facts.
func (s *Server) saveSession(ctx context.Context, w storage.Writer, g grant, at storage.Token, rt *storage.Token) error {
	sess := g.session
	if !g.newSess {
		cur, err := w.GetSession(ctx, sess.ID)
		if err != nil {
			return err
		}
		if cur.Status != storage.SessionActive {
			return oauth.Errorf(oauth.InvalidGrant, "session terminated")
		}
		sess = cur
	}
	for _, exp := range []time.Time{at.ExpiresAt, expiryOf(rt)} {
		if exp.After(sess.ExpiresAt) {
			sess.ExpiresAt = exp
		}
	}
	sess.Facts = append(sess.Facts, sessionFacts(g.decision, g.now)...)
	if g.newSess {
		return w.CreateSession(ctx, sess)
	}
	return w.PutSession(ctx, sess)
}

// refreshToken builds the refresh token of a grant: a new family for a new
// session, or the derived successor in an existing family.
func (s *Server) refreshToken(g grant, at storage.Token) (*storage.Token, string) {
	raw := g.refreshRaw
	if raw == "" {
		raw = refreshPrefix + randomString(32)
	}
	ttl := capTTL(g.client.RefreshTokenTTL.D(), s.cfg.RefreshTokenTTL)
	rt := &storage.Token{ID: TokenID(raw), Kind: storage.RefreshToken, Format: FormatOpaque, ClientID: g.client.ID,
		Subject: at.Subject, SessionID: at.SessionID, ParentID: g.parent, FamilyID: g.family, Scopes: at.Scopes,
		Audiences: at.Audiences, Actors: at.Actors, MayAct: at.MayAct, JKT: at.JKT,
		IssuedAt: g.now, NotBefore: g.now, ExpiresAt: g.endOf(ttl)}
	if rt.FamilyID == "" {
		rt.FamilyID = rt.ID
	}
	if g.rotate != nil { // the family keeps what was first granted (RFC 6749 §6)
		rt.Scopes, rt.Audiences = g.rotate.Scopes, g.rotate.Audiences
	}
	return rt, raw
}

func detail(g grant) string {
	d := "scope=" + strings.Join(g.scopes, " ") + " aud=" + strings.Join(g.audiences, " ")
	if len(g.actors) > 0 {
		d += " act=" + strings.Join(g.actors, ">")
	}
	return d
}

func expiryOf(t *storage.Token) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.ExpiresAt
}

func tokenType(jkt string) string {
	if jkt != "" {
		return "DPoP"
	}
	return "Bearer"
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

package authz

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

var errRefreshInvalid = oauth.Errorf(oauth.InvalidGrant, "refresh token is invalid, expired or revoked")

// errRepeatByOther is errRefreshInvalid, as the client hears it, for a
// repeat inside the grace window by another requester than the rotation's
// (another proof-of-possession key): refused and recorded on the session.
var errRepeatByOther = oauth.Errorf(oauth.InvalidGrant, "refresh token is invalid, expired or revoked")

// refresh runs RFC 6749 §6 with rotation: the presented refresh token is
// used up and replaced by a successor derived from it. A rotated token
// presented again within the grace window, by its client with the same
// proof-of-possession key, gets the same successor (the family never forks)
// and the repeat is recorded on the session's timeline. Outside the window,
// a presentation that arrived before the rotation was answered lost a race
// and gets invalid_grant; one that arrived after it is theft: the whole
// session, family included, is revoked and terminated in one transaction.
func (s *Server) refresh(ctx context.Context, req *tokenRequest) (*tokenResponse, error) {
	c := req.caller.client
	if !c.HasGrant(oauth.GrantRefreshToken) {
		return nil, oauth.Errorf(oauth.UnauthorizedClient, "client is not registered for refresh_token")
	}
	raw := req.form.Get("refresh_token")
	if raw == "" {
		return nil, oauth.Errorf(oauth.InvalidRequest, "refresh_token is required")
	}
	old, sess, err := s.loadRefresh(ctx, raw, c.ID)
	if err != nil {
		return nil, err
	}
	req.sid = sess.ID
	now := s.now()
	if !old.RotatedAt.IsZero() && !s.inGrace(old.RotatedAt, now) {
		if s.rotated.overlapped(old.ID, old.RotatedAt, req.caller.arrived) {
			return nil, errRefreshInvalid // a race lost, not a reuse
		}
		return nil, s.refreshReuse(ctx, req, sess)
	}
	// A refresh narrows the new access token only; the family keeps what was
	// first granted (RFC 6749 §6: never wider than the original grant).
	// The client's current registration bounds the refresh too: a scope or
	// audience an admin removed is gone from every grant at once.
	live, b, err := s.bound(ctx, old, sess, c)
	if err != nil {
		return nil, policyErr(err)
	}
	scopes, err := narrowScopes(req.scopes, live.Scopes)
	if err != nil {
		return nil, err
	}
	auds, err := narrowTargets(req.targets, live.Audiences)
	if err != nil {
		return nil, err
	}
	jkt, err := s.binding(ctx, req, old.JKT, &subjectToken{token: old, session: sess, owner: c})
	if err != nil {
		return nil, err
	}
	d, err := s.judgeSession(ctx, s.event(ctx, risk.OpRefresh, sess.ID, c, req))
	if err == nil && d.NoRefresh && !d.ReportOnly {
		err = oauth.Errorf(oauth.InvalidGrant, "refresh refused by policy")
	}
	if err != nil {
		s.retire(ctx, old)
		return nil, err
	}
	g := grant{client: c, session: sess, scopes: scopes, audiences: auds, caps: b.caps, format: c.TokenFormat,
		ttl: capTTL(c.AccessTokenTTL.D(), s.cfg.AccessTokenTTL, d.MaxTTL), now: now, refresh: true,
		parent: old.ID, family: old.FamilyID, actors: old.Actors, mayAct: old.MayAct, jkt: jkt,
		decision: d, eventType: "refresh", refreshRaw: s.successorRefresh(raw), rotate: &old}
	if sess.Issuer != "" {
		// A session opened from an external JWT ends with it: the family's
		// first refresh token did, and no successor outlives its predecessor.
		g.notAfter = old.ExpiresAt
	}
	resp, err := s.issue(ctx, req, g)
	if errors.Is(err, errRepeatByOther) {
		s.recordFact(ctx, req, subjectToken{token: old, session: sess, owner: c}, risk.FactPoPMismatch,
			"rotated refresh token repeated inside the grace window with another proof-of-possession key")
	}
	return resp, err
}

// retire uses up a refresh token whose redemption the risk engine refused:
// it is spent either way, so presenting it again later, by whoever holds a
// copy, is a reuse and ends the session (refreshReuse).
func (s *Server) retire(ctx context.Context, t storage.Token) {
	err := s.store.Update(ctx, func(w storage.Writer) error {
		cur, err := w.GetToken(ctx, t.ID)
		if err != nil || !cur.RotatedAt.IsZero() {
			return err
		}
		cur.RotatedAt = s.now()
		return w.PutToken(ctx, cur)
	})
	if err != nil {
		s.log.ErrorContext(ctx, "retiring a refused refresh token failed", "session", t.SessionID, "err", err)
	}
}

// loadRefresh finds a live refresh token of client clientID and its session.
func (s *Server) loadRefresh(ctx context.Context, raw, clientID string) (storage.Token, storage.Session, error) {
	t, err := s.store.GetToken(ctx, TokenID(raw))
	if errors.Is(err, storage.ErrNotFound) {
		return t, storage.Session{}, errRefreshInvalid
	}
	if err != nil {
		return t, storage.Session{}, storeErr(fmt.Errorf("authz: load refresh token: %w", err))
	}
	if t.Kind != storage.RefreshToken || t.ClientID != clientID || !t.Active(s.now()) {
		return t, storage.Session{}, errRefreshInvalid
	}
	sess, err := s.store.GetSession(ctx, t.SessionID)
	if err != nil {
		return t, sess, storeErr(err)
	}
	if sess.Status != storage.SessionActive {
		return t, sess, errRefreshInvalid
	}
	return t, sess, nil
}

// rotateIn marks the grant's old refresh token used, inside w, and reports
// whether the successor still has to be created. When a concurrent request
// or a retry inside the grace window rotated it already, the successor
// exists: it is handed out again if it is still unused and bound to the
// same proof-of-possession key as this request's tokens, and nothing forks.
func (s *Server) rotateIn(ctx context.Context, w storage.Writer, old, successor storage.Token) (bool, error) {
	t, err := w.GetToken(ctx, old.ID)
	if err != nil {
		return false, err
	}
	if !t.RevokedAt.IsZero() {
		return false, errRefreshInvalid
	}
	if t.RotatedAt.IsZero() {
		t.RotatedAt, t.SuccessorID = s.now(), successor.ID
		return true, w.PutToken(ctx, t)
	}
	if t.SuccessorID != successor.ID || !s.inGrace(t.RotatedAt, s.now()) {
		return false, errRefreshInvalid
	}
	next, err := w.GetToken(ctx, successor.ID)
	if err != nil || !next.RotatedAt.IsZero() || !next.RevokedAt.IsZero() {
		return false, errRefreshInvalid
	}
	if next.ClientID != successor.ClientID || next.JKT != successor.JKT {
		return false, errRepeatByOther
	}
	return false, nil
}

// inGrace reports whether a refresh token rotated at rotatedAt may still be
// repeated at now. A zero grace allows no repeat at all.
func (s *Server) inGrace(rotatedAt, now time.Time) bool {
	return s.cfg.RefreshGrace > 0 && !now.After(rotatedAt.Add(s.cfg.RefreshGrace))
}

// refreshReuse handles a rotated refresh token presented again outside the
// grace window: the fact is recorded and the session terminated, every token
// of it revoked, before the client hears invalid_grant.
func (s *Server) refreshReuse(ctx context.Context, req *tokenRequest, sess storage.Session) error {
	ev := s.event(ctx, risk.OpRefresh, sess.ID, req.caller.client, req)
	ev.Facts = []string{risk.FactRefreshReuse}
	ev.Evidence = "rotated refresh token presented again after the grace window"
	d := s.observe(ctx, ev)
	err := s.store.Update(ctx, func(w storage.Writer) error {
		return s.terminateIn(ctx, w, sess.ID, "refresh token reuse", d)
	})
	if err != nil {
		return storeErr(err)
	}
	return errRefreshInvalid
}

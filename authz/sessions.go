package authz

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// TerminateSession ends session sid: it is marked terminated and every one
// of its tokens revoked, durably, before TerminateSession returns. Ending an
// ended session is not an error. It returns storage.ErrNotFound (wrapped) for
// an unknown session.
func (s *Server) TerminateSession(ctx context.Context, sid, reason string) error {
	d := risk.Decision{Action: risk.Terminate, Level: risk.LevelCritical,
		Reasons: []risk.Reason{{Code: "admin.terminate", Evidence: reason}}}
	err := s.store.Update(ctx, func(w storage.Writer) error { return s.terminateIn(ctx, w, sid, reason, d) })
	if err != nil {
		return fmt.Errorf("authz: terminate session %s: %w", sid, err)
	}
	return nil
}

// terminateIn terminates session sid inside w and records the decision on
// its timeline.
func (s *Server) terminateIn(ctx context.Context, w storage.Writer, sid, reason string, d risk.Decision) error {
	sess, err := w.GetSession(ctx, sid)
	if err != nil {
		return err
	}
	now := s.now()
	if sess.Status != storage.SessionTerminated {
		sess.Status, sess.TerminatedAt, sess.Reason = storage.SessionTerminated, now, reason
		if err := s.notifyRevoked(ctx, w, sess, reason, d); err != nil {
			return err
		}
	}
	sess.Facts = append(sess.Facts, sessionFacts(d, now)...)
	if err := w.PutSession(ctx, sess); err != nil {
		return err
	}
	toks, err := w.ListSessionTokens(ctx, sid)
	if err != nil {
		return err
	}
	n := 0
	for _, t := range toks {
		if t.RevokedAt.IsZero() {
			n++
		}
		if err := revokeIn(ctx, w, t, now); err != nil {
			return err
		}
	}
	if err := w.AppendAudit(ctx, terminateAudit(sess, reason, n, now)); err != nil {
		return err
	}
	ev := timelineEvent(sid, "terminate", sess.ClientID, reason, d, now)
	ev.Action = string(risk.Terminate)
	return w.AppendEvent(ctx, ev)
}

// revokeIn marks t revoked at now unless it already is.
func revokeIn(ctx context.Context, w storage.Writer, t storage.Token, now time.Time) error {
	if !t.RevokedAt.IsZero() {
		return nil
	}
	t.RevokedAt = now
	return w.PutToken(ctx, t)
}

// Revoke revokes the token raw on behalf of client clientID (RFC 7009 §2.1).
// An unknown token is not an error. A token of another client is refused
// with unauthorized_client and left untouched. Revoking a refresh token
// revokes its whole family; revoking any token revokes every token derived
// from it by exchange. The revocation is durable before Revoke returns.
//
// When the revocation leaves the session nothing to continue with (the
// session's own access token or refresh family revoked, no live refresh
// token left), the risk engine is told the session ended: it closes the
// session and, if it was clean, learns the client's baseline from it.
func (s *Server) Revoke(ctx context.Context, clientID, raw string) error {
	var ended *storage.Token
	err := s.store.Update(ctx, func(w storage.Writer) error {
		ended = nil
		t, err := w.GetToken(ctx, TokenID(raw))
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if t.ClientID != clientID {
			return oauth.Errorf(oauth.UnauthorizedClient, "the token was not issued to this client")
		}
		if err := s.revokeTree(ctx, w, t); err != nil {
			return err
		}
		if ownToken(t) {
			live, err := liveRefresh(ctx, w, t.SessionID, s.now())
			if err == nil && !live {
				ended = &t
				err = s.notifyEnded(ctx, w, t.SessionID)
			}
			return err
		}
		return nil
	})
	if err == nil && ended != nil {
		s.reportEnd(ctx, *ended)
	}
	return storeErr(err)
}

// ownToken reports whether t is one of its session's own tokens: a refresh
// token, or an access token the session's grant or a refresh minted, not
// one derived by exchange.
func ownToken(t storage.Token) bool {
	return len(t.Actors) == 0 && (t.Kind == storage.RefreshToken || t.ParentID == "" || t.FamilyID != "")
}

// liveRefresh reports whether session sid still holds a usable refresh token.
func liveRefresh(ctx context.Context, w storage.Writer, sid string, now time.Time) (bool, error) {
	toks, err := w.ListSessionTokens(ctx, sid)
	if err != nil {
		return false, err
	}
	for _, t := range toks {
		if t.Kind == storage.RefreshToken && t.RotatedAt.IsZero() && t.Active(now) {
			return true, nil
		}
	}
	return false, nil
}

// reportEnd tells the risk engine that the client ended t's session.
func (s *Server) reportEnd(ctx context.Context, t storage.Token) {
	c, err := s.store.GetClient(ctx, t.ClientID)
	if err != nil {
		c = storage.Client{ID: t.ClientID}
	}
	s.observe(ctx, s.event(ctx, risk.OpRevoke, t.SessionID, c, nil))
}

// revokeTree revokes t, its refresh family when t is a refresh token, and
// every token derived from those.
func (s *Server) revokeTree(ctx context.Context, w storage.Writer, t storage.Token) error {
	all, err := w.ListSessionTokens(ctx, t.SessionID)
	if err != nil {
		return err
	}
	roots := []storage.Token{t}
	if t.Kind == storage.RefreshToken {
		roots = members(all, familyOf(t, all))
	}
	ids := map[string]bool{}
	for _, r := range roots {
		for _, id := range descendants(r, all) {
			ids[id] = true
		}
	}
	now := s.now()
	for _, x := range all {
		if ids[x.ID] {
			if err := revokeIn(ctx, w, x, now); err != nil {
				return err
			}
		}
	}
	if err := w.AppendAudit(ctx, revokeAudit(t, len(ids)-1, now)); err != nil {
		return err
	}
	return w.AppendEvent(ctx, storage.Event{SessionID: t.SessionID, At: now, Type: "revoke", ClientID: t.ClientID,
		Detail: fmt.Sprintf("%s and %d derived", t.Kind, len(ids)-1)})
}

func members(all []storage.Token, ids []string) []storage.Token {
	var out []storage.Token
	for _, t := range all {
		if slices.Contains(ids, t.ID) {
			out = append(out, t)
		}
	}
	return out
}

// descendants returns the IDs of root and every token derived from it (by
// exchange or by refresh), found among the session's tokens.
func descendants(root storage.Token, all []storage.Token) []string {
	out := []string{root.ID}
	for changed := true; changed; {
		changed = false
		for _, t := range all {
			if t.ParentID != "" && slices.Contains(out, t.ParentID) && !slices.Contains(out, t.ID) {
				out = append(out, t.ID)
				changed = true
			}
		}
	}
	return out
}

// familyOf returns the IDs of every token of root's refresh family.
func familyOf(root storage.Token, all []storage.Token) []string {
	var out []string
	for _, t := range all {
		if t.FamilyID != "" && t.FamilyID == root.FamilyID {
			out = append(out, t.ID)
		}
	}
	return out
}

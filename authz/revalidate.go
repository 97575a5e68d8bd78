package authz

import (
	"context"
	"errors"
	"net/http"

	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// RevalidationHandler serves Vigil's step-up endpoint for non-human clients.
// A client whose session was answered "revalidation_required" (at the token
// endpoint) or whose resource server was told step_up (at introspection)
// proves itself again here: it names the session by one of its tokens
// (`token`) and authenticates with a fresh private_key_jwt client assertion;
// a delegated session's actor adds a fresh `actor_token`. A shared secret is
// not a stronger proof and fails the challenge. Passing never resets the
// session's score; failing raises it.
func (s *Server) RevalidationHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sid, err := s.revalidate(r)
		if err != nil {
			oauth.WriteError(w, r, s.log, err)
			return
		}
		oauth.WriteJSON(w, http.StatusOK, map[string]any{"revalidated": true, "sid": sid})
	})
}

func (s *Server) revalidate(r *http.Request) (string, error) {
	ctx := r.Context()
	form, err := oauth.ParseForm(r, oauth.DefaultLimits)
	if err != nil {
		return "", err
	}
	t, sess, err := s.sessionOf(ctx, form.Get("token"))
	if err != nil {
		return "", err
	}
	c, authErr := s.authenticate(ctx, r, form)
	owner := authErr == nil && (t.ClientID == c.client.ID || sess.ClientID == c.client.ID)
	if authErr == nil && c.jti != nil {
		// A verified assertion is used up, whether or not it passes.
		if err := s.useUp(ctx, []*pendingJTI{c.jti}); err != nil {
			return "", err
		}
	}
	passed := owner && c.method == AuthPrivateKeyJWT &&
		(len(t.Actors) == 0 || s.freshActor(ctx, form, c.client) == nil)
	// Whoever holds a token of the session and cannot prove more fails the
	// challenge: that raises the session's risk, it never lowers it.
	sessClient, _ := s.store.GetClient(ctx, sess.ClientID)
	ev := s.event(ctx, risk.OpRevalidate, sess.ID, sessClient, nil)
	ev.Passed, ev.Actors, ev.IP, ev.Caller = passed, t.Actors, RemoteIP(r), c.client.ID
	d := s.observe(ctx, ev)
	if err := s.recordDecision(ctx, sess.ID, "revalidate", c.client.ID, d, passed); err != nil {
		return "", err
	}
	switch {
	case authErr != nil:
		return "", authErr
	case !passed:
		return "", errInvalidClient("revalidation needs a fresh private_key_jwt client assertion by the session's client")
	case d.Action == risk.Terminate && !d.ReportOnly:
		return "", oauth.Errorf(oauth.InvalidGrant, "session terminated")
	}
	return sess.ID, nil
}

// useUp claims and durably records single-use identifiers in their own transaction.
func (s *Server) useUp(ctx context.Context, jtis []*pendingJTI) error {
	if err := s.claimJTIs(jtis); err != nil {
		return err
	}
	if err := s.store.Update(ctx, func(w storage.Writer) error { return s.recordJTIs(ctx, w, jtis) }); err != nil {
		s.releaseJTIs(jtis)
		return storeErr(err)
	}
	return nil
}

// sessionOf finds the active session of a token.
func (s *Server) sessionOf(ctx context.Context, raw string) (storage.Token, storage.Session, error) {
	invalid := oauth.Errorf(oauth.InvalidRequest, "token does not name a live session")
	if raw == "" {
		return storage.Token{}, storage.Session{}, oauth.Errorf(oauth.InvalidRequest, "token is required")
	}
	t, err := s.store.GetToken(ctx, TokenID(raw))
	if errors.Is(err, storage.ErrNotFound) {
		return t, storage.Session{}, invalid
	}
	if err != nil {
		return t, storage.Session{}, storeErr(err)
	}
	sess, err := s.store.GetSession(ctx, t.SessionID)
	if err != nil {
		return t, sess, storeErr(err)
	}
	if sess.Status != storage.SessionActive {
		return t, sess, invalid
	}
	return t, sess, nil
}

// freshActor checks the actor_token of a delegated session's revalidation.
func (s *Server) freshActor(ctx context.Context, form map[string][]string, caller storage.Client) error {
	vals := form["actor_token"]
	if len(vals) != 1 {
		return errors.New("authz: actor_token required")
	}
	_, err := s.checkActorToken(ctx, vals[0], caller)
	return err
}

// recordDecision appends a decision to the session's timeline, persists its
// new facts, and terminates the session when the decision says so. raised
// reports a passed revalidation, which subscribers hear of as a raised
// assurance level.
func (s *Server) recordDecision(ctx context.Context, sid, typ, clientID string, d risk.Decision, raised bool) error {
	now := s.now()
	err := s.store.Update(ctx, func(w storage.Writer) error {
		if d.Action == risk.Terminate && !d.ReportOnly {
			return s.terminateIn(ctx, w, sid, "risk: "+typ, d)
		}
		sess, err := w.GetSession(ctx, sid)
		if err != nil {
			return err
		}
		if len(d.NewFacts) > 0 {
			sess.Facts = append(sess.Facts, sessionFacts(d, now)...)
			if err := w.PutSession(ctx, sess); err != nil {
				return err
			}
		}
		if err := w.AppendAudit(ctx, decisionAudit(sess, typ, clientID, d, now)); err != nil {
			return err
		}
		if raised && s.notify != nil {
			if err := s.notify.AssuranceRaised(ctx, w, sess); err != nil {
				return err
			}
		}
		return w.AppendEvent(ctx, timelineEvent(sid, typ, clientID, "", d, now))
	})
	return storeErr(err)
}

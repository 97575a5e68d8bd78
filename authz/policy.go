package authz

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/storage"
)

// The registration policy: one check, applied by every grant
// (client_credentials, refresh, exchange) and by introspection to live
// tokens, against the registrations as they are now. A client, a resource or
// a trusted issuer an admin narrows, disables or deletes narrows every grant
// and every live token at once:
//
//   - the client must exist and be enabled; a token held in another client's
//     session (a delegated token) needs that client enabled too;
//   - scopes are bounded by the client's registered scopes;
//   - audiences are bounded by the client's registered audiences, and an
//     audience no resource registration names any more is gone;
//   - a session opened from a trusted issuer's JWT is bounded by that
//     issuer's registration (its scopes and audiences), and ends with it or
//     with the mapping of its subject to the session's client;
//   - a token held for another client's session (delegated, or by
//     impersonation) needs that client's registration to still allow it:
//     every actor of its chain named in may_act, impersonation still on;
//   - a resource's max_ttl caps every token for its audience, live ones
//     included (from their issue time);
//   - a client registered with dpop has only sender-constrained tokens.

// ErrRegistration reports that the registrations as they are now no longer
// allow a token at all (its client or issuer disabled or deleted, DPoP
// required of an unbound token). Introspection answers it inactive.
var ErrRegistration = errors.New("authz: the registrations no longer allow this token")

// errDPoPRequired is ErrRegistration for an unbound token of a client that
// now requires DPoP.
var errDPoPRequired = fmt.Errorf("%w: the client requires DPoP-bound tokens", ErrRegistration)

// bounds are what the registrations allow a client in a session.
type bounds struct {
	scopes, audiences []string
	// caps are the registered resources' max_ttl by audience (set ones only).
	caps map[string]time.Duration
}

// allowed returns the bounds of client c's grants in session sess, which
// may be a session still to be opened (sess.Issuer set for one opened from
// an external JWT).
func (s *Server) allowed(ctx context.Context, c storage.Client, sess storage.Session) (bounds, error) {
	if c.Disabled {
		return bounds{}, ErrRegistration
	}
	b := bounds{scopes: slices.Clone(c.Scopes)}
	if sess.Issuer != "" {
		iss, err := s.store.GetIssuer(ctx, sess.Issuer)
		if errors.Is(err, storage.ErrNotFound) {
			return bounds{}, ErrRegistration
		}
		if err != nil {
			return bounds{}, fmt.Errorf("authz: load issuer: %w", err)
		}
		if mapSubject(iss.Subjects, sess.Subject) != orDefault(sess.ClientID, c.ID) {
			return bounds{}, ErrRegistration
		}
		b.scopes = orAll(iss.Scopes, b.scopes)
		b.audiences = orAll(iss.Audiences, c.Audiences)
	} else {
		b.audiences = slices.Clone(c.Audiences)
	}
	auds, caps, err := s.registered(ctx, b.audiences)
	if err != nil {
		return bounds{}, err
	}
	b.audiences, b.caps = auds, caps
	return b, nil
}

// registered keeps the audiences a resource registration names, with the
// max_ttl of those that set one.
func (s *Server) registered(ctx context.Context, auds []string) ([]string, map[string]time.Duration, error) {
	out := auds[:0:0]
	var caps map[string]time.Duration
	for _, a := range auds {
		r, err := s.store.GetResource(ctx, a)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			continue
		case err != nil:
			return nil, nil, fmt.Errorf("authz: load resource: %w", err)
		}
		out = append(out, a)
		if r.MaxTTL > 0 {
			if caps == nil {
				caps = map[string]time.Duration{}
			}
			caps[a] = r.MaxTTL.D()
		}
	}
	return out, caps, nil
}

// Bound applies the registration policy to a live token held by client
// holder (t.ClientID) in session sess: it returns t with its scopes and
// audiences narrowed to what the registrations allow now, or ErrRegistration
// when they allow nothing. Other errors are storage failures.
func (s *Server) Bound(ctx context.Context, t storage.Token, sess storage.Session, holder storage.Client) (storage.Token, error) {
	t, _, err := s.bound(ctx, t, sess, holder)
	return t, err
}

// bound is Bound, also returning the bounds it applied.
func (s *Server) bound(ctx context.Context, t storage.Token, sess storage.Session, holder storage.Client) (storage.Token, bounds, error) {
	if holder.ID != t.ClientID {
		return t, bounds{}, ErrRegistration
	}
	if holder.DPoP && t.JKT == "" {
		return t, bounds{}, errDPoPRequired
	}
	if sess.ClientID != holder.ID {
		owner, err := s.store.GetClient(ctx, sess.ClientID)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && owner.Disabled) {
			return t, bounds{}, ErrRegistration
		}
		if err != nil {
			return t, bounds{}, fmt.Errorf("authz: load client: %w", err)
		}
		if !actsFor(owner, holder.ID, t.Actors) {
			return t, bounds{}, ErrRegistration
		}
	}
	b, err := s.allowed(ctx, holder, sess)
	if err != nil {
		return t, bounds{}, err
	}
	t.Scopes, t.Audiences = oauth.Intersect(t.Scopes, b.scopes), oauth.Intersect(t.Audiences, b.audiences)
	if limit := capOf(b.caps, t.Audiences); limit > 0 && t.IssuedAt.Add(limit).Before(t.ExpiresAt) {
		t.ExpiresAt = t.IssuedAt.Add(limit)
	}
	return t, b, nil
}

// actsFor reports whether owner's registration still lets holder hold a
// token of owner's session: a delegated token (actors, current first) needs
// every actor of its chain in owner's may_act; one without actors is
// impersonation, which owner must still allow for holder.
func actsFor(owner storage.Client, holder string, actors []string) bool {
	if len(actors) == 0 {
		return owner.Impersonation && slices.Contains(owner.MayAct, holder)
	}
	if actors[0] != holder {
		return false
	}
	for _, a := range actors {
		if !slices.Contains(owner.MayAct, a) {
			return false
		}
	}
	return true
}

// capOf is the shortest of caps' max_ttl for auds (0 when none caps): the
// longest any token for all of them may live.
func capOf(caps map[string]time.Duration, auds []string) time.Duration {
	var limit time.Duration
	for _, a := range auds {
		limit = capTTL(limit, caps[a])
	}
	return limit
}

// policyErr is the answer to a grant the registrations no longer allow.
func policyErr(err error) error {
	if errors.Is(err, errDPoPRequired) {
		return errDPoP("this client's tokens must be DPoP-bound: send a DPoP proof")
	}
	if errors.Is(err, ErrRegistration) {
		return oauth.Errorf(oauth.InvalidGrant, "the registrations no longer allow this grant")
	}
	return storeErr(err)
}

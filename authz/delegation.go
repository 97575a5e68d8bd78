package authz

import (
	"context"
	"errors"
	"slices"

	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// delegation decides who the issued token acts for and returns its
// delegation chain, current actor first (RFC 8693 §4.1), and the verified
// actor token when the request carries one. The decision rests
// on the subject token's stored provenance and the subject's current
// registration, re-checked at every hop, never on which parameters the
// request happens to carry:
//   - the subject's own client exchanging without an actor narrows its token;
//   - a delegated subject keeps its chain, and only its current actor may
//     exchange it again, while the subject's registration still names it
//     (the chain cannot be dropped);
//   - an actor_token must be the caller's own, the subject's registration must
//     name the caller in may_act, no actor may appear twice, and the chain may
//     not exceed the maximum depth;
//   - impersonation (no actor, another client's subject) only where the
//     subject's registration allows it for the caller.
func (s *Server) delegation(ctx context.Context, req *tokenRequest, p exchangeParams, subj subjectToken) ([]string, *storage.Token, error) {
	caller := req.caller.client.ID
	prior := subj.token.Actors
	if len(prior) > 0 && len(subj.token.MayAct) > 0 {
		return nil, nil, s.refuseDelegation(ctx, req, subj, "subject token carries both act and may_act")
	}
	if p.actor == "" {
		chain, err := s.withoutActor(ctx, req, subj, caller, prior)
		return chain, nil, err
	}
	actor, err := s.checkActorToken(ctx, p.actor, req.caller.client)
	if err != nil {
		return nil, nil, err
	}
	if !s.mayAct(subj, caller) {
		return nil, nil, s.refuseDelegation(ctx, req, subj, "may_act does not name "+caller)
	}
	if len(prior) > 0 && prior[0] == caller {
		return prior, &actor, nil // the current actor narrows its own delegated token
	}
	if slices.Contains(prior, caller) || caller == subj.owner.ID {
		return nil, nil, s.refuseDelegation(ctx, req, subj, "actor repeats in the delegation chain")
	}
	chain := append([]string{caller}, prior...)
	if len(chain) > s.cfg.MaxChainDepth {
		return nil, nil, s.refuseDelegation(ctx, req, subj, "delegation chain too deep")
	}
	return chain, &actor, nil
}

func (s *Server) withoutActor(ctx context.Context, req *tokenRequest, subj subjectToken, caller string, prior []string) ([]string, error) {
	switch {
	case len(prior) > 0 && prior[0] == caller && s.mayAct(subj, caller):
		return prior, nil // still permitted: the current actor narrows its delegated token
	case len(prior) > 0 && prior[0] == caller:
		return nil, s.refuseDelegation(ctx, req, subj, "may_act no longer names "+caller)
	case len(prior) > 0:
		return nil, s.refuseDelegation(ctx, req, subj, "only the current actor may exchange a delegated token")
	case subj.owner.ID == caller:
		return nil, nil
	case subj.owner.Impersonation && slices.Contains(subj.owner.MayAct, caller):
		return nil, nil
	}
	return nil, s.refuseDelegation(ctx, req, subj, "impersonation is not allowed")
}

// mayAct reports whether caller may act for the subject: the subject's
// current registration must name it, and so must the token's own may_act
// when it carries one.
func (s *Server) mayAct(subj subjectToken, caller string) bool {
	if !slices.Contains(subj.owner.MayAct, caller) {
		return false
	}
	return len(subj.token.MayAct) == 0 || slices.Contains(subj.token.MayAct, caller)
}

// checkActorToken verifies that the actor token is a live, undelegated
// access token of the calling client itself, bound to a DPoP key when the
// client's registration demands one (as introspection would), and returns
// its record (whose key the exchange's proof must match, see
// exchangeBinding).
func (s *Server) checkActorToken(ctx context.Context, raw string, client storage.Client) (storage.Token, error) {
	caller := client.ID
	t, err := s.store.GetToken(ctx, TokenID(raw))
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Token{}, oauth.Errorf(oauth.InvalidRequest, "actor_token is invalid")
	}
	if err != nil {
		return storage.Token{}, storeErr(err)
	}
	switch {
	case t.Kind != storage.AccessToken || t.Format == FormatTxn || !t.Active(s.now()):
		return storage.Token{}, oauth.Errorf(oauth.InvalidRequest, "actor_token is invalid, expired or revoked")
	case t.ClientID != caller || t.Subject != caller || len(t.Actors) > 0:
		return storage.Token{}, oauth.Errorf(oauth.InvalidRequest, "actor_token was not issued to the calling client")
	case client.DPoP && t.JKT == "":
		return storage.Token{}, oauth.Errorf(oauth.InvalidRequest, "actor_token is not DPoP-bound, and the calling client's tokens must be")
	}
	sess, err := s.store.GetSession(ctx, t.SessionID)
	if err != nil || sess.Status != storage.SessionActive {
		return storage.Token{}, oauth.Errorf(oauth.InvalidRequest, "actor_token's session has ended")
	}
	return t, nil
}

// refuseDelegation records a delegation anomaly on the subject's session
// and returns the refusal (invalid_request, RFC 8693 §2.2.2).
func (s *Server) refuseDelegation(ctx context.Context, req *tokenRequest, subj subjectToken, why string) error {
	if !subj.newSess {
		s.recordFact(ctx, req, subj, risk.FactChainAnomaly, why)
	}
	return oauth.Errorf(oauth.InvalidRequest, "delegation refused: %s", why)
}

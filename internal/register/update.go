package register

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/internal/secret"
	"github.com/vigil-auth/vigil/storage"
)

// update serves RFC 7592 §2.2: the body replaces the registered metadata
// whole, checked against the policy (and the initial access token the
// client registered with) like a registration. client_id must be the
// client's; a client_secret, if sent, must be the current one; the
// server-assigned members must not be sent. The registration access token
// stays the same. A client moving to a secret method gets a new secret.
func (h *Handler) update(w http.ResponseWriter, r *http.Request) {
	c, reg, raw, err := h.configured(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req, err := decode(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.checkUpdate(req, c); err != nil {
		h.fail(w, r, err)
		return
	}
	ctx := r.Context()
	initial := h.registeredWith(ctx, reg)
	m, iss, err := h.metadata(ctx, req, initial)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	next, generated := h.replace(c, m)
	stored, _ := json.Marshal(m)
	reg.Metadata, reg.UpdatedAt, reg.StatementIssuer = stored, next.UpdatedAt, iss
	err = h.d.Store.Update(ctx, func(wr storage.Writer) error {
		if err := errors.Join(wr.PutClient(ctx, next), wr.PutRegistration(ctx, reg)); err != nil {
			return err
		}
		return wr.AppendAudit(ctx, storage.AuditRecord{At: next.UpdatedAt, Type: "register", ClientID: c.ID,
			Outcome: "updated", Reason: "dynamic registration", Detail: "updated by the client"})
	})
	if err != nil {
		h.fail(w, r, storeErr(err))
		return
	}
	oauth.WriteJSON(w, http.StatusOK, h.response(next, m, reg, raw, generated))
}

// checkUpdate applies RFC 7592 §2.2's rules on the members of an update.
func (h *Handler) checkUpdate(req request, c storage.Client) error {
	switch {
	case req.RegistrationAccessToken != "" || req.RegistrationClientURI != "" ||
		req.ClientIDIssuedAt != nil || req.ClientSecretExpiresAt != nil:
		return oauth.Errorf(oauth.InvalidRequest, "registration_access_token, registration_client_uri, "+
			"client_id_issued_at and client_secret_expires_at must not be sent in an update")
	case req.ClientID != c.ID:
		return oauth.Errorf(oauth.InvalidRequest, "client_id must be the client's own")
	case req.ClientSecret != "" && (c.SecretHash == "" || h.d.Hasher.Verify(c.SecretHash, req.ClientSecret) != nil):
		return metadataErr("client_secret does not match the current secret; clients cannot choose their secret")
	}
	return nil
}

// registeredWith returns the initial access token the client registered
// with, whose narrowing still bounds it; nil if none (or it is gone).
func (h *Handler) registeredWith(ctx context.Context, reg storage.Registration) *storage.InitialAccessToken {
	if reg.InitialTokenID == "" {
		return nil
	}
	t, err := h.d.Store.GetInitialToken(ctx, reg.InitialTokenID)
	if err != nil {
		return nil
	}
	return &t
}

// replace builds the updated record: the client's record with the
// members registration owns (kind, grants, scopes, audiences, keys, DPoP,
// declarations) taken from the new metadata, so what an admin set on the
// record (lifetimes, delegation, disabled) survives; the old secret when
// the method keeps one, a generated secret when it newly needs one.
func (h *Handler) replace(c storage.Client, m Metadata) (storage.Client, string) {
	from := newClient(c.ID, m)
	next := c
	next.Kind, next.GrantTypes, next.Scopes, next.Audiences = from.Kind, from.GrantTypes, from.Scopes, from.Audiences
	next.JWKS, next.JWKSURI, next.DPoP = from.JWKS, from.JWKSURI, from.DPoP
	next.Networks, next.Schedule, next.Purposes = from.Networks, from.Schedule, from.Purposes
	next.UpdatedAt = h.d.Now()
	if m.TokenEndpointAuthMethod == "private_key_jwt" {
		next.SecretHash = ""
		return next, ""
	}
	if c.SecretHash != "" {
		return next, ""
	}
	generated := secret.Generate(SecretPrefix)
	next.SecretHash = h.d.Hasher.Hash(generated)
	return next, generated
}

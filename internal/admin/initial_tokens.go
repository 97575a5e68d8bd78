package admin

import (
	"net/http"

	"github.com/vigil-auth/vigil/internal/limits"
	"github.com/vigil-auth/vigil/internal/register"
	"github.com/vigil-auth/vigil/internal/secret"
	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/storage"
)

// MaxInitialTokenTTL bounds an initial access token's life.
const MaxInitialTokenTTL = limits.MaxInitialTokenTTL

// InitialTokenInput asks for an initial access token for dynamic client
// registration: what clients registered with it may have (each list
// narrows the registration policy), how many registrations it allows
// (max_uses; 1 is single use, 0 unlimited) and how long it lives
// (expires_in, at most MaxInitialTokenTTL).
type InitialTokenInput struct {
	Description string           `json:"description,omitempty"`
	Kinds       []string         `json:"kinds,omitempty"`
	GrantTypes  []string         `json:"grant_types,omitempty"`
	Scopes      []string         `json:"scopes,omitempty"`
	Audiences   []string         `json:"audiences,omitempty"`
	AuthMethods []string         `json:"auth_methods,omitempty"`
	MaxUses     int              `json:"max_uses"`
	ExpiresIn   storage.Duration `json:"expires_in"`
}

// InitialTokenOutput is an initial access token as the API returns it;
// Token, the value, is returned once, when it is created.
type InitialTokenOutput struct {
	storage.InitialAccessToken
	Token string `json:"token,omitempty"`
}

// createInitialToken issues an initial access token; its value is
// returned once and only its hash is stored.
func (a *API) createInitialToken(w http.ResponseWriter, r *http.Request) {
	var in InitialTokenInput
	if err := decodeBody(w, r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if in.ExpiresIn <= 0 || in.ExpiresIn.D() > MaxInitialTokenTTL {
		a.fail(w, r, badRequest("expires_in must be positive and at most %s", MaxInitialTokenTTL))
		return
	}
	now := a.d.Now()
	raw := secret.Generate(register.InitialTokenPrefix)
	t := storage.InitialAccessToken{ID: register.TokenID(raw), Description: in.Description, Kinds: in.Kinds,
		GrantTypes: in.GrantTypes, Scopes: in.Scopes, Audiences: in.Audiences, AuthMethods: in.AuthMethods,
		MaxUses: in.MaxUses, ExpiresAt: now.Add(in.ExpiresIn.D()), CreatedAt: now}
	if err := t.Validate(); err != nil {
		a.fail(w, r, invalid("initial access token", err))
		return
	}
	err := a.d.Store.Update(r.Context(), func(wr storage.Writer) error {
		if err := wr.PutInitialToken(r.Context(), t); err != nil {
			return err
		}
		return a.auditIn(r.Context(), wr, storage.AuditRecord{Outcome: "initial_token_created", Detail: "initial access token " + t.ID[:8]})
	})
	if err != nil {
		a.fail(w, r, storeErr(err, "initial access token"))
		return
	}
	a.d.Log.InfoContext(r.Context(), "admin: initial access token created", "id", t.ID, "max_uses", t.MaxUses)
	writeJSON(w, http.StatusCreated, InitialTokenOutput{InitialAccessToken: t, Token: raw})
}

func (a *API) listInitialTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := a.d.Store.ListInitialTokens(r.Context())
	if err != nil {
		a.fail(w, r, storeErr(err, "initial access tokens"))
		return
	}
	if ts == nil {
		ts = []storage.InitialAccessToken{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"initial_access_tokens": ts})
}

// deleteInitialToken removes an initial access token; clients already
// registered with it stay.
func (a *API) deleteInitialToken(w http.ResponseWriter, r *http.Request) {
	id := web.Var(r, "id")
	err := a.d.Store.Update(r.Context(), func(wr storage.Writer) error {
		if err := wr.DeleteInitialToken(r.Context(), id); err != nil {
			return err
		}
		return a.auditIn(r.Context(), wr, storage.AuditRecord{Outcome: "initial_token_deleted", Detail: "initial access token " + id})
	})
	if err != nil {
		a.fail(w, r, storeErr(err, "initial access token "+id))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

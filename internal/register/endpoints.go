package register

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/internal/secret"
	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/storage"
)

// newClientID returns a registered client's ID: ClientIDPrefix and 26
// random base32 characters (130 bits), lower case, so it is already in the
// canonical form of client IDs (storage.CanonicalID).
func newClientID() string {
	b := make([]byte, 17)
	_, _ = rand.Read(b)
	return ClientIDPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))[:26]
}

// bearer returns the request's bearer token (RFC 6750 §2.1) and whether
// an Authorization header was sent at all.
func bearer(r *http.Request) (tok string, sent bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(tok), true
}

// decode reads a registration or update body: JSON, at most MaxBodySize
// bytes. Members Vigil does not know are ignored (RFC 7591 §2); a body
// that is not a JSON object of the right member types is
// invalid_client_metadata.
func decode(w http.ResponseWriter, r *http.Request) (request, error) {
	var req request
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return req, &oauth.Error{Code: oauth.InvalidRequest, Description: "Content-Type must be application/json",
				Status: http.StatusUnsupportedMediaType}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodySize))
	if err != nil {
		return req, metadataErr("the request body is larger than %d bytes or unreadable", MaxBodySize)
	}
	clean, err := strictBody(body)
	if err != nil {
		return req, metadataErr("the request body is not client metadata: %v", err)
	}
	if err := json.Unmarshal(clean, &req); err != nil {
		return req, metadataErr("the request body is not client metadata: %v", err)
	}
	return req, nil
}

// register serves RFC 7591 §3.1: check the initial access token, the
// software statement and the metadata against the policy, then create the
// client, its registration and an audit record, and spend one use of the
// initial access token, in one transaction.
func (h *Handler) register(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	initial, err := h.initialToken(ctx, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req, err := decode(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if req.ClientID != "" || req.ClientSecret != "" || req.RegistrationAccessToken != "" {
		h.fail(w, r, metadataErr("client_id, client_secret and registration_access_token are assigned by the server"))
		return
	}
	m, stmtIssuer, err := h.metadata(ctx, req, initial)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	resp, err := h.create(ctx, m, initial, stmtIssuer)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.d.Log.InfoContext(ctx, "client registered", "client_id", resp.ClientID, "kind", resp.Kind)
	w.Header().Set("Location", resp.RegistrationClientURI)
	oauth.WriteJSON(w, http.StatusCreated, resp)
}

// initialToken checks the bearer initial access token. Without one,
// registration is allowed only when the policy is open; a token that is
// sent must be valid even then.
func (h *Handler) initialToken(ctx context.Context, r *http.Request) (*storage.InitialAccessToken, error) {
	raw, sent := bearer(r)
	if !sent {
		if h.p.Open {
			return nil, nil
		}
		return nil, tokenErr(false, errInitialTokenRequired)
	}
	if !strings.HasPrefix(raw, InitialTokenPrefix) {
		return nil, tokenErr(true, errInvalidTokenDescription)
	}
	t, err := h.d.Store.GetInitialToken(ctx, TokenID(raw))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, tokenErr(true, errInvalidTokenDescription)
	}
	if err != nil {
		return nil, storeErr(err)
	}
	if !t.Usable(h.d.Now()) {
		return nil, tokenErr(true, errInvalidTokenDescription)
	}
	return &t, nil
}

// metadata applies the software statement and the policy to req.
func (h *Handler) metadata(ctx context.Context, req request, initial *storage.InitialAccessToken) (Metadata, string, error) {
	m, iss := req.Metadata, ""
	switch {
	case req.SoftwareStatement != "":
		var err error
		if m, iss, err = h.applyStatement(ctx, req.SoftwareStatement, m); err != nil {
			return m, "", err
		}
	case h.p.RequireStatement:
		return m, "", oauth.Errorf(UnapprovedSoftwareStatement, "a software statement is required to register")
	}
	m, oe := h.bounds(initial).resolve(m)
	if oe != nil {
		return m, "", oe
	}
	return m, iss, h.checkCredentials(ctx, m)
}

// checkCredentials validates the client's keys: an inline set as client
// assertions are verified, a jwks_uri by fetching it.
func (h *Handler) checkCredentials(ctx context.Context, m Metadata) error {
	c := newClient(ClientIDPrefix+"check", m)
	if len(m.JWKS) == 0 && m.JWKSURI == "" {
		c.SecretHash = "placeholder"
	}
	if err := c.Validate(); err != nil {
		return metadataErr("%s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if len(m.JWKS) > 0 {
		if err := h.d.Verifier.CheckJWKS(m.JWKS); err != nil {
			return metadataErr("jwks: %v", err)
		}
	}
	if m.JWKSURI != "" {
		if err := h.d.Verifier.CheckJWKSURI(ctx, m.JWKSURI); err != nil {
			return metadataErr("jwks_uri does not serve a usable JWK Set: %v", err)
		}
	}
	return nil
}

// create stores the new client, its registration and an audit record,
// and spends one use of the initial access token, in one transaction.
func (h *Handler) create(ctx context.Context, m Metadata, initial *storage.InitialAccessToken, stmtIssuer string) (Response, error) {
	now := h.d.Now()
	id := newClientID()
	c := newClient(id, m)
	c.CreatedAt, c.UpdatedAt = now, now
	var generated string
	if m.TokenEndpointAuthMethod != "private_key_jwt" {
		generated = secret.Generate(SecretPrefix)
		c.SecretHash = h.d.Hasher.Hash(generated)
	}
	rat := secret.Generate(AccessTokenPrefix)
	stored, _ := json.Marshal(m)
	reg := storage.Registration{ClientID: id, AccessTokenHash: TokenID(rat), StatementIssuer: stmtIssuer,
		Metadata: stored, CreatedAt: now, UpdatedAt: now}
	if initial != nil {
		reg.InitialTokenID = initial.ID
	}
	err := h.d.Store.Update(ctx, func(w storage.Writer) error {
		if err := spend(ctx, w, initial, now); err != nil {
			return err
		}
		if _, err := w.GetClient(ctx, id); err == nil {
			return storage.ErrAlreadyExists
		}
		if err := storage.ClientIDTaken(ctx, w, id); err != nil {
			return err
		}
		if err := errors.Join(w.PutClient(ctx, c), w.PutRegistration(ctx, reg)); err != nil {
			return err
		}
		return w.AppendAudit(ctx, storage.AuditRecord{At: now, Type: "register", ClientID: id, Outcome: "registered",
			Reason: "dynamic registration", Detail: detail(reg)})
	})
	if err != nil {
		return Response{}, storeErr(err)
	}
	return h.response(c, m, reg, rat, generated), nil
}

// spend records one use of the initial access token, re-checked inside
// the transaction so that concurrent registrations cannot overspend it.
func spend(ctx context.Context, w storage.Writer, initial *storage.InitialAccessToken, now time.Time) error {
	if initial == nil {
		return nil
	}
	t, err := w.GetInitialToken(ctx, initial.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return tokenErr(true, errInvalidTokenDescription)
	}
	if err != nil {
		return err
	}
	if !t.Usable(now) {
		return tokenErr(true, errInvalidTokenDescription)
	}
	t.Uses++
	return w.PutInitialToken(ctx, t)
}

func detail(reg storage.Registration) string {
	var parts []string
	if reg.InitialTokenID != "" {
		parts = append(parts, "initial access token "+reg.InitialTokenID[:8])
	}
	if reg.StatementIssuer != "" {
		parts = append(parts, "software statement from "+reg.StatementIssuer)
	}
	if len(parts) == 0 {
		return "open registration"
	}
	return strings.Join(parts, ", ")
}

// response is the client information response for c.
func (h *Handler) response(c storage.Client, m Metadata, reg storage.Registration, rat, generated string) Response {
	resp := Response{RedirectURIs: []string{}, ClientID: c.ID, ClientSecret: generated, ClientIDIssuedAt: reg.CreatedAt.Unix(),
		RegistrationAccessToken: rat, RegistrationClientURI: h.issuer + Path + "/" + url.PathEscape(c.ID),
		Metadata: describe(c, m)}
	if c.SecretHash != "" {
		never := int64(0)
		resp.ClientSecretExpiresAt = &never
	}
	return resp
}

// configured authenticates a client configuration request (RFC 7592 §2):
// the registration access token must belong to the client in the path. A
// client that no longer exists is 401 too, and its registration is removed.
func (h *Handler) configured(r *http.Request) (storage.Client, storage.Registration, string, error) {
	ctx, id := r.Context(), web.Var(r, "client_id")
	raw, sent := bearer(r)
	if raw == "" {
		return storage.Client{}, storage.Registration{}, "", tokenErr(sent, errRegistrationTokenRequired)
	}
	reg, err := h.d.Store.GetRegistration(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Client{}, reg, "", tokenErr(true, errInvalidTokenDescription)
	}
	if err != nil {
		return storage.Client{}, reg, "", storeErr(err)
	}
	if subtle.ConstantTimeCompare([]byte(TokenID(raw)), []byte(reg.AccessTokenHash)) != 1 {
		return storage.Client{}, reg, "", tokenErr(true, errInvalidTokenDescription)
	}
	c, err := h.d.Store.GetClient(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		_ = h.d.Store.Update(ctx, func(w storage.Writer) error { return w.DeleteRegistration(ctx, id) })
		return c, reg, "", tokenErr(true, errInvalidTokenDescription)
	}
	if err != nil {
		return c, reg, "", storeErr(err)
	}
	return c, reg, raw, nil
}

// read serves RFC 7592 §2.1.
func (h *Handler) read(w http.ResponseWriter, r *http.Request) {
	c, reg, raw, err := h.configured(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var m Metadata
	_ = json.Unmarshal(reg.Metadata, &m)
	oauth.WriteJSON(w, http.StatusOK, h.response(c, m, reg, raw, ""))
}

// remove serves RFC 7592 §2.3: the client and its registration are
// deleted and every live session of the client terminated, which revokes
// all its tokens.
func (h *Handler) remove(w http.ResponseWriter, r *http.Request) {
	c, _, _, err := h.configured(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx, now := r.Context(), h.d.Now()
	err = h.d.Store.Update(ctx, func(wr storage.Writer) error {
		if err := errors.Join(wr.DeleteClient(ctx, c.ID), wr.DeleteRegistration(ctx, c.ID)); err != nil {
			return err
		}
		return wr.AppendAudit(ctx, storage.AuditRecord{At: now, Type: "register", ClientID: c.ID, Outcome: "deleted",
			Reason: "dynamic registration", Detail: "deleted by the client"})
	})
	if err == nil {
		err = h.terminate(ctx, c.ID)
	}
	if err != nil {
		h.fail(w, r, storeErr(err))
		return
	}
	h.d.Log.InfoContext(ctx, "registered client deleted", "client_id", c.ID)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) terminate(ctx context.Context, id string) error {
	ss, err := h.d.Store.ListSessions(ctx, storage.SessionFilter{ClientID: id, Status: storage.SessionActive})
	if err != nil {
		return err
	}
	for _, s := range ss {
		if err := h.d.Sessions.TerminateSession(ctx, s.ID, "client registration deleted"); err != nil {
			return err
		}
	}
	return nil
}

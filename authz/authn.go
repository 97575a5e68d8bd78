package authz

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/internal/limits"
	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/storage"
)

// Client authentication methods (RFC 8414 token_endpoint_auth_methods_supported).
const (
	AuthSecretBasic   = "client_secret_basic"
	AuthSecretPost    = "client_secret_post"
	AuthPrivateKeyJWT = "private_key_jwt"
)

// AuthMethods lists the client authentication methods Vigil accepts.
var AuthMethods = []string{AuthSecretBasic, AuthSecretPost, AuthPrivateKeyJWT}

// maxAssertion bounds a client assertion before any JOSE parsing.
const maxAssertion = limits.AssertionSize

const clockLeeway = limits.ClockLeeway

// unknownClientHash is a well-formed fast hash that no secret matches,
// checked against when a client id is unknown.
const unknownClientHash = "hmac-sha256$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// caller is an authenticated client and how it proved itself.
type caller struct {
	client storage.Client
	method string
	// jti is the client assertion's single-use identifier, still to be
	// recorded durably (in the grant's own transaction when there is one).
	jti *pendingJTI
	// arrived is when the request arrived (refresh races, grant_refresh.go).
	arrived time.Time
}

// pendingJTI is a single-use identifier (client assertion or DPoP proof jti)
// to record until exp.
type pendingJTI struct {
	key    string
	exp    time.Time
	replay *oauth.Error // the answer when it was used before
}

// errInvalidClient is the one answer for every client-authentication failure,
// so a caller cannot tell an unknown client from a wrong secret.
func errInvalidClient(desc string) *oauth.Error {
	return oauth.Errorf(oauth.InvalidClient, "%s", desc).WithHeader("WWW-Authenticate", `Basic realm="vigil"`)
}

// AuthenticateClient authenticates the caller of an endpoint other than the
// token endpoint (introspection, revocation), recording a client assertion's
// jti durably before it returns. Failures are *oauth.Error invalid_client
// (401) or invalid_request.
func (s *Server) AuthenticateClient(ctx context.Context, r *http.Request, form url.Values) (storage.Client, error) {
	c, err := s.authenticate(ctx, r, form)
	if err != nil {
		return storage.Client{}, err
	}
	if c.jti == nil {
		return c.client, nil
	}
	if err := s.useUp(ctx, []*pendingJTI{c.jti}); err != nil {
		return storage.Client{}, err
	}
	return c.client, nil
}

// authenticate authenticates the caller under the failed-authentication
// throttles (ratelimit.go).
func (s *Server) authenticate(ctx context.Context, r *http.Request, form url.Values) (caller, error) {
	arrived := s.now()
	a := s.guard.begin(r, form, arrived)
	c, err := s.authenticateOnce(ctx, r, form, a)
	c.arrived = arrived
	return s.settleAuth(ctx, a, c, err)
}

func (s *Server) authenticateOnce(ctx context.Context, r *http.Request, form url.Values, a *attempt) (caller, error) {
	id, pass, basic := r.BasicAuth()
	hasPost := form.Get("client_secret") != ""
	hasJWT := form.Get("client_assertion_type") != "" || form.Get("client_assertion") != ""
	switch {
	case countTrue(basic, hasPost, hasJWT) > 1:
		return caller{}, oauth.Errorf(oauth.InvalidRequest, "more than one client authentication method used")
	case basic:
		return s.authSecretBasic(ctx, form, id, pass, a)
	case hasJWT:
		return s.authAssertion(ctx, form)
	case hasPost:
		return s.authSecret(ctx, form.Get("client_id"), form.Get("client_secret"), AuthSecretPost, a)
	}
	return caller{}, errInvalidClient("client authentication required")
}

func (s *Server) authSecretBasic(ctx context.Context, form url.Values, id, pass string, a *attempt) (caller, error) {
	// RFC 6749 §2.3.1: the id and secret are form-encoded before Basic encoding.
	uid, err1 := url.QueryUnescape(id)
	upass, err2 := url.QueryUnescape(pass)
	if err1 != nil || err2 != nil {
		return caller{}, errInvalidClient("malformed basic credentials")
	}
	if fid := form.Get("client_id"); fid != "" && fid != uid {
		return caller{}, oauth.Errorf(oauth.InvalidRequest, "client_id does not match the authenticated client")
	}
	return s.authSecret(ctx, uid, upass, AuthSecretBasic, a)
}

func (s *Server) authSecret(ctx context.Context, id, secret, method string, a *attempt) (caller, error) {
	if id == "" || secret == "" {
		return caller{}, errInvalidClient("client authentication failed")
	}
	c, err := s.loadClient(ctx, id)
	if err != nil {
		// An unknown or disabled id costs what a wrong secret costs (SECURITY.md #2).
		_ = s.secrets.Verify(unknownClientHash, secret)
		return caller{}, err
	}
	// A client with registered keys authenticates with them only: no downgrade.
	if c.SecretHash == "" || len(c.JWKS) > 0 || c.JWKSURI != "" || !s.guard.checkSecret(a, c, secret, s.secrets) {
		return caller{}, errInvalidClient("client authentication failed")
	}
	return caller{client: c, method: method}, nil
}

// loadClient returns an enabled client, or invalid_client for any failure but
// an unavailable store.
func (s *Server) loadClient(ctx context.Context, id string) (storage.Client, error) {
	c, err := s.store.GetClient(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return storage.Client{}, errInvalidClient("client authentication failed")
	case err != nil:
		return storage.Client{}, storeErr(fmt.Errorf("authz: load client: %w", err))
	case c.Disabled:
		return storage.Client{}, errInvalidClient("client authentication failed")
	}
	return c, nil
}

// assertionClaims are the claims RFC 7523 §3 requires of a client assertion.
type assertionClaims struct {
	Issuer    string       `json:"iss"`
	Subject   string       `json:"sub"`
	Audience  audienceList `json:"aud"`
	Expiry    *int64       `json:"exp"`
	NotBefore *int64       `json:"nbf"`
	IssuedAt  *int64       `json:"iat"`
	JTI       string       `json:"jti"`
}

// audienceList decodes "aud" as a string or an array of strings.
type audienceList []string

// UnmarshalJSON accepts a string or an array of strings.
func (a *audienceList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audienceList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("aud must be a string or an array of strings")
	}
	*a = many
	return nil
}

func (s *Server) authAssertion(ctx context.Context, form url.Values) (caller, error) {
	raw := form.Get("client_assertion")
	if form.Get("client_assertion_type") != oauth.ClientAssertionJWTBearer {
		return caller{}, errInvalidClient("unsupported client_assertion_type")
	}
	if raw == "" || len(raw) > maxAssertion {
		return caller{}, errInvalidClient("client_assertion missing or too long")
	}
	id, err := unverifiedSubject(raw)
	if err != nil {
		return caller{}, errInvalidClient("malformed client_assertion")
	}
	if fid := form.Get("client_id"); fid != "" && fid != id {
		return caller{}, errInvalidClient("client_id does not match the client_assertion")
	}
	c, err := s.loadClient(ctx, id)
	if err != nil {
		return caller{}, err
	}
	if len(c.JWKS) == 0 && c.JWKSURI == "" {
		return caller{}, errInvalidClient("client has no registered keys")
	}
	var cl assertionClaims
	if err := s.verifier.VerifyClientJWT(ctx, raw, c, &cl); err != nil {
		return caller{}, errInvalidClient("client_assertion signature invalid")
	}
	if err := s.checkAssertion(cl, c); err != nil {
		return caller{}, err
	}
	return caller{client: c, method: AuthPrivateKeyJWT, jti: &pendingJTI{key: "assertion:" + c.ID + ":" + cl.JTI,
		exp: time.Unix(*cl.Expiry, 0).Add(clockLeeway), replay: errInvalidClient("client_assertion jti was already used")}}, nil
}

// checkAssertion applies RFC 7523 §3 to verified claims: iss = sub = client,
// aud is exactly the issuer, exp present and not too far ahead, jti present.
// A client's assertion_compat may also accept the token endpoint URL as aud
// and allow a later exp.
func (s *Server) checkAssertion(cl assertionClaims, c storage.Client) error {
	now := s.now()
	switch {
	case cl.Issuer != c.ID || cl.Subject != c.ID:
		return errInvalidClient("client_assertion iss and sub must be the client_id")
	case len(cl.Audience) != 1 || !s.assertionAudience(cl.Audience[0], c):
		// One value, the issuer: a multi-valued aud or an endpoint URL could
		// be replayed at another server (CVE-2025-27370).
		return errInvalidClient("client_assertion aud must be the issuer")
	case cl.Expiry == nil:
		return errInvalidClient("client_assertion exp is required")
	case !now.Before(time.Unix(*cl.Expiry, 0).Add(clockLeeway)):
		return errInvalidClient("client_assertion expired")
	case time.Unix(*cl.Expiry, 0).After(now.Add(s.assertionLifetime(c))):
		return errInvalidClient("client_assertion exp is too far in the future")
	case cl.NotBefore != nil && time.Unix(*cl.NotBefore, 0).After(now.Add(clockLeeway)):
		return errInvalidClient("client_assertion not yet valid")
	case cl.IssuedAt != nil && time.Unix(*cl.IssuedAt, 0).After(now.Add(clockLeeway)):
		return errInvalidClient("client_assertion issued in the future")
	case cl.JTI == "" || len(cl.JTI) > 256:
		return errInvalidClient("client_assertion jti is required")
	}
	return nil
}

// assertionAudience reports whether aud is an audience c's assertions may
// name: the issuer, or with assertion_compat the token endpoint URL.
func (s *Server) assertionAudience(aud string, c storage.Client) bool {
	if aud == s.cfg.Issuer {
		return true
	}
	return c.AssertionCompat != nil && c.AssertionCompat.TokenEndpointAudience && aud == s.cfg.TokenURL()
}

// assertionLifetime is how far ahead c's assertions may expire.
func (s *Server) assertionLifetime(c storage.Client) time.Duration {
	if c.AssertionCompat != nil && c.AssertionCompat.MaxLifetime > 0 {
		return c.AssertionCompat.MaxLifetime.D()
	}
	return s.cfg.MaxAssertionLifetime
}

// unverifiedSubject reads "sub" from a compact JWS without verifying it, only
// to find which client's keys to verify it with.
func unverifiedSubject(raw string) (string, error) {
	cl, err := unverifiedClaims(raw)
	if err != nil || cl.Subject == "" {
		return "", errors.New("no sub")
	}
	return cl.Subject, nil
}

// peek is what may be read from a JWT before verification: only which keys
// to verify it with.
type peek struct {
	Issuer  string `json:"iss"`
	Subject string `json:"sub"`
}

func unverifiedClaims(raw string) (peek, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return peek{}, errors.New("not a compact JWS")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return peek{}, err
	}
	var cl peek
	if err := json.Unmarshal(payload, &cl); err != nil {
		return peek{}, err
	}
	return cl, nil
}

// claimJTIs claims single-use identifiers in memory, so that concurrent
// replays lose at once, before any transaction. On a replay nothing stays
// claimed and the identifier's own refusal is returned.
func (s *Server) claimJTIs(jtis []*pendingJTI) error {
	now := s.now()
	for i, j := range jtis {
		if !s.jtis.claim(j.key, j.exp, now) {
			s.releaseJTIs(jtis[:i])
			return j.replay
		}
	}
	return nil
}

func (s *Server) releaseJTIs(jtis []*pendingJTI) {
	for _, j := range jtis {
		s.jtis.release(j.key)
	}
}

// claim claims one verified single-use identifier (nil for none) for a
// token request. Once claimed it stays used: the grant's transaction
// records it durably, or spendAfterRefusal does.
func (s *Server) claim(req *tokenRequest, j *pendingJTI) error {
	if j == nil {
		return nil
	}
	if err := s.claimJTIs([]*pendingJTI{j}); err != nil {
		return err
	}
	req.claimed = append(req.claimed, j)
	return nil
}

// spendAfterRefusal records durably the identifiers a refused request
// claimed, in their own transaction: a verified assertion or proof is used
// up whatever the server decided about the request. Only a request the
// server could not process (a failing store: 5xx, nothing decided, nothing
// written) leaves them unused, so that the client's retry works. If the
// store fails here, the in-memory claim still refuses replays to this
// server until the identifier expires.
func (s *Server) spendAfterRefusal(ctx context.Context, req *tokenRequest, cause error) {
	if req.recorded || len(req.claimed) == 0 {
		return
	}
	var oe *oauth.Error
	if !errors.As(cause, &oe) || oe.Status >= 500 {
		s.releaseJTIs(req.claimed)
		req.claimed = nil
		return
	}
	err := s.store.Update(ctx, func(w storage.Writer) error {
		for _, j := range req.claimed {
			err := w.UseJTI(ctx, j.key, j.exp, s.now())
			if err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.log.ErrorContext(ctx, "recording used single-use identifiers failed", "err", err)
		return
	}
	req.recorded = true
}

// recordJTIs records claimed identifiers durably inside w; the durable
// record is what holds across restarts.
func (s *Server) recordJTIs(ctx context.Context, w storage.Writer, jtis []*pendingJTI) error {
	for _, j := range jtis {
		err := w.UseJTI(ctx, j.key, j.exp, s.now())
		if errors.Is(err, storage.ErrAlreadyExists) {
			return j.replay
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func countTrue(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

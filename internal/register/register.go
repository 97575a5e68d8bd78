// Package register serves OAuth 2.0 dynamic client registration: the
// registration endpoint of RFC 7591 and the client configuration endpoint
// of RFC 7592 (read, update, delete with a registration access token).
//
// Registration is bounded by a [Policy] the operator writes: which kinds,
// grant types, scopes, audiences and authentication methods a registered
// client may have, and whether an initial access token (issued by an
// admin, see the admin API) or a software statement signed by a trusted
// issuer is required. An initial access token narrows the policy further
// and may be single or multi use; both expire. A client registered for
// private_key_jwt gives its keys inline (jwks, checked like any client's)
// or by jwks_uri, which is fetched once at registration under the JWKS
// cache's limits to prove it serves a usable key set.
//
// A registered client is an ordinary client record with a generated ID;
// the risk engine has never seen that ID, so the client starts in its
// learning mode, judged against what it declared (audiences, networks,
// schedule, purposes). Client ID metadata documents (URL client IDs whose
// metadata the server fetches) are not accepted: every client is either
// configured by an admin or registered here under the policy.
//
// Errors follow RFC 7591 §3.2.2 (invalid_client_metadata,
// invalid_redirect_uri, invalid_software_statement,
// unapproved_software_statement, HTTP 400) and RFC 6750 §3.1 for the
// tokens (invalid_token, HTTP 401).
package register

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/vigil-auth/vigil/internal/limits"
	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/internal/secret"
	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/storage"
)

// Path is the registration endpoint, below the issuer; a client's
// configuration endpoint is Path + "/" + client_id.
const Path = "/oauth2/register"

// Prefixes of the credentials this package generates.
const (
	// InitialTokenPrefix starts every initial access token.
	InitialTokenPrefix = "viat_"
	// AccessTokenPrefix starts every registration access token.
	AccessTokenPrefix = "vrat_"
	// ClientIDPrefix starts every registered client's ID.
	ClientIDPrefix = "dcr-"
	// SecretPrefix starts every generated client secret.
	SecretPrefix = "vcs_"
)

// MaxBodySize is the largest registration request read, in bytes.
const MaxBodySize = limits.RegistrationBody

// Policy bounds what dynamic registration may create. Empty lists take
// the defaults of [Policy.WithDefaults].
type Policy struct {
	// Open allows registration without an initial access token. Off by
	// default: anyone who can reach the endpoint could register.
	Open bool `json:"open"`
	// Kinds a registered client may be; the first is the default.
	Kinds []string `json:"kinds"`
	// GrantTypes a registered client may use; requests without
	// grant_types get client_credentials.
	GrantTypes []string `json:"grant_types"`
	// Scopes a registered client may hold; a request without scope gets all of them.
	Scopes []string `json:"scopes"`
	// Audiences a registered client may get tokens for; a request without
	// audiences gets all of them.
	Audiences []string `json:"audiences"`
	// AuthMethods are the token endpoint authentication methods allowed.
	AuthMethods []string `json:"auth_methods"`
	// StatementIssuers are trusted issuers (trusted_issuers) whose
	// software statements are accepted.
	StatementIssuers []string `json:"software_statement_issuers"`
	// RequireStatement refuses registrations without a software statement.
	RequireStatement bool `json:"require_software_statement"`
}

// WithDefaults fills p's empty lists: kinds [agent], grant types
// [client_credentials, token-exchange], auth methods [private_key_jwt].
func (p Policy) WithDefaults() Policy {
	if len(p.Kinds) == 0 {
		p.Kinds = []string{storage.KindAgent}
	}
	if len(p.GrantTypes) == 0 {
		p.GrantTypes = []string{oauth.GrantClientCredentials, oauth.GrantTokenExchange}
	}
	if len(p.AuthMethods) == 0 {
		p.AuthMethods = []string{"private_key_jwt"}
	}
	return p
}

// Validate reports every problem with p.
func (p Policy) Validate() error {
	var errs []error
	for _, k := range p.Kinds {
		if !slices.Contains(storage.Kinds, k) || k == storage.KindResourceServer {
			errs = append(errs, fmt.Errorf("registration: kind %q cannot be registered", k))
		}
	}
	for _, g := range p.GrantTypes {
		if !slices.Contains(storage.GrantTypes, g) {
			errs = append(errs, fmt.Errorf("registration: grant type %q is not supported", g))
		}
	}
	for _, m := range p.AuthMethods {
		if !slices.Contains(storage.AuthMethods, m) {
			errs = append(errs, fmt.Errorf("registration: auth method %q is not supported", m))
		}
	}
	for _, s := range p.Scopes {
		if err := storage.ValidateScope(s); err != nil {
			errs = append(errs, fmt.Errorf("registration: scope %q: %w", s, err))
		}
	}
	for _, a := range p.Audiences {
		if err := storage.ValidateAudience(a); err != nil {
			errs = append(errs, fmt.Errorf("registration: audience %q: %w", a, err))
		}
	}
	if p.RequireStatement && len(p.StatementIssuers) == 0 {
		errs = append(errs, errors.New("registration: require_software_statement needs software_statement_issuers"))
	}
	return errors.Join(errs...)
}

// Verifier checks what registration cannot check alone. internal/server
// implements it with package keys.
type Verifier interface {
	// VerifyIssuerJWT verifies raw's signature with iss's keys and decodes
	// its claims into out.
	VerifyIssuerJWT(ctx context.Context, raw string, iss storage.Issuer, out any) error
	// CheckJWKS reports whether an inline JWK Set holds a usable public
	// signing key, judged as client assertions are verified.
	CheckJWKS(jwks []byte) error
	// CheckJWKSURI fetches the key set at uri under the JWKS cache's limits
	// and reports whether it holds a usable public key.
	CheckJWKSURI(ctx context.Context, uri string) error
}

// Terminator ends a session, revoking every token of it; authz implements it.
type Terminator interface {
	TerminateSession(ctx context.Context, sid, reason string) error
}

// Deps are the handler's collaborators; all but Log and Now are required.
type Deps struct {
	Store    storage.Store
	Hasher   *secret.Hasher
	Verifier Verifier
	Sessions Terminator
	Log      *slog.Logger
	Now      func() time.Time
}

// Handler serves the registration and client configuration endpoints. It
// is safe for concurrent use.
type Handler struct {
	issuer string
	p      Policy
	d      Deps
}

// New returns the endpoints for issuer under policy p (defaults applied).
func New(issuer string, p Policy, d Deps) (*Handler, error) {
	p = p.WithDefaults()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if d.Store == nil || d.Hasher == nil || d.Verifier == nil || d.Sessions == nil {
		return nil, errors.New("register: store, hasher, verifier and sessions are required")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Handler{issuer: issuer, p: p, d: d}, nil
}

// Mount registers the endpoints on r.
func (h *Handler) Mount(r *web.Router) {
	r.HandleFunc(Path, h.register, http.MethodPost)
	r.HandleFunc(Path+"/{client_id}", h.read, http.MethodGet)
	r.HandleFunc(Path+"/{client_id}", h.update, http.MethodPut)
	r.HandleFunc(Path+"/{client_id}", h.remove, http.MethodDelete)
}

// Endpoint returns the registration endpoint's URL (RFC 8414 registration_endpoint).
func (h *Handler) Endpoint() string { return h.issuer + Path }

// TokenID returns the stored ID of an initial or registration access
// token: the base64url SHA-256 of its value.
func TokenID(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	oauth.WriteError(w, r, h.d.Log, err)
}

// Registration error codes (RFC 7591 §3.2.2).
const (
	InvalidRedirectURI           = "invalid_redirect_uri"
	InvalidClientMetadata        = "invalid_client_metadata"
	InvalidSoftwareStatement     = "invalid_software_statement"
	UnapprovedSoftwareStatement  = "unapproved_software_statement"
	errInvalidTokenDescription   = "the access token is missing, invalid or expired"
	errInitialTokenRequired      = "an initial access token is required to register"
	errRegistrationTokenRequired = "a registration access token is required"
)

func metadataErr(format string, args ...any) *oauth.Error {
	return oauth.Errorf(InvalidClientMetadata, format, args...)
}

// tokenErr answers a missing or bad bearer token (RFC 6750 §3.1): 401
// invalid_token, or 401 with no error code when no token was sent.
func tokenErr(sent bool, desc string) *oauth.Error {
	if !sent {
		return (&oauth.Error{Code: oauth.InvalidToken, Description: desc, Status: http.StatusUnauthorized}).
			WithHeader("WWW-Authenticate", `Bearer realm="vigil-registration"`)
	}
	return (&oauth.Error{Code: oauth.InvalidToken, Description: desc, Status: http.StatusUnauthorized}).
		WithHeader("WWW-Authenticate", `Bearer realm="vigil-registration", error="invalid_token"`)
}

// storeErr maps a storage failure to 503; an *oauth.Error is kept.
func storeErr(err error) error {
	var oe *oauth.Error
	if errors.As(err, &oe) {
		return oe
	}
	if errors.Is(err, storage.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		return oauth.Unavailable("storage is unavailable")
	}
	return err
}

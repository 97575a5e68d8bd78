package authz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/ory/fosite"

	"github.com/vigil-auth/vigil/internal/limits"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// Signer mints signed JWTs with the server's active key. *keys.Manager implements it.
type Signer interface {
	Sign(typ string, claims any) (string, error)
}

// JWTVerifier verifies JWTs signed by others and decodes their claims into
// out. It checks the signature and the algorithm allow-list only; authz
// checks the claims.
type JWTVerifier interface {
	// VerifyClientJWT verifies with the keys client c registered (jwks or jwks_uri).
	VerifyClientJWT(ctx context.Context, raw string, c storage.Client, out any) error
	// VerifyIssuerJWT verifies with a trusted issuer's keys and algorithms.
	VerifyIssuerJWT(ctx context.Context, raw string, iss storage.Issuer, out any) error
}

// SecretVerifier checks a presented secret against a stored hash in constant time.
type SecretVerifier interface {
	Verify(hash, secret string) error
}

// Risk judges one event on a session. *risk.Engine implements it.
type Risk interface {
	Observe(ev risk.Event) risk.Decision
}

// ContextRisk is a Risk that also takes the context of the request it
// judges for; when the Risk given to [New] implements it, the authority
// calls ObserveContext instead of Observe (the server traces decisions
// through it). The decision must be the one Observe would give.
type ContextRisk interface {
	ObserveContext(ctx context.Context, ev risk.Event) risk.Decision
}

// observe asks the risk engine about ev, with ctx when it takes one.
func (s *Server) observe(ctx context.Context, ev risk.Event) risk.Decision {
	if cr, ok := s.risk.(ContextRisk); ok {
		return cr.ObserveContext(ctx, ev)
	}
	return s.risk.Observe(ev)
}

// Metrics counts issued tokens. A nil Metrics counts nothing.
type Metrics interface {
	TokenIssued(grant, kind string)
}

// Config is what the authority needs to know. Zero token lifetimes and a
// zero MaxAssertionLifetime take the defaults; a zero RefreshGrace means no
// grace.
type Config struct {
	// Issuer is the server's issuer URL (RFC 8414); the token endpoint is Issuer + "/oauth2/token".
	Issuer          string
	AccessTokenTTL  time.Duration // default 15m
	RefreshTokenTTL time.Duration // default 24h
	ExchangeTTL     time.Duration // default 5m, per tool call
	// RefreshGrace is how long a rotated refresh token, presented again by
	// the same client with the same proof-of-possession key, still yields the
	// same successor (lost responses, concurrent refresh). Zero means none:
	// of racing presentations one wins, the others get invalid_grant.
	// Configuration defaults it to DefaultRefreshGrace.
	RefreshGrace time.Duration
	// MaxAssertionLifetime caps exp - now of a client assertion (RFC 7523). Default limits.AssertionLifetime.
	MaxAssertionLifetime time.Duration
	// MaxChainDepth bounds delegation chains in token exchange. Default 3;
	// negative means no delegation at all.
	MaxChainDepth int
	// RefreshKey keys the derivation of successor refresh tokens and DPoP
	// server nonces (32+ bytes).
	RefreshKey []byte
	// DPoPNonce requires DPoP proofs at the token endpoint to carry a server
	// nonce (RFC 9449 §8).
	DPoPNonce bool
}

// DefaultRefreshGrace is the refresh grace a configuration gets unless it
// sets one.
const DefaultRefreshGrace = limits.RefreshGrace

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.AccessTokenTTL, limits.AccessTokenTTL)
	def(&c.RefreshTokenTTL, limits.RefreshTokenTTL)
	def(&c.ExchangeTTL, limits.ExchangeTTL)
	def(&c.MaxAssertionLifetime, limits.AssertionLifetime)
	if c.MaxChainDepth == 0 {
		c.MaxChainDepth = limits.MaxChainDepth
	}
}

// Validate reports every problem with c.
func (c Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.Issuer); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") ||
		u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, fmt.Errorf("issuer %q must be an absolute http(s) URL without query or fragment", c.Issuer))
	}
	if len(c.RefreshKey) < 32 {
		errs = append(errs, errors.New("refresh key must be at least 32 bytes"))
	}
	if c.RefreshGrace < 0 {
		errs = append(errs, fmt.Errorf("refresh grace %s must not be negative", c.RefreshGrace))
	}
	if c.MaxChainDepth > limits.MaxChainDepthLimit {
		errs = append(errs, fmt.Errorf("max chain depth %d must be at most %d", c.MaxChainDepth, limits.MaxChainDepthLimit))
	}
	return errors.Join(errs...)
}

// TokenURL returns the token endpoint's URL.
func (c Config) TokenURL() string { return c.Issuer + "/oauth2/token" }

// Server is the authority. It is safe for concurrent use.
type Server struct {
	cfg      Config
	store    storage.Store
	signer   Signer
	verifier JWTVerifier
	secrets  SecretVerifier
	risk     Risk
	metrics  Metrics
	log      *slog.Logger
	now      func() time.Time
	provider *fosite.Fosite
	jtis     *jtiCache
	proofs   ProofVerifier
	limits   AuthLimits
	guard    *authGuard
	notify   Notifier
	rotated  *rotations
}

// An Option replaces one of Server's defaults.
type Option func(*Server)

// WithClock sets the time source. The default is time.Now.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithLogger sets the logger. The default discards.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithDPoP enables DPoP (RFC 9449) at the token endpoint with v checking proofs.
func WithDPoP(v ProofVerifier) Option { return func(s *Server) { s.proofs = v } }

// DPoPEnabled reports whether the token endpoint accepts DPoP proofs.
func (s *Server) DPoPEnabled() bool { return s.proofs != nil }

// WithMetrics sets the issued-token counter.
func WithMetrics(m Metrics) Option { return func(s *Server) { s.metrics = m } }

// New returns an authority. Required collaborators are parameters; opts only
// replace defaults.
func New(cfg Config, store storage.Store, signer Signer, verifier JWTVerifier, secrets SecretVerifier, r Risk, opts ...Option) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("authz: invalid config: %w", err)
	}
	s := &Server{cfg: cfg, store: store, signer: signer, verifier: verifier, secrets: secrets, risk: r,
		log: slog.New(slog.DiscardHandler), now: time.Now, jtis: newJTICache(), limits: DefaultAuthLimits,
		rotated: newRotations()}
	for _, opt := range opts {
		opt(s)
	}
	s.guard = newAuthGuard(s.limits)
	s.provider = s.newProvider()
	return s, nil
}

// Config returns the effective configuration (defaults applied).
func (s *Server) Config() Config { return s.cfg }

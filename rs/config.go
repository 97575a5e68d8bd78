package rs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Defaults for the optional settings.
const (
	// DefaultCacheSize is how many verdicts the cache holds.
	DefaultCacheSize = 1024
	// DefaultCacheTTL is the longest a verdict is reused. Every reuse is a
	// call the risk engine does not see, so this stays short.
	DefaultCacheTTL = 10 * time.Second
	// DefaultReplaySize is how many DPoP proof jtis are remembered.
	DefaultReplaySize = 65536
	// DefaultTimeout bounds one introspection call when Config.HTTPClient is nil.
	DefaultTimeout = 5 * time.Second
)

// Config is what the middleware needs to know. IntrospectionURL, ClientID,
// Audience and exactly one of ClientSecret and ClientAssertion are required.
type Config struct {
	// IntrospectionURL is Vigil's introspection endpoint, for example
	// https://vigil.example/oauth2/introspect.
	IntrospectionURL string
	// ClientID is this resource server's client at Vigil; it must be
	// registered with introspect rights for Audience.
	ClientID string
	// ClientSecret authenticates with client_secret_basic (RFC 6749 §2.3.1).
	ClientSecret string
	// ClientAssertion, instead of ClientSecret, returns a fresh client
	// assertion for private_key_jwt (RFC 7523 §2.2) on every call; see
	// [NewAssertionSigner].
	ClientAssertion func(ctx context.Context) (string, error)
	// Audience is this resource server's audience; a token whose aud does
	// not include it is refused even if Vigil answers active.
	Audience string
	// Issuer, when set, must equal the iss of every active answer.
	Issuer string
	// RequiredScopes must all be granted to the token (RFC 6750 §3.1
	// insufficient_scope otherwise).
	RequiredScopes []string
	// PublicURL is this server's externally visible origin, such as
	// https://api.example; DPoP proofs must name PublicURL + the request
	// path as htu. Empty takes scheme and host from the request itself,
	// which is right only when no proxy rewrites them.
	PublicURL string
	// HTTPClient calls the introspection endpoint; nil means a client with
	// DefaultTimeout.
	HTTPClient *http.Client
}

// Validate reports every problem with c.
func (c Config) Validate() error {
	var errs []error
	if err := absoluteURL(c.IntrospectionURL); err != nil {
		errs = append(errs, fmt.Errorf("introspection URL: %w", err))
	}
	if c.ClientID == "" {
		errs = append(errs, errors.New("client ID is required"))
	}
	if (c.ClientSecret == "") == (c.ClientAssertion == nil) {
		errs = append(errs, errors.New("exactly one of client secret and client assertion is required"))
	}
	if c.Audience == "" {
		errs = append(errs, errors.New("audience is required"))
	}
	if c.PublicURL != "" {
		if err := absoluteURL(c.PublicURL); err != nil {
			errs = append(errs, fmt.Errorf("public URL: %w", err))
		}
	}
	return errors.Join(errs...)
}

func absoluteURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}

// An Option replaces one of the middleware's defaults.
type Option func(*Middleware)

// WithTool sets how a request names the tool or operation it invokes; Vigil
// scores it as usage context. The default reports no tool.
func WithTool(tool func(r *http.Request) string) Option {
	return func(m *Middleware) { m.tool = tool }
}

// WithTenant sets how a request names the tenant it acts in. The default
// reports no tenant.
func WithTenant(tenant func(r *http.Request) string) Option {
	return func(m *Middleware) { m.tenant = tenant }
}

// WithClientIP sets how the caller's address is found, for servers behind
// a proxy. The default is the host part of r.RemoteAddr.
func WithClientIP(ip func(r *http.Request) string) Option {
	return func(m *Middleware) { m.clientIP = ip }
}

// WithCache sets the verdict cache: at most size entries, each reused for
// at most ttl. A size or ttl of 0 turns caching off.
func WithCache(size int, ttl time.Duration) Option {
	return func(m *Middleware) { m.cacheSize, m.cacheTTL = size, ttl }
}

// WithClock sets the time source. The default is time.Now.
func WithClock(now func() time.Time) Option { return func(m *Middleware) { m.now = now } }

// WithLogger sets the logger. The default discards. Tokens are never logged.
func WithLogger(l *slog.Logger) Option { return func(m *Middleware) { m.log = l } }

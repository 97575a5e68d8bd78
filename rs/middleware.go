package rs

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/keys"
)

// Middleware guards resource handlers with Vigil. It is safe for
// concurrent use.
type Middleware struct {
	cfg       Config
	in        introspector
	cache     *lru
	replay    *replayCache
	ended     *replayCache // sessions a SET ended
	tool      func(*http.Request) string
	tenant    func(*http.Request) string
	clientIP  func(*http.Request) string
	cacheSize int
	cacheTTL  time.Duration
	now       func() time.Time
	log       *slog.Logger
	meta      *ResourceMetadata
}

// New returns a middleware for cfg. It validates cfg first; opts replace
// the defaults (no tool or tenant, the client IP from r.RemoteAddr, a
// cache of DefaultCacheSize verdicts for at most DefaultCacheTTL, time.Now,
// a discarding logger).
func New(cfg Config, opts ...Option) (*Middleware, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("rs: invalid config: %w", err)
	}
	m := &Middleware{cfg: cfg, tool: none, tenant: none, clientIP: remoteIP, cacheSize: DefaultCacheSize,
		cacheTTL: DefaultCacheTTL, now: time.Now, log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(m)
	}
	if m.meta != nil {
		md := completeMetadata(*m.meta, cfg)
		if err := md.validate(); err != nil {
			return nil, fmt.Errorf("rs: invalid resource metadata: %w", err)
		}
		m.meta = &md
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	m.in = introspector{cfg: cfg, hc: hc}
	m.cache = newLRU(m.cacheSize)
	m.replay = newReplayCache(DefaultReplaySize)
	m.ended = newReplayCache(DefaultReplaySize)
	return m, nil
}

func none(*http.Request) string { return "" }

// remoteIP is the host part of r.RemoteAddr.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Wrap returns a handler that calls next only for requests Authorize
// accepts, with the verified claims in the request's context (see
// FromContext); every other request gets Authorize's refusal.
func (m *Middleware) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, rerr := m.authorize(r)
		if rerr != nil {
			m.Refuse(w, rerr)
			return
		}
		next.ServeHTTP(w, r.WithContext(withClaims(r.Context(), c)))
	})
}

// Authorize decides one request: it takes the token (RFC 6750 §2.1 or
// RFC 9449 §7.1), verifies a DPoP proof when the DPoP scheme is used,
// introspects (or reuses a cached allowing verdict for the same token and
// usage context), then checks audience, issuer, expiry, the DPoP binding,
// the risk verdict and the required scopes, in that order. A non-nil error
// is always an *Error saying what to answer, with the resource_metadata
// challenge parameter when metadata is published; it matches one of the
// ErrX reasons with errors.Is.
func (m *Middleware) Authorize(r *http.Request) (Claims, error) {
	c, rerr := m.authorize(r)
	if rerr != nil {
		return Claims{}, m.finish(rerr)
	}
	return c, nil
}

func (m *Middleware) authorize(r *http.Request) (Claims, *Error) {
	token, scheme, rerr := credentials(r)
	if rerr != nil {
		return Claims{}, rerr
	}
	var proof keys.Proof
	if scheme == schemeDPoP {
		if proof, rerr = m.verifyProof(r, token); rerr != nil {
			return Claims{}, rerr
		}
	}
	c, rerr := m.claims(r.Context(), token, scheme, m.usage(r))
	if rerr != nil {
		return Claims{}, rerr
	}
	if rerr := m.checkBinding(c, scheme, &proof); rerr != nil {
		return Claims{}, rerr
	}
	if rerr := checkRisk(c, scheme); rerr != nil {
		return Claims{}, rerr.For(c)
	}
	if !c.HasScopes(m.cfg.RequiredScopes...) {
		return Claims{}, InsufficientScope(m.cfg.RequiredScopes...).For(c)
	}
	return c, nil
}

// credentials reads the Authorization header: "Bearer <token>" or
// "DPoP <token>", the scheme matched case-insensitively.
func credentials(r *http.Request) (token, scheme string, err *Error) {
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 {
		return "", "", noToken()
	}
	if len(vals) > 1 {
		return "", "", badRequest("exactly one Authorization header is allowed")
	}
	s, tok, ok := strings.Cut(vals[0], " ")
	tok = strings.TrimLeft(tok, " ")
	switch {
	case ok && strings.EqualFold(s, schemeBearer) && validToken(tok):
		return tok, schemeBearer, nil
	case ok && strings.EqualFold(s, schemeDPoP) && validToken(tok):
		return tok, schemeDPoP, nil
	case strings.EqualFold(s, schemeBearer) || strings.EqualFold(s, schemeDPoP):
		return "", "", badRequest("malformed access token")
	}
	return "", "", noToken()
}

// validToken checks RFC 6750 §2.1's b64token syntax.
func validToken(t string) bool {
	if t == "" || len(t) > keys.MaxTokenSize {
		return false
	}
	t = strings.TrimRight(t, "=")
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			return false
		}
	}
	return t != ""
}

func (m *Middleware) usage(r *http.Request) usage {
	return usage{tool: m.tool(r), ip: m.clientIP(r), tenant: m.tenant(r)}
}

// claims returns the verified claims of token, from the cache or by
// introspection. Only an answer that plainly allows the call is cached.
func (m *Middleware) claims(ctx context.Context, token, scheme string, u usage) (Claims, *Error) {
	now := m.now()
	k := keyFor(token, u)
	if c, ok := m.cache.get(k, now); ok {
		if m.sessionEnded(c.SessionID) {
			return Claims{}, inactive(scheme, "the session has ended")
		}
		return c, nil
	}
	a, err := m.in.ask(ctx, token, u)
	if err != nil {
		m.log.WarnContext(ctx, "introspection failed", "err", err)
		return Claims{}, unavailable(err)
	}
	if !a.Active {
		return Claims{}, inactive(scheme, "the access token is not active")
	}
	c, err := a.claims()
	if err != nil {
		m.log.WarnContext(ctx, "introspection answer unusable", "err", err)
		return Claims{}, unavailable(fmt.Errorf("%w: %w", ErrIntrospection, err))
	}
	if rerr := m.checkClaims(c, scheme, now); rerr != nil {
		return Claims{}, rerr
	}
	if m.sessionEnded(c.SessionID) {
		return Claims{}, inactive(scheme, "the session has ended")
	}
	if until, ok := cacheUntil(c, now, m.cacheTTL); ok {
		m.cache.put(k, c, until)
	}
	return c, nil
}

// checkClaims refuses an active answer that is not for this resource
// server, from another issuer, expired or not yet valid.
func (m *Middleware) checkClaims(c Claims, scheme string, now time.Time) *Error {
	switch {
	case !slices.Contains(c.Audiences, m.cfg.Audience):
		return inactive(scheme, "the access token is not meant for this resource")
	case m.cfg.Issuer != "" && c.Issuer != m.cfg.Issuer:
		return inactive(scheme, "the access token is from another issuer")
	case !c.Expiry.IsZero() && !now.Before(c.Expiry):
		return inactive(scheme, "the access token has expired")
	case !c.NotBefore.IsZero() && now.Before(c.NotBefore):
		return inactive(scheme, "the access token is not yet valid")
	}
	return nil
}

// checkRisk applies Vigil's verdict: allow passes, step_up answers the
// challenge Vigil supplied, deny is 403, terminate is an inactive token.
// An unknown action is refused. No verdict at all (a plain RFC 7662
// server) passes.
func checkRisk(c Claims, scheme string) *Error {
	if c.Risk == nil {
		return nil
	}
	switch c.Risk.Action {
	case ActionAllow:
		return nil
	case ActionStepUp:
		return stepUp(c.Risk.Challenge)
	case ActionTerminate:
		return inactive(scheme, "the session was terminated")
	case ActionDeny:
		return denied("the call is denied by risk policy")
	}
	return denied("unknown risk action")
}

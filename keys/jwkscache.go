package keys

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/vigil-auth/vigil/internal/limits"
)

// JWKSCache defaults.
const (
	// DefaultJWKSTTL is how long a fetched set is used before it is fetched again.
	DefaultJWKSTTL = 10 * time.Minute
	// DefaultJWKSMaxBody caps a fetched set, in bytes.
	DefaultJWKSMaxBody = limits.JWKSDocument
	// DefaultJWKSFetchTimeout bounds one fetch.
	DefaultJWKSFetchTimeout = 5 * time.Second
	// DefaultJWKSRefetch is the least time between two fetches of one URL
	// forced by an unknown kid.
	DefaultJWKSRefetch = 30 * time.Second
	// maxJWKSEntries caps how many URLs the cache remembers.
	maxJWKSEntries = 1024
)

// A CacheOption replaces one of the JWKSCache's defaults.
type CacheOption func(*JWKSCache)

// WithCacheTTL sets how long a fetched JWK Set is used before it is fetched again.
func WithCacheTTL(d time.Duration) CacheOption { return func(c *JWKSCache) { c.ttl = d } }

// WithMaxBody caps the size of a fetched JWK Set in bytes.
func WithMaxBody(n int64) CacheOption { return func(c *JWKSCache) { c.maxBody = n } }

// WithFetchTimeout bounds one fetch.
func WithFetchTimeout(d time.Duration) CacheOption { return func(c *JWKSCache) { c.timeout = d } }

// WithRefetchInterval sets the least time between two fetches of one URL
// caused by an unknown kid.
func WithRefetchInterval(d time.Duration) CacheOption { return func(c *JWKSCache) { c.refetch = d } }

// WithCacheClock sets the time source. The default is time.Now.
func WithCacheClock(now func() time.Time) CacheOption { return func(c *JWKSCache) { c.now = now } }

// WithCacheLogger sets the logger; nil keeps the default, which discards.
func WithCacheLogger(l *slog.Logger) CacheOption {
	return func(c *JWKSCache) {
		if l != nil {
			c.log = l
		}
	}
}

// JWKSCache fetches JWK Sets from jwks_uri URLs and caches them per URL. It
// is safe for concurrent use; concurrent callers for one URL share a fetch.
type JWKSCache struct {
	client  *http.Client
	ttl     time.Duration
	maxBody int64
	timeout time.Duration
	refetch time.Duration
	now     func() time.Time
	log     *slog.Logger

	mu      sync.Mutex
	entries map[string]*jwksEntry
}

// jwksEntry is one URL's cached set. mu is held during a fetch.
type jwksEntry struct {
	mu        sync.Mutex
	set       keySet
	raw       []byte
	fetchedAt time.Time
	forcedAt  time.Time
}

// NewJWKSCache returns a cache that fetches with client, which the caller
// configures (transport, redirects, proxy).
func NewJWKSCache(client *http.Client, opts ...CacheOption) *JWKSCache {
	c := &JWKSCache{
		client: client, ttl: DefaultJWKSTTL, maxBody: DefaultJWKSMaxBody, timeout: DefaultJWKSFetchTimeout,
		refetch: DefaultJWKSRefetch, now: time.Now, log: slog.New(slog.DiscardHandler),
		entries: map[string]*jwksEntry{},
	}
	for _, opt := range opts {
		opt(c)
	}
	return c
}

// Get returns the JWK Set at uri, fetching it when it is not cached or older
// than the TTL. When a refresh fails and an older copy exists, the older
// copy is returned and the failure logged.
func (c *JWKSCache) Get(ctx context.Context, uri string) ([]byte, error) {
	e := c.entry(uri)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := c.refresh(ctx, uri, e, false); err != nil {
		return nil, err
	}
	return e.raw, nil
}

// Verify is VerifyWithJWKS against the set at uri. When the token names a
// kid the cached set lacks, the set is fetched again, at most once per
// refetch interval per URL, and the token checked once more.
func (c *JWKSCache) Verify(ctx context.Context, uri, raw string, algs []string, out any) (Header, error) {
	e := c.entry(uri)
	set, err := c.current(ctx, uri, e, false)
	if err != nil {
		return Header{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	h, err := set.verify(raw, algs, out)
	if !errors.Is(err, ErrUnknownKey) {
		return h, err
	}
	fresh, ferr := c.current(ctx, uri, e, true)
	if ferr != nil || sameSet(fresh, set) {
		return h, err
	}
	return fresh.verify(raw, algs, out)
}

// current returns e's key set, refreshing it if needed (or forced).
func (c *JWKSCache) current(ctx context.Context, uri string, e *jwksEntry, force bool) (keySet, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := c.refresh(ctx, uri, e, force); err != nil {
		return nil, err
	}
	return e.set, nil
}

// sameSet reports whether a and b are the same parsed set (no refetch happened).
func sameSet(a, b keySet) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// entry returns the cache entry for uri, creating it (and evicting an
// arbitrary entry when the cache is full).
func (c *JWKSCache) entry(uri string) *jwksEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[uri]; ok {
		return e
	}
	if len(c.entries) >= maxJWKSEntries {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	e := &jwksEntry{}
	c.entries[uri] = e
	return e
}

// refresh fetches uri into e when e is empty or stale, or when force is set
// and the refetch interval has passed. e.mu is held.
func (c *JWKSCache) refresh(ctx context.Context, uri string, e *jwksEntry, force bool) error {
	now := c.now()
	stale := e.set == nil || !now.Before(e.fetchedAt.Add(c.ttl))
	if force && e.set != nil && now.Before(e.forcedAt.Add(c.refetch)) {
		return nil // forced refetch rate limit
	}
	if !stale && !force {
		return nil
	}
	if force {
		e.forcedAt = now
	}
	raw, set, err := c.fetch(ctx, uri)
	if err != nil && e.set != nil {
		c.log.WarnContext(ctx, "jwks refresh failed; using cached set", "jwks_uri", uri, "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	e.raw, e.set, e.fetchedAt = raw, set, now
	return nil
}

// fetch GETs and parses the JWK Set at uri.
func (c *JWKSCache) fetch(ctx context.Context, uri string) ([]byte, keySet, error) {
	if u, err := url.Parse(uri); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, nil, fmt.Errorf("keys: jwks_uri %.200q is not an absolute http(s) URL", uri)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	body, err := c.get(ctx, uri)
	if err != nil {
		return nil, nil, fmt.Errorf("keys: fetch jwks %s: %w", uri, err)
	}
	set, err := parseKeySet(body)
	if err != nil {
		return nil, nil, fmt.Errorf("keys: fetch jwks %s: %w", uri, err)
	}
	return body, set, nil
}

// get performs the request and reads at most maxBody bytes.
func (c *JWKSCache) get(ctx context.Context, uri string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > c.maxBody {
		return nil, fmt.Errorf("body larger than %d bytes", c.maxBody)
	}
	return body, nil
}

package keys

import (
	"context"
	"crypto"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// jwksServer serves a settable JWK Set and counts fetches.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	body    []byte
	status  int
	fetches atomic.Int32
}

func newJWKSServer(t *testing.T, body []byte) *jwksServer {
	s := &jwksServer{body: body, status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		w.WriteHeader(s.status)
		_, _ = w.Write(s.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(body []byte, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.status = body, status
}

// clientToken signs a client assertion with key under kid.
func clientToken(t *testing.T, key crypto.Signer, kid string, now time.Time) string {
	return signJWS(t, "ES256", key, map[string]any{"kid": kid}, mustJSON(t, assertion(now)))
}

func TestJWKSCacheCachesAndExpires(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	k1 := newECKey(t)
	srv := newJWKSServer(t, jwksOf(t, pubJWK(k1, "k1", "ES256")))
	c := NewJWKSCache(srv.Client(), WithCacheClock(clk.Now), WithCacheTTL(time.Minute))
	tok := clientToken(t, k1, "k1", clk.Now())
	for range 3 {
		if _, err := c.Verify(ctx, srv.URL, tok, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for 3 verifications, want 1", n)
	}
	clk.Add(time.Minute)
	if _, err := c.Verify(ctx, srv.URL, tok, nil, nil); err != nil {
		t.Fatal(err)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after TTL, want 2", n)
	}
	raw, err := c.Get(ctx, srv.URL)
	if err != nil || !strings.Contains(string(raw), `"k1"`) {
		t.Fatalf("Get = %s, %v", raw, err)
	}
}

func TestJWKSCacheRefetchOnUnknownKid(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	k1, k2, k3 := newECKey(t), newECKey(t), newECKey(t)
	srv := newJWKSServer(t, jwksOf(t, pubJWK(k1, "k1", "ES256")))
	c := NewJWKSCache(srv.Client(), WithCacheClock(clk.Now), WithRefetchInterval(30*time.Second))
	if _, err := c.Verify(ctx, srv.URL, clientToken(t, k1, "k1", clk.Now()), nil, nil); err != nil {
		t.Fatal(err)
	}
	// The client rotates: k2 appears at the URL; a k2 token forces a refetch.
	srv.set(jwksOf(t, pubJWK(k1, "k1", "ES256"), pubJWK(k2, "k2", "ES256")), http.StatusOK)
	if _, err := c.Verify(ctx, srv.URL, clientToken(t, k2, "k2", clk.Now()), nil, nil); err != nil {
		t.Fatalf("token with new kid: %v", err)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
	// Unknown kids within the refetch interval do not fetch again.
	for range 5 {
		_, err := c.Verify(ctx, srv.URL, clientToken(t, k3, "k3", clk.Now()), nil, nil)
		if !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after unknown kids, want 2 (rate limited)", n)
	}
	clk.Add(30 * time.Second)
	_, _ = c.Verify(ctx, srv.URL, clientToken(t, k3, "k3", clk.Now()), nil, nil)
	if n := srv.fetches.Load(); n != 3 {
		t.Fatalf("%d fetches after the interval, want 3", n)
	}
}

func TestJWKSCacheFetchFailures(t *testing.T) {
	ctx := context.Background()
	k1 := newECKey(t)
	good := jwksOf(t, pubJWK(k1, "k1", "ES256"))
	tests := []struct {
		name   string
		body   []byte
		status int
		opts   []CacheOption
	}{
		{"not found", good, http.StatusNotFound, nil},
		{"server error", good, http.StatusInternalServerError, nil},
		{"not JSON", []byte("<html>"), http.StatusOK, nil},
		{"no usable keys", []byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`), http.StatusOK, nil},
		{"body too large", good, http.StatusOK, []CacheOption{WithMaxBody(int64(len(good) - 1))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newJWKSServer(t, tt.body)
			srv.set(tt.body, tt.status)
			c := NewJWKSCache(srv.Client(), tt.opts...)
			if _, err := c.Get(ctx, srv.URL); err == nil {
				t.Fatal("Get succeeded")
			}
			_, err := c.Verify(ctx, srv.URL, clientToken(t, k1, "k1", time.Now()), nil, nil)
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify = %v, want ErrInvalidToken", err)
			}
		})
	}
	c := NewJWKSCache(http.DefaultClient)
	for _, uri := range []string{"", "file:///etc/passwd", "/relative", "https://"} {
		if _, err := c.Get(ctx, uri); err == nil {
			t.Errorf("Get(%q) succeeded", uri)
		}
	}
}

func TestJWKSCacheServesStaleOnFailure(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	k1 := newECKey(t)
	srv := newJWKSServer(t, jwksOf(t, pubJWK(k1, "k1", "ES256")))
	c := NewJWKSCache(srv.Client(), WithCacheClock(clk.Now), WithCacheTTL(time.Minute))
	tok := clientToken(t, k1, "k1", clk.Now())
	if _, err := c.Verify(ctx, srv.URL, tok, nil, nil); err != nil {
		t.Fatal(err)
	}
	srv.set(nil, http.StatusServiceUnavailable)
	clk.Add(2 * time.Minute)
	if _, err := c.Verify(ctx, srv.URL, tok, nil, nil); err != nil {
		t.Fatalf("stale set not used while the issuer is down: %v", err)
	}
}

func TestJWKSCacheTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := NewJWKSCache(srv.Client(), WithFetchTimeout(20*time.Millisecond))
	if _, err := c.Get(context.Background(), srv.URL); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get = %v, want a deadline error", err)
	}
}

func TestExternalVerifier(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	k1, k2 := newECKey(t), newECKey(t)
	srv := newJWKSServer(t, jwksOf(t, pubJWK(k2, "k2", "ES256")))
	v := NewExternalVerifier(NewJWKSCache(srv.Client()))
	inline := storage.Client{ID: "c1", JWKS: jwksOf(t, pubJWK(k1, "k1", "ES256"))}
	remote := storage.Client{ID: "c2", JWKSURI: srv.URL}
	tests := []struct {
		name string
		run  func() error
		ok   bool
	}{
		{"inline jwks", func() error { return v.VerifyClientJWT(ctx, clientToken(t, k1, "k1", now), inline, nil) }, true},
		{"jwks_uri", func() error { return v.VerifyClientJWT(ctx, clientToken(t, k2, "k2", now), remote, nil) }, true},
		{"other client's key", func() error { return v.VerifyClientJWT(ctx, clientToken(t, k2, "k2", now), inline, nil) }, false},
		{"no keys", func() error {
			return v.VerifyClientJWT(ctx, clientToken(t, k1, "k1", now), storage.Client{ID: "x"}, nil)
		}, false},
		{"issuer algs allow", func() error {
			return v.VerifyIssuerJWT(ctx, clientToken(t, k1, "k1", now), storage.Issuer{JWKS: inline.JWKS, Algorithms: []string{"ES256"}}, nil)
		}, true},
		{"issuer algs deny", func() error {
			return v.VerifyIssuerJWT(ctx, clientToken(t, k1, "k1", now), storage.Issuer{JWKS: inline.JWKS, Algorithms: []string{"RS256"}}, nil)
		}, false},
		{"issuer jwks_uri", func() error {
			return v.VerifyIssuerJWT(ctx, clientToken(t, k2, "k2", now), storage.Issuer{JWKSURI: srv.URL}, nil)
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalidToken)) {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

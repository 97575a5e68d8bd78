package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// fakeStore is an in-memory Store holding signing keys only. Update runs fn
// twice, discarding the first run, as a real store may re-run it.
type fakeStore struct {
	mu        sync.Mutex
	keys      map[string]storage.Key
	updates   int
	updateErr error
}

func newFakeStore() *fakeStore { return &fakeStore{keys: map[string]storage.Key{}} }

func (s *fakeStore) ListKeys(ctx context.Context) ([]storage.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.keys), nil
}

func (s *fakeStore) Update(ctx context.Context, fn func(w storage.Writer) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.updateErr != nil {
		return s.updateErr
	}
	if err := fn(&fakeWriter{keys: maps.Clone(s.keys)}); err != nil {
		return err
	}
	w := &fakeWriter{keys: maps.Clone(s.keys)}
	if err := fn(w); err != nil {
		return err
	}
	s.keys = w.keys
	s.updates++
	return nil
}

// all returns a copy of every stored key, oldest first.
func (s *fakeStore) all() []storage.Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.keys)
}

func sortedKeys(m map[string]storage.Key) []storage.Key {
	out := slices.Collect(maps.Values(m))
	slices.SortFunc(out, func(a, b storage.Key) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

// fakeWriter implements the key methods of storage.Writer; any other method
// panics through the nil embedded interface.
type fakeWriter struct {
	storage.Writer
	keys map[string]storage.Key
}

func (w *fakeWriter) ListKeys(ctx context.Context) ([]storage.Key, error) {
	return sortedKeys(w.keys), nil
}

func (w *fakeWriter) PutKey(ctx context.Context, k storage.Key) error {
	w.keys[k.ID] = k
	return nil
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testKEK is a fixed key-encryption key for tests.
var testKEK = []byte("0123456789abcdef0123456789abcdef")

// newTestManager opens a Manager on a fresh fake store with a fake clock.
func newTestManager(t testing.TB, cfg Config) (*Manager, *fakeStore, *fakeClock) {
	t.Helper()
	st, clk := newFakeStore(), newClock()
	m, err := Open(context.Background(), st, testKEK, cfg, WithClock(clk.Now))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return m, st, clk
}

// b64 is base64url without padding.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// mustJSON marshals v or fails the test.
func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signJWS builds a compact JWS by hand, independently of go-jose. key is a
// crypto.Signer for asymmetric algorithms, []byte for HS256, nil for none.
func signJWS(t testing.TB, alg string, key any, header map[string]any, payload []byte) string {
	t.Helper()
	h := map[string]any{"alg": alg}
	maps.Copy(h, header)
	input := b64(mustJSON(t, h)) + "." + b64(payload)
	sig, err := rawSign(alg, key, []byte(input))
	if err != nil {
		t.Fatalf("sign %s: %v", alg, err)
	}
	return input + "." + b64(sig)
}

// rawSign signs input with the JWS algorithm alg.
func rawSign(alg string, key any, input []byte) ([]byte, error) {
	digest := sha256.Sum256(input)
	switch alg {
	case "none":
		return nil, nil
	case "HS256":
		mac := hmac.New(sha256.New, key.([]byte))
		mac.Write(input)
		return mac.Sum(nil), nil
	case "ES256":
		r, s, err := ecdsa.Sign(rand.Reader, key.(*ecdsa.PrivateKey), digest[:])
		if err != nil {
			return nil, err
		}
		return append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...), nil
	case "EdDSA":
		return ed25519.Sign(key.(ed25519.PrivateKey), input), nil
	case "RS256":
		return rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, digest[:])
	case "PS256":
		return rsa.SignPSS(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, digest[:], nil)
	}
	return nil, errors.New("unsupported alg " + alg)
}

// verifyIndependently checks raw's signature with pub using only the
// standard library: the property fuzz targets hold the code to.
func verifyIndependently(raw string, pub crypto.PublicKey) bool {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return false
	}
	hdr, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	sig, err2 := base64.RawURLEncoding.DecodeString(parts[2])
	var h struct {
		Alg string `json:"alg"`
	}
	if err1 != nil || err2 != nil || json.Unmarshal(hdr, &h) != nil {
		return false
	}
	input := []byte(parts[0] + "." + parts[1])
	digest := sha256.Sum256(input)
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if h.Alg != "ES256" || len(sig) != 64 {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(k, digest[:], r, s)
	case ed25519.PublicKey:
		return h.Alg == "EdDSA" && ed25519.Verify(k, input, sig)
	case *rsa.PublicKey:
		switch h.Alg {
		case "RS256":
			return rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], sig) == nil
		case "PS256":
			return rsa.VerifyPSS(k, crypto.SHA256, digest[:], sig, nil) == nil
		}
	}
	return false
}

// testClaims are the claims tests sign.
type testClaims struct {
	Registered
	ClientID string   `json:"client_id,omitempty"`
	Scope    string   `json:"scope,omitempty"`
	Extra    []string `json:"extra,omitempty"`
}

// validClaims returns claims valid for an hour from now.
func validClaims(now time.Time) testClaims {
	return testClaims{
		Registered: Registered{
			Issuer: "https://vigil.example", Subject: "agent-1", Audience: Audience{"https://api.example"},
			Expiry: NewNumericDate(now.Add(time.Hour)), IssuedAt: NewNumericDate(now), ID: "tok-1",
		},
		ClientID: "agent-1", Scope: "read",
	}
}

// newECKey returns a fresh P-256 key.
func newECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := generateSigner(ES256)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*ecdsa.PrivateKey)
}

package keys

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// rsaKeys caches generated RSA keys across tests (generation is slow).
var rsaKeys = struct {
	once       sync.Once
	k2048, k1k *rsa.PrivateKey
}{}

func rsaKey(t testing.TB, bits int) *rsa.PrivateKey {
	t.Helper()
	rsaKeys.once.Do(func() {
		rsaKeys.k2048, _ = rsa.GenerateKey(rand.Reader, 2048)
		rsaKeys.k1k, _ = rsa.GenerateKey(rand.Reader, 1024)
	})
	if bits == 1024 {
		return rsaKeys.k1k
	}
	return rsaKeys.k2048
}

// jwksOf builds a JWK Set JSON from public keys with the given kids and algs.
func jwksOf(t testing.TB, entries ...jose.JSONWebKey) []byte {
	t.Helper()
	return mustJSON(t, jose.JSONWebKeySet{Keys: entries})
}

// pubJWK returns the public JWK of signer.
func pubJWK(signer crypto.Signer, kid, alg string) jose.JSONWebKey {
	return jose.JSONWebKey{Key: signer.Public(), KeyID: kid, Algorithm: alg, Use: "sig"}
}

// assertion returns client-assertion claims valid at now.
func assertion(now time.Time) testClaims {
	c := validClaims(now)
	c.Audience = Audience{"https://vigil.example"}
	return c
}

func TestVerifyWithJWKSAccepts(t *testing.T) {
	now := time.Now()
	ec := newECKey(t)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rs := rsaKey(t, 2048)
	set := jwksOf(t, pubJWK(ec, "ec", "ES256"), pubJWK(ed, "ed", ""), pubJWK(rs, "rs", ""))
	payload := mustJSON(t, assertion(now))
	tests := []struct {
		name string
		alg  string
		key  any
		kid  string
		algs []string
	}{
		{"ES256", "ES256", ec, "ec", []string{"ES256"}},
		{"EdDSA", "EdDSA", ed, "ed", []string{"EdDSA", "ES256"}},
		{"RS256", "RS256", rs, "rs", []string{"RS256"}},
		{"PS256 default algs", "PS256", rs, "rs", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := signJWS(t, tt.alg, tt.key, map[string]any{"kid": tt.kid, "typ": "JWT"}, payload)
			var got testClaims
			h, err := VerifyWithJWKS(raw, set, tt.algs, &got)
			if err != nil {
				t.Fatalf("VerifyWithJWKS: %v", err)
			}
			if h != (Header{KeyID: tt.kid, Algorithm: tt.alg, Type: "JWT"}) {
				t.Fatalf("header = %+v", h)
			}
			if got.Subject != "agent-1" || got.ValidateTime(now, 0) != nil {
				t.Fatalf("claims = %+v", got)
			}
		})
	}
	// No kid: the single key that fits the algorithm is used.
	single := jwksOf(t, pubJWK(ec, "", ""))
	if _, err := VerifyWithJWKS(signJWS(t, "ES256", ec, nil, payload), single, []string{"ES256"}, nil); err != nil {
		t.Fatalf("no kid, single key: %v", err)
	}
}

func TestVerifyWithJWKSRejects(t *testing.T) {
	now := time.Now()
	ec, ec2 := newECKey(t), newECKey(t)
	rs, weak := rsaKey(t, 2048), rsaKey(t, 1024)
	payload := mustJSON(t, assertion(now))
	set := jwksOf(t, pubJWK(ec, "ec", "ES256"), pubJWK(rs, "rs", "RS256"))
	rsPubJSON, _ := json.Marshal(pubJWK(rs, "rs", ""))
	octSet := []byte(`{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"}]}`)
	privSet := jwksOf(t, jose.JSONWebKey{Key: ec, KeyID: "ec", Algorithm: "ES256"})
	hdr := func(kid string) map[string]any { return map[string]any{"kid": kid} }
	tests := []struct {
		name string
		raw  string
		jwks []byte
		algs []string
		want error
	}{
		{"alg none", signJWS(t, "none", nil, hdr("ec"), payload), set, []string{"ES256", "none"}, nil},
		{"HS256 with RSA public key as secret", signJWS(t, "HS256", rsPubJSON, hdr("rs"), payload), set, []string{"RS256", "HS256"}, nil},
		{"HS256 against oct key", signJWS(t, "HS256", []byte("secret-secret-secret-secret"), hdr("h"), payload), octSet, []string{"HS256"}, nil},
		{"alg outside allow-list", signJWS(t, "ES256", ec, hdr("ec"), payload), set, []string{"RS256"}, nil},
		{"only symmetric algs allowed", signJWS(t, "ES256", ec, hdr("ec"), payload), set, []string{"HS256"}, nil},
		{"unknown kid", signJWS(t, "ES256", ec, hdr("zz"), payload), set, nil, ErrUnknownKey},
		{"kid of other alg", signJWS(t, "ES256", ec, hdr("rs"), payload), set, nil, ErrUnknownKey},
		{"no kid, two EC keys", signJWS(t, "ES256", ec, nil, payload), jwksOf(t, pubJWK(ec, "a", ""), pubJWK(ec2, "b", "")), nil, nil},
		{"duplicate kid", signJWS(t, "ES256", ec, hdr("d"), payload), jwksOf(t, pubJWK(ec, "d", ""), pubJWK(ec2, "d", "")), nil, nil},
		{"wrong key", signJWS(t, "ES256", ec2, hdr("ec"), payload), set, nil, nil},
		{"RSA 1024", signJWS(t, "RS256", weak, hdr("w"), payload), jwksOf(t, pubJWK(weak, "w", "")), nil, nil},
		{"RSA 1024 beside a good key", signJWS(t, "RS256", weak, hdr("w"), payload), jwksOf(t, pubJWK(weak, "w", ""), pubJWK(ec2, "x", "")), nil, ErrUnknownKey},
		{"key for encryption", signJWS(t, "ES256", ec, hdr("e"), payload), jwksOf(t, jose.JSONWebKey{Key: ec.Public(), KeyID: "e", Use: "enc"}, pubJWK(ec2, "x", "")), nil, ErrUnknownKey},
		{"garbage jwks", signJWS(t, "ES256", ec, hdr("ec"), payload), []byte(`{"keys":`), nil, nil},
		{"empty jwks", signJWS(t, "ES256", ec, hdr("ec"), payload), []byte(`{"keys":[]}`), nil, nil},
		{"duplicate claim", signJWS(t, "ES256", ec, hdr("ec"), []byte(`{"sub":"a","sub":"b"}`)), set, nil, nil},
		{"aud object", signJWS(t, "ES256", ec, hdr("ec"), []byte(`{"aud":{"x":1}}`)), set, nil, nil},
		{"exp string", signJWS(t, "ES256", ec, hdr("ec"), []byte(`{"exp":"1"}`)), set, nil, nil},
		{"trailing garbage", signJWS(t, "ES256", ec, hdr("ec"), append(payload, '}')), set, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out testClaims
			_, err := VerifyWithJWKS(tt.raw, tt.jwks, tt.algs, &out)
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("err = %v, want ErrInvalidToken", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if out.Subject != "" {
				t.Fatal("claims decoded from a rejected token")
			}
		})
	}
	// A key published with its private members is compromised: never used.
	if _, err := VerifyWithJWKS(signJWS(t, "ES256", ec, hdr("ec"), payload), privSet, nil, nil); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("private JWK in set: %v, want refused", err)
	}
}

func TestAllowedAlgs(t *testing.T) {
	got := allowedAlgs([]string{"none", "HS256", "ES256", "ES256", "RS256", "bogus"})
	if len(got) != 2 || got[0] != jose.ES256 || got[1] != jose.RS256 {
		t.Fatalf("allowedAlgs = %v", got)
	}
	if len(allowedAlgs(nil)) != len(asymmetricAlgs) {
		t.Fatal("empty list should mean every asymmetric algorithm")
	}
}

func TestKeyFitsAlg(t *testing.T) {
	ec := newECKey(t)
	tests := []struct {
		key any
		alg jose.SignatureAlgorithm
		ok  bool
	}{
		{ec.Public(), jose.ES256, true},
		{ec.Public(), jose.ES384, false},
		{ec.Public(), jose.RS256, false},
		{rsaKey(t, 2048).Public(), jose.PS256, true},
		{rsaKey(t, 1024).Public(), jose.RS256, false},
		{rsaKey(t, 2048).Public(), jose.EdDSA, false},
		{[]byte("secret"), jose.HS256, false},
		{ec, jose.ES256, false}, // private keys are not public keys
	}
	for _, tt := range tests {
		if err := keyFitsAlg(tt.key, tt.alg); (err == nil) != tt.ok {
			t.Errorf("keyFitsAlg(%T, %s) = %v, want ok=%v", tt.key, tt.alg, err, tt.ok)
		}
	}
}

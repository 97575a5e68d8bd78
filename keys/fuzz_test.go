package keys

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// fuzzAlgs are the algorithms verifyIndependently can check.
var fuzzAlgs = []string{"ES256", "EdDSA", "RS256", "PS256"}

// Property: Verify never panics and accepts only tokens whose signature the
// standard library confirms under the published key.
func FuzzVerify(f *testing.F) {
	m, _, clk := newTestManager(f, Config{})
	active := m.ring.Load().active
	good, err := m.Sign("at+jwt", validClaims(clk.Now()))
	if err != nil {
		f.Fatal(err)
	}
	payload := mustJSON(f, validClaims(clk.Now()))
	hdr := map[string]any{"kid": active.kid, "typ": "at+jwt"}
	f.Add(good)
	f.Add(signJWS(f, "none", nil, hdr, payload))
	f.Add(signJWS(f, "HS256", m.JWKS(), hdr, payload))
	f.Add(signJWS(f, "ES256", newECKey(f), hdr, payload))
	f.Add(signJWS(f, "ES256", active.signer, hdr, []byte(`{"exp":9999999999,"sub":"a","sub":"b"}`)))
	f.Add(good[:len(good)-4])
	f.Add(strings.Repeat(".", 1000))
	f.Add("")
	pub := active.signer.Public()
	f.Fuzz(func(t *testing.T, raw string) {
		var out map[string]any
		if err := m.Verify(raw, "at+jwt", &out); err == nil && !verifyIndependently(raw, pub) {
			t.Fatalf("accepted a token without a valid signature: %q", raw)
		}
	})
}

// Property: ParseDPoPProof never panics and accepts only proofs that are
// explicitly typed and whose signature verifies under their own jwk.
func FuzzParseDPoPProof(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	f.Add(makeProof(f, proofSpec{claims: baseClaims(now)}))
	f.Add(makeProof(f, proofSpec{alg: "EdDSA", signer: ed, claims: baseClaims(now)}))
	f.Add(makeProof(f, proofSpec{alg: "none", claims: baseClaims(now)}))
	f.Add(makeProof(f, proofSpec{alg: "HS256", claims: baseClaims(now)}))
	f.Add(makeProof(f, proofSpec{jwk: map[string]any{"kty": "oct", "k": "c2VjcmV0"}, claims: baseClaims(now)}))
	f.Add(makeProof(f, proofSpec{header: map[string]any{"typ": "JWT"}, claims: baseClaims(now)}))
	f.Add(makeProof(f, proofSpec{jwk: publicJWKMap(f, newECKey(f)), claims: baseClaims(now)}))
	f.Add("a.b.c")
	opts := DPoPOptions{Method: "POST", URL: tokenURL, Algs: fuzzAlgs}
	f.Fuzz(func(t *testing.T, raw string) {
		if _, err := ParseDPoPProof(raw, now, opts); err == nil && !proofSelfSigned(raw) {
			t.Fatalf("accepted a proof not signed by its jwk: %q", raw)
		}
	})
}

// proofSelfSigned checks, outside the code under test, that raw is typed
// dpop+jwt and signed by the key in its jwk header.
func proofSelfSigned(raw string) bool {
	enc, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return false
	}
	var h struct {
		Typ string          `json:"typ"`
		JWK json.RawMessage `json:"jwk"`
	}
	if json.Unmarshal(b, &h) != nil || !strings.EqualFold(strings.TrimPrefix(strings.ToLower(h.Typ), "application/"), "dpop+jwt") {
		return false
	}
	var k jose.JSONWebKey
	if k.UnmarshalJSON(h.JWK) != nil || !k.IsPublic() {
		return false
	}
	return verifyIndependently(raw, k.Key)
}

// Property: VerifyWithJWKS never panics, whatever the token and the set,
// and accepts only tokens that some key of the set verifies.
func FuzzVerifyWithJWKS(f *testing.F) {
	now := time.Now()
	ec, other := newECKey(f), newECKey(f)
	set := jwksOf(f, pubJWK(ec, "ec", "ES256"))
	payload := mustJSON(f, assertion(now))
	f.Add(signJWS(f, "ES256", ec, map[string]any{"kid": "ec"}, payload), set)
	f.Add(signJWS(f, "ES256", ec, nil, payload), set)
	f.Add(signJWS(f, "ES256", other, map[string]any{"kid": "ec"}, payload), set)
	f.Add(signJWS(f, "none", nil, map[string]any{"kid": "ec"}, payload), set)
	f.Add(signJWS(f, "HS256", set, map[string]any{"kid": "ec"}, payload), set)
	f.Add(signJWS(f, "HS256", []byte("secret"), map[string]any{"kid": "h"}, payload), []byte(`{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}`))
	f.Add("x.y.z", []byte(`{"keys":[{}]}`))
	f.Fuzz(func(t *testing.T, raw string, jwks []byte) {
		if _, err := VerifyWithJWKS(raw, jwks, fuzzAlgs, nil); err == nil && !someKeyVerifies(raw, jwks) {
			t.Fatalf("accepted %q with no key of %q verifying it", raw, jwks)
		}
	})
}

// someKeyVerifies reports whether a public key of jwks verifies raw,
// checked with the standard library.
func someKeyVerifies(raw string, jwks []byte) bool {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if json.Unmarshal(jwks, &set) != nil {
		return false
	}
	for _, b := range set.Keys {
		var k jose.JSONWebKey
		if k.UnmarshalJSON(b) == nil && verifyIndependently(raw, k.Public().Key) {
			return true
		}
	}
	return false
}

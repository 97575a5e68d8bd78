package keys

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"maps"
	"strconv"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const (
	tokenURL  = "https://vigil.example/token"
	testToken = "access-token-value"
)

// proofSpec describes a DPoP proof to build.
type proofSpec struct {
	alg    string
	signer crypto.Signer // signs the proof; its public key goes in jwk
	header map[string]any
	claims map[string]any
	jwk    map[string]any // replaces the jwk header when set
}

// dpopTestKey is a P-256 proof key shared by the tests.
var dpopTestKey = newECKeyOnce()

func newECKeyOnce() crypto.Signer {
	k, err := generateSigner(ES256)
	if err != nil {
		panic(err)
	}
	return k
}

// baseClaims are valid proof claims at now.
func baseClaims(now time.Time) map[string]any {
	return map[string]any{"jti": "proof-1", "htm": "POST", "htu": tokenURL, "iat": now.Unix()}
}

// publicJWKMap returns the public JWK members of signer.
func publicJWKMap(t testing.TB, signer crypto.Signer) map[string]any {
	t.Helper()
	b, err := (&jose.JSONWebKey{Key: signer.Public()}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := decodeStrict(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// makeProof builds the proof described by s.
func makeProof(t testing.TB, s proofSpec) string {
	t.Helper()
	if s.alg == "" {
		s.alg = "ES256"
	}
	if s.signer == nil {
		s.signer = dpopTestKey
	}
	jwk := s.jwk
	if jwk == nil {
		jwk = publicJWKMap(t, s.signer)
	}
	h := map[string]any{"typ": "dpop+jwt", "jwk": jwk}
	maps.Copy(h, s.header)
	for k, v := range h {
		if v == nil {
			delete(h, k)
		}
	}
	var key any = s.signer
	if s.alg == "HS256" {
		key = []byte("0123456789abcdef0123456789abcdef")
	}
	return signJWS(t, s.alg, key, h, mustJSON(t, s.claims))
}

// withClaims returns base claims at now changed by set (nil values delete).
func withClaims(now time.Time, set map[string]any) map[string]any {
	c := baseClaims(now)
	for k, v := range set {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func TestParseDPoPProofAccepts(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rs := rsaKey(t, 2048)
	opts := DPoPOptions{Method: "POST", URL: tokenURL}
	tests := []struct {
		name string
		spec proofSpec
		opts DPoPOptions
	}{
		{"ES256", proofSpec{claims: baseClaims(now)}, opts},
		{"EdDSA", proofSpec{alg: "EdDSA", signer: ed, claims: baseClaims(now)}, opts},
		{"RS256", proofSpec{alg: "RS256", signer: rs, claims: baseClaims(now)}, opts},
		{"PS256", proofSpec{alg: "PS256", signer: rs, claims: baseClaims(now)}, opts},
		{"htu with query and fragment", proofSpec{claims: withClaims(now, map[string]any{"htu": tokenURL + "?a=1#frag"})}, opts},
		{"htu case and default port", proofSpec{claims: withClaims(now, map[string]any{"htu": "HTTPS://Vigil.Example:443/token"})}, opts},
		{"request URL with query", proofSpec{claims: baseClaims(now)}, DPoPOptions{Method: "POST", URL: tokenURL + "?x=y"}},
		{"iat 10s ago", proofSpec{claims: withClaims(now, map[string]any{"iat": now.Unix() - 10})}, opts},
		{"iat 10s ahead", proofSpec{claims: withClaims(now, map[string]any{"iat": now.Unix() + 10})}, opts},
		{"typ with application/ prefix", proofSpec{header: map[string]any{"typ": "application/dpop+jwt"}, claims: baseClaims(now)}, opts},
		{"ath matches", proofSpec{claims: withClaims(now, map[string]any{"ath": AccessTokenHash(testToken)})},
			DPoPOptions{Method: "POST", URL: tokenURL, AccessToken: testToken}},
		{"nonce accepted", proofSpec{claims: withClaims(now, map[string]any{"nonce": "n-1"})},
			DPoPOptions{Method: "POST", URL: tokenURL, ValidNonce: func(n string) bool { return n == "n-1" }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signer := tt.spec.signer
			if signer == nil {
				signer = dpopTestKey
			}
			p, err := ParseDPoPProof(makeProof(t, tt.spec), now, tt.opts)
			if err != nil {
				t.Fatalf("ParseDPoPProof: %v", err)
			}
			want, err := Thumbprint(mustJSON(t, publicJWKMap(t, signer)))
			if err != nil {
				t.Fatal(err)
			}
			if p.JKT != want || p.JTI != "proof-1" || p.IssuedAt.Unix() != int64(tt.spec.claims["iat"].(int64)) {
				t.Fatalf("proof = %+v, want jkt %s", p, want)
			}
			if !p.ReplayUntil.Equal(p.IssuedAt.Add(DefaultDPoPMaxAge)) {
				t.Fatalf("ReplayUntil = %v", p.ReplayUntil)
			}
		})
	}
}

func TestParseDPoPProofRejects(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	opts := DPoPOptions{Method: "POST", URL: tokenURL}
	other := newECKeyOnce()
	privJWK := publicJWKMap(t, dpopTestKey)
	privJWK["d"] = "AAAA"
	good := makeProof(t, proofSpec{claims: baseClaims(now)})
	tests := []struct {
		name string
		raw  string
		opts DPoPOptions
	}{
		{"typ JWT", makeProof(t, proofSpec{header: map[string]any{"typ": "JWT"}, claims: baseClaims(now)}), opts},
		{"no typ", makeProof(t, proofSpec{header: map[string]any{"typ": nil}, claims: baseClaims(now)}), opts},
		{"alg none", makeProof(t, proofSpec{alg: "none", claims: baseClaims(now)}), opts},
		{"alg HS256", makeProof(t, proofSpec{alg: "HS256", claims: baseClaims(now)}), opts},
		{"alg outside caller list", good, DPoPOptions{Method: "POST", URL: tokenURL, Algs: []string{"EdDSA"}}},
		{"alg does not fit key", makeProof(t, proofSpec{claims: baseClaims(now), header: map[string]any{"alg": "ES384"}}), opts},
		{"private d in jwk", makeProof(t, proofSpec{jwk: privJWK, claims: baseClaims(now)}), opts},
		{"oct jwk", makeProof(t, proofSpec{jwk: map[string]any{"kty": "oct", "k": "c2VjcmV0"}, claims: baseClaims(now)}), opts},
		{"no jwk", makeProof(t, proofSpec{header: map[string]any{"jwk": nil}, claims: baseClaims(now)}), opts},
		{"jwk not an object", makeProof(t, proofSpec{header: map[string]any{"jwk": "x"}, claims: baseClaims(now)}), opts},
		{"signed by other key", makeProof(t, proofSpec{jwk: publicJWKMap(t, other), claims: baseClaims(now)}), opts},
		{"bad signature", good[:len(good)-10] + "AAAAAAAAAA", opts},
		{"missing jti", makeProof(t, proofSpec{claims: withClaims(now, map[string]any{"jti": nil})}), opts},
		{"missing htm", makeProof(t, proofSpec{claims: withClaims(now, map[string]any{"htm": nil})}), opts},
		{"missing htu", makeProof(t, proofSpec{claims: withClaims(now, map[string]any{"htu": nil})}), opts},
		{"missing iat", makeProof(t, proofSpec{claims: withClaims(now, map[string]any{"iat": nil})}), opts},
		{"iat as string", makeProof(t, proofSpec{claims: withClaims(now, map[string]any{"iat": "1800000000"})}), opts},
		{"wrong htm", makeProof(t, proofSpec{claims: withClaims(now, map[string]any{"htm": "GET"})}), opts},
		{"lower-case htm", makeProof(t, proofSpec{claims: withClaims(now, map[string]any{"htm": "post"})}), opts},
		{"htu other path", makeProof(t, proofSpec{claims: withClaims(now, map[string]any{"htu": "https://vigil.example/introspect"})}), opts},
		{"htu other host", makeProof(t, proofSpec{claims: withClaims(now, map[string]any{"htu": "https://evil.example/token"})}), opts},
		{"htu http scheme", makeProof(t, proofSpec{claims: withClaims(now, map[string]any{"htu": "http://vigil.example/token"})}), opts},
		{"htu other port", makeProof(t, proofSpec{claims: withClaims(now, map[string]any{"htu": "https://vigil.example:8443/token"})}), opts},
		{"htu relative", makeProof(t, proofSpec{claims: withClaims(now, map[string]any{"htu": "/token"})}), opts},
		{"iat 1h ago", makeProof(t, proofSpec{claims: withClaims(now, map[string]any{"iat": now.Unix() - 3600})}), opts},
		{"iat 1h ahead", makeProof(t, proofSpec{claims: withClaims(now, map[string]any{"iat": now.Unix() + 3600})}), opts},
		{"ath missing", good, DPoPOptions{Method: "POST", URL: tokenURL, AccessToken: testToken}},
		{"ath wrong", makeProof(t, proofSpec{claims: withClaims(now, map[string]any{"ath": AccessTokenHash("other")})}),
			DPoPOptions{Method: "POST", URL: tokenURL, AccessToken: testToken}},
		{"duplicate claim", dupClaimProof(t, now), opts},
		{"oversized", makeProof(t, proofSpec{claims: withClaims(now, map[string]any{"pad": string(make([]byte, MaxTokenSize))})}), opts},
		{"not a JWT", "not-a-jwt", opts},
		{"empty", "", opts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDPoPProof(tt.raw, now, tt.opts)
			if !errors.Is(err, ErrInvalidDPoPProof) || errors.Is(err, ErrUseDPoPNonce) {
				t.Fatalf("err = %v, want ErrInvalidDPoPProof only", err)
			}
		})
	}
}

// dupClaimProof returns a proof whose claims repeat jti.
func dupClaimProof(t *testing.T, now time.Time) string {
	payload := []byte(`{"jti":"a","jti":"b","htm":"POST","htu":"` + tokenURL + `","iat":` + strconv.FormatInt(now.Unix(), 10) + `}`)
	h := map[string]any{"typ": "dpop+jwt", "jwk": publicJWKMap(t, dpopTestKey)}
	return signJWS(t, "ES256", dpopTestKey, h, payload)
}

func TestParseDPoPProofNonce(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	valid := func(n string) bool { return n == "fresh" }
	tests := []struct {
		name   string
		claims map[string]any
		ok     bool
	}{
		{"fresh nonce", withClaims(now, map[string]any{"nonce": "fresh"}), true},
		{"no nonce", baseClaims(now), false},
		{"stale nonce", withClaims(now, map[string]any{"nonce": "stale"}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseDPoPProof(makeProof(t, proofSpec{claims: tt.claims}), now,
				DPoPOptions{Method: "POST", URL: tokenURL, ValidNonce: valid})
			if tt.ok {
				if err != nil || p.Nonce != "fresh" {
					t.Fatalf("got %+v, %v", p, err)
				}
				return
			}
			if !errors.Is(err, ErrUseDPoPNonce) || errors.Is(err, ErrInvalidDPoPProof) {
				t.Fatalf("err = %v, want ErrUseDPoPNonce only", err)
			}
		})
	}
	// A bad proof is invalid_dpop_proof even when the nonce is missing too.
	bad := makeProof(t, proofSpec{claims: withClaims(now, map[string]any{"htm": "GET"})})
	if _, err := ParseDPoPProof(bad, now, DPoPOptions{Method: "POST", URL: tokenURL, ValidNonce: valid}); !errors.Is(err, ErrInvalidDPoPProof) {
		t.Fatalf("bad proof without nonce: %v", err)
	}
}

func TestThumbprintRFC7638(t *testing.T) {
	// RFC 7638 §3.1.
	jwk := []byte(`{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`)
	got, err := Thumbprint(jwk)
	if err != nil {
		t.Fatal(err)
	}
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Fatalf("Thumbprint = %s, want %s", got, want)
	}
	for name, bad := range map[string]string{
		"private": `{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}`,
		"oct":     `{"kty":"oct","k":"c2VjcmV0"}`,
		"garbage": `{"kty":`,
		"dup":     `{"kty":"RSA","kty":"EC"}`,
	} {
		if _, err := Thumbprint([]byte(bad)); err == nil {
			t.Errorf("%s: Thumbprint accepted %s", name, bad)
		}
	}
}

func TestNormalizeHTU(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"https://vigil.example/token", "https://vigil.example/token", false},
		{"HTTPS://VIGIL.EXAMPLE/token", "https://vigil.example/token", false},
		{"https://vigil.example:443/token", "https://vigil.example/token", false},
		{"http://vigil.example:80/token", "http://vigil.example/token", false},
		{"https://vigil.example:8443/token", "https://vigil.example:8443/token", false},
		{"https://vigil.example", "https://vigil.example/", false},
		{"https://vigil.example/a/./b/../token?q=1#f", "https://vigil.example/a/token", false},
		{"https://vigil.example/%7Etoken/%2f", "https://vigil.example/~token/%2F", false},
		{"https://[::1]:443/t", "https://[::1]/t", false},
		{"https://[::1]:9/t", "https://[::1]:9/t", false},
		{"/token", "", true},
		{"ftp://vigil.example/token", "", true},
		{"https://user@vigil.example/token", "", true},
		{"https://vigil.example/%zz", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := normalizeHTU(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("normalizeHTU(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

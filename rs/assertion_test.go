package rs

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestNewAssertionSigner(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	tests := []struct {
		name    string
		key     crypto.Signer
		wantAlg string // "" when the key is refused
	}{
		{"ecdsa p-256", ec, "ES256"},
		{"ed25519", ed, "EdDSA"},
		{"rsa 2048", rk, "RS256"},
		{"ecdsa p-384 refused", ec384, ""},
		{"rsa 1024 refused", small, ""},
	}
	now := time.Unix(1_800_000_000, 0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sign, err := NewAssertionSigner(AssertionConfig{ClientID: "rs1", Audience: testIssuer, Key: tt.key, KeyID: "k1",
				Now: func() time.Time { return now }})
			if tt.wantAlg == "" {
				if err == nil {
					t.Fatal("key accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a1, err := sign(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			a2, _ := sign(t.Context())
			hdr, claims := verifyCompact(t, a1, tt.key.Public())
			if hdr["alg"] != tt.wantAlg || hdr["kid"] != "k1" {
				t.Errorf("header = %v", hdr)
			}
			want := map[string]any{"iss": "rs1", "sub": "rs1", "aud": testIssuer, "iat": float64(now.Unix()),
				"exp": float64(now.Add(time.Minute).Unix())}
			for k, v := range want {
				if claims[k] != v {
					t.Errorf("claim %s = %v, want %v", k, claims[k], v)
				}
			}
			_, claims2 := verifyCompact(t, a2, tt.key.Public())
			if claims["jti"] == "" || claims["jti"] == claims2["jti"] {
				t.Errorf("jti %v is not fresh per assertion", claims["jti"])
			}
		})
	}
	if _, err := NewAssertionSigner(AssertionConfig{ClientID: "rs1", Key: ec}); err == nil {
		t.Error("signer without an audience accepted")
	}
}

// verifyCompact checks a compact JWS with the standard library alone.
func verifyCompact(t *testing.T, jws string, pub crypto.PublicKey) (map[string]any, map[string]any) {
	t.Helper()
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", jws)
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	input := []byte(parts[0] + "." + parts[1])
	sum := sha256.Sum256(input)
	ok := false
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		ok = len(sig) == 64 && ecdsa.Verify(k, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
	case ed25519.PublicKey:
		ok = ed25519.Verify(k, input, sig)
	case *rsa.PublicKey:
		ok = rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) == nil
	}
	if !ok {
		t.Fatal("signature does not verify")
	}
	var hdr, claims map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(cb, &claims) != nil {
		t.Fatal("undecodable JWS")
	}
	return hdr, claims
}

func TestMiddleware_AuthenticatesWithAssertion(t *testing.T) {
	var got http.Header
	var form map[string][]string
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		got, form = r.Header, r.PostForm
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"active":false}`))
	}))
	t.Cleanup(as.Close)
	m, err := New(Config{IntrospectionURL: as.URL, ClientID: "rs1", Audience: testAudience,
		ClientAssertion: func(context.Context) (string, error) { return "signed.assertion.value", nil }})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = m.Authorize(request("Bearer tok"))
	if got.Get("Authorization") != "" || form["client_assertion"][0] != "signed.assertion.value" ||
		form["client_assertion_type"][0] != AssertionType || form["client_id"][0] != "rs1" {
		t.Errorf("request: auth %q, form %v", got.Get("Authorization"), form)
	}
}

package protocol

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"strings"
	"testing"
)

// verifyWithJWKS checks a compact JWS against the server's published keys,
// independently of Vigil's JOSE code (ES256 and EdDSA).
func verifyWithJWKS(t *testing.T, tg *target, raw string) {
	t.Helper()
	hdr, _ := splitJWT(t, raw)
	parts := strings.Split(raw, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatalf("signature encoding: %v", err)
	}
	ks, _ := tg.get(t, pathJWKS).body["keys"].([]any)
	for _, k := range ks {
		m, _ := k.(map[string]any)
		if m["kid"] != hdr["kid"] {
			continue
		}
		input := []byte(parts[0] + "." + parts[1])
		dec := func(k string) []byte { b, _ := base64.RawURLEncoding.DecodeString(m[k].(string)); return b }
		switch hdr["alg"] {
		case "ES256":
			pub := ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(dec("x")), Y: new(big.Int).SetBytes(dec("y"))}
			sum := sha256.Sum256(input)
			if len(sig) == 64 && ecdsa.Verify(&pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
				return
			}
		case "EdDSA":
			if ed25519.Verify(ed25519.PublicKey(dec("x")), input, sig) {
				return
			}
		}
		t.Fatalf("signature does not verify with kid %v", hdr["kid"])
	}
	t.Fatalf("kid %v not in the JWKS", hdr["kid"])
}

func TestRFC9068_2_JWTAccessToken(t *testing.T) {
	tg := newTarget(t)
	r := tg.cc(t, "conf-jwt", "scope", "tickets.read")
	raw := r.str("access_token")
	hdr, claims := splitJWT(t, raw)
	if hdr["typ"] != "at+jwt" {
		t.Fatalf("typ = %v", hdr["typ"])
	}
	for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id"} {
		if claims[k] == nil {
			t.Errorf("claim %q missing: %v", k, claims)
		}
	}
	if claims["iss"] != tg.issuer || claims["client_id"] != "conf-jwt" || claims["scope"] != "tickets.read" {
		t.Fatalf("claims: %v", claims)
	}
	if _, ok := claims["may_act"]; ok {
		t.Fatal("may_act leaked into an access token")
	}
	verifyWithJWKS(t, tg, raw)
	if got := tg.introspect(t, "conf-rs1", raw); got.body["active"] != true {
		t.Fatalf("JWT access token not introspectable: %s", got.raw)
	}
}

// SECURITY.md #72, #73: a JWT signed with our key but not issued as an access
// token, or re-signed, is not active.
func TestRFC9068_4_ForgedJWTInactive(t *testing.T) {
	tg := newTarget(t)
	raw := tg.cc(t, "conf-jwt").str("access_token")
	parts := strings.Split(raw, ".")
	forged := parts[0] + "." + parts[1] + "." + b64([]byte("not a signature at all, forged"))
	wantInactive(t, tg.introspect(t, "conf-rs1", forged))
	hs := b64([]byte(`{"alg":"HS256","typ":"at+jwt"}`)) + "." + parts[1] + "." + parts[2]
	wantInactive(t, tg.introspect(t, "conf-rs1", hs))
}

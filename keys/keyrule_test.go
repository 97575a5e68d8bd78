package keys

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// badJWKs are keys no entry point may take: off the curve, the point at
// infinity, a wrong-length coordinate, an unfitting alg, a key for
// encryption.
func badJWKs(t *testing.T) map[string]map[string]any {
	good := publicJWKMap(t, dpopTestKey)
	x, _ := base64.RawURLEncoding.DecodeString(good["x"].(string))
	flip := append([]byte{}, x...)
	flip[31] ^= 1
	zero := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	with := func(kv ...string) map[string]any {
		m := map[string]any{}
		for k, v := range good {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	return map[string]map[string]any{
		"off curve":          with("x", base64.RawURLEncoding.EncodeToString(flip)),
		"point at infinity":  with("x", zero, "y", zero),
		"short coordinate":   with("x", base64.RawURLEncoding.EncodeToString(x[1:])),
		"alg of another key": with("alg", "RS256"),
		"use enc":            with("use", "enc"),
	}
}

// The DPoP door: a proof whose jwk header is not a valid public signing
// key is refused for the key, before its signature is even tried.
func TestKeyRule_DPoPJWK(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for name, jwk := range badJWKs(t) {
		t.Run(name, func(t *testing.T) {
			raw := makeProof(t, proofSpec{jwk: jwk, claims: baseClaims(now)})
			_, err := ParseDPoPProof(raw, now, DPoPOptions{Method: "POST", URL: tokenURL})
			if err == nil || !strings.Contains(err.Error(), "jwk") {
				t.Fatalf("err = %v, want the jwk refused", err)
			}
		})
	}
}

// The fetched-document door: a trusted issuer's or client's JWKS document
// holding only such keys has no usable key; beside a good key they are
// skipped, never used.
func TestKeyRule_JWKSDocument(t *testing.T) {
	good := publicJWKMap(t, dpopTestKey)
	for name, jwk := range badJWKs(t) {
		t.Run(name, func(t *testing.T) {
			only, _ := json.Marshal(map[string]any{"keys": []any{jwk}})
			if err := CheckJWKS(only); err == nil {
				t.Fatalf("a document with only %s was accepted", name)
			}
			both, _ := json.Marshal(map[string]any{"keys": []any{jwk, good}})
			set, err := parseKeySet(both)
			if err != nil || len(set) != 1 {
				t.Fatalf("beside a good key: %d keys, %v; want the good one only", len(set), err)
			}
		})
	}
}

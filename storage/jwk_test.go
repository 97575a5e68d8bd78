package storage_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"

	"github.com/vigil-auth/vigil/storage"
)

var enc = base64.RawURLEncoding

func ecJWK(t *testing.T, c elliptic.Curve, crv string) map[string]any {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	size := (c.Params().BitSize + 7) / 8
	return map[string]any{"kty": "EC", "crv": crv, "x": enc.EncodeToString(k.X.FillBytes(make([]byte, size))),
		"y": enc.EncodeToString(k.Y.FillBytes(make([]byte, size)))}
}

func rsaJWK(t *testing.T, bits int) map[string]any {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"kty": "RSA", "n": enc.EncodeToString(k.N.Bytes()), "e": "AQAB"}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

// TestValidateJWK is the key rule every entry point applies: curve
// membership, the identity point, coordinate lengths, RSA size and
// exponent, no private members, use/alg consistency.
func TestValidateJWK(t *testing.T) {
	p256 := ecJWK(t, elliptic.P256(), "P-256")
	p384 := ecJWK(t, elliptic.P384(), "P-384")
	rsa2048 := rsaJWK(t, 2048)
	rsa1024 := rsaJWK(t, 1024)
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	ed := map[string]any{"kty": "OKP", "crv": "Ed25519", "x": enc.EncodeToString(pub)}
	x, _ := enc.DecodeString(p256["x"].(string))
	offCurve := append([]byte{}, x...)
	offCurve[31] ^= 1
	zero := enc.EncodeToString(make([]byte, 32))
	n, _ := enc.DecodeString(rsa2048["n"].(string))
	even := new(big.Int).SetBytes(n)
	even.SetBit(even, 0, 0)
	tests := []struct {
		name string
		key  map[string]any
		bad  string // "" for a valid key, else a part of the error
	}{
		{"P-256", p256, ""},
		{"P-384 with alg", with(p384, "alg", "ES384", "use", "sig", "key_ops", []string{"verify"}), ""},
		{"RSA 2048", with(rsa2048, "alg", "PS256"), ""},
		{"Ed25519", with(ed, "alg", "EdDSA"), ""},
		{"EC off the curve", with(p256, "x", enc.EncodeToString(offCurve)), "not on P-256"},
		{"EC point at infinity", with(p256, "x", zero, "y", zero), "not on P-256"},
		{"EC short coordinate", with(p256, "x", enc.EncodeToString(x[1:])), "32 bytes"},
		{"EC long coordinate", with(p256, "x", enc.EncodeToString(append([]byte{0}, x...))), "32 bytes"},
		{"EC coordinate with padding", with(p256, "x", base64.URLEncoding.EncodeToString(x)), "base64url"},
		{"EC P-384 coordinates on P-256", with(p384, "crv", "P-256"), "32 bytes"},
		{"EC unknown curve", with(p256, "crv", "secp256k1"), "crv"},
		{"RSA 1024", rsa1024, "1024 bits"},
		{"RSA exponent 1", with(rsa2048, "e", "AQ"), "exponent"},
		{"RSA even exponent", with(rsa2048, "e", "AQAA"), "exponent"},
		{"RSA huge exponent", with(rsa2048, "e", "AQAAAAAB"), "too large"},
		{"RSA even modulus", with(rsa2048, "n", enc.EncodeToString(even.Bytes())), "odd"},
		{"RSA leading zero", with(rsa2048, "n", enc.EncodeToString(append([]byte{0}, n...))), "leading zero"},
		{"private EC member", with(p256, "d", zero), "private key material"},
		{"private RSA member", with(rsa2048, "p", "AQAB"), "private key material"},
		{"symmetric", map[string]any{"kty": "oct", "k": zero}, "private key material"},
		{"no kty", with(p256, "kty", nil), "no kty"},
		{"use enc", with(p256, "use", "enc"), "use"},
		{"key_ops sign", with(p256, "key_ops", []string{"sign"}), "key_ops"},
		{"alg of another key type", with(p256, "alg", "RS256"), "does not fit"},
		{"alg of another curve", with(p256, "alg", "ES384"), "does not fit"},
		{"symmetric alg", with(p256, "alg", "HS256"), "not an asymmetric"},
		{"Ed25519 short", with(ed, "x", enc.EncodeToString(pub[1:])), "32 bytes"},
		{"X25519", with(ed, "crv", "X25519"), "Ed25519"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := json.Marshal(tt.key)
			err := storage.ValidateJWK(b)
			switch {
			case tt.bad == "" && err != nil:
				t.Fatalf("a valid key was refused: %v", err)
			case tt.bad != "" && err == nil:
				t.Fatalf("accepted %s", b)
			case tt.bad != "" && !strings.Contains(err.Error(), tt.bad):
				t.Fatalf("error %q does not say %q", err, tt.bad)
			}
			set, _ := json.Marshal(map[string]any{"keys": []any{p256, tt.key}})
			if err := storage.ValidateJWKS(set); (err == nil) != (tt.bad == "") {
				t.Fatalf("a set holding the key: %v", err)
			}
		})
	}
}

package security

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-auth/vigil/internal/config"
)

// badKeys are public keys no entry point may register.
func badKeys(t *testing.T) map[string]map[string]any {
	k := newECKey(t)
	good := ecJWK(&k.PublicKey, "k1")
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
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	big, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaJWK := func(k *rsa.PrivateKey, e string) map[string]any {
		return map[string]any{"kty": "RSA", "kid": "k1", "n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()), "e": e}
	}
	return map[string]map[string]any{
		"RSA 1024 bits":     rsaJWK(small, "AQAB"),
		"RSA exponent 1":    rsaJWK(big, "AQ"),
		"RSA even exponent": rsaJWK(big, "AQAA"),
		"RSA private member": func() map[string]any {
			m := rsaJWK(big, "AQAB")
			m["d"] = base64.RawURLEncoding.EncodeToString(big.D.Bytes())
			return m
		}(),
		"RSA alg ES256":     func() map[string]any { m := rsaJWK(big, "AQAB"); m["alg"] = "ES256"; return m }(),
		"off curve":         with("x", base64.RawURLEncoding.EncodeToString(flip)),
		"point at infinity": with("x", zero, "y", zero),
		"short coordinate":  with("x", base64.RawURLEncoding.EncodeToString(x[1:])),
		"long coordinate":   with("x", base64.RawURLEncoding.EncodeToString(append([]byte{0}, x...))),
		"private member":    with("d", zero),
		"use enc":           with("use", "enc"),
		"alg mismatch":      with("alg", "ES384"),
	}
}

// Key validation at the admin API and the configuration file: a client's
// or a trusted issuer's key that is off its curve, the identity point, of
// the wrong length, an RSA key under 2048 bits or with an unsound exponent,
// private or unfit for signing is never registered.
// (The fetched-document and DPoP doors are tested in package keys.)
func TestKeys_InvalidKeysNeverRegistered(t *testing.T) {
	e := newEnv(t, withMemory())
	for name, jwk := range badKeys(t) {
		t.Run(name, func(t *testing.T) {
			set := map[string]any{"keys": []any{jwk}}
			id := "k-" + strings.ReplaceAll(name, " ", "-")
			r := e.admin(t, http.MethodPost, "/admin/clients", map[string]any{"id": id, "kind": "workload",
				"grant_types": []string{"client_credentials"}, "jwks": set})
			if r.status != 400 {
				t.Errorf("admin API client: %d %s", r.status, r.raw)
			}
			r = e.admin(t, http.MethodPost, "/admin/issuers", map[string]any{"issuer": "https://" + id + ".example",
				"jwks": set, "subjects": []map[string]string{{"subject": "x", "client_id": "agent"}}})
			if r.status != 400 {
				t.Errorf("admin API issuer: %d %s", r.status, r.raw)
			}
			b, _ := json.Marshal(set)
			doc := fmt.Sprintf("clients:\n  - id: %s\n    kind: workload\n    grant_types: [client_credentials]\n    jwks: %s\n"+
				"trusted_issuers:\n  - issuer: https://%s.example\n    jwks: %s\n    subjects: [{subject: x, client_id: %s}]\n", id, b, id, b, id)
			f, err := config.Parse([]byte(doc))
			if err == nil {
				err = f.Validate()
			}
			if err == nil || strings.Count(err.Error(), "jwks") < 2 {
				t.Errorf("configuration file: %v, want both keys refused", err)
			}
		})
	}
}

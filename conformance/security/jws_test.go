package security

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"
)

// JWS helpers written independently of Vigil's JOSE code, so that the
// tokens the suite sends can be as wrong as an attacker likes.

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signRaw returns a compact JWS over exactly the given header and payload
// bytes. key is an *ecdsa.PrivateKey (ES256), *rsa.PrivateKey (RS256), []byte
// (HS256) or nil (the empty signature).
func signRaw(t testing.TB, key any, hdr, payload []byte) string {
	t.Helper()
	input := b64(hdr) + "." + b64(payload)
	sum := sha256.Sum256([]byte(input))
	var sig []byte
	switch k := key.(type) {
	case nil:
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		sig = append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	case *rsa.PrivateKey:
		var err error
		if sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:]); err != nil {
			t.Fatal(err)
		}
	case []byte:
		m := hmac.New(sha256.New, k)
		m.Write([]byte(input))
		sig = m.Sum(nil)
	default:
		t.Fatalf("signRaw: unsupported key %T", key)
	}
	return input + "." + b64(sig)
}

// sign returns a compact JWS of claims with header hdr (alg defaults to
// ES256 for an EC key).
func sign(t testing.TB, key any, hdr map[string]any, claims any) string {
	t.Helper()
	h := map[string]any{"alg": "ES256"}
	for k, v := range hdr {
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	return signRaw(t, key, mustJSON(t, h), mustJSON(t, claims))
}

// ecJWK is the public JWK of k.
func ecJWK(k *ecdsa.PublicKey, kid string) map[string]any {
	j := map[string]any{"kty": "EC", "crv": "P-256", "x": b64(k.X.FillBytes(make([]byte, 32))),
		"y": b64(k.Y.FillBytes(make([]byte, 32)))}
	if kid != "" {
		j["kid"], j["alg"], j["use"] = kid, "ES256", "sig"
	}
	return j
}

func jwksOf(k *ecdsa.PrivateKey, kid string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"keys": []any{ecJWK(&k.PublicKey, kid)}})
	return b
}

// assertionClaims are valid client assertion claims for client id,
// overridden by over (a nil value deletes a claim).
func (e *env) assertionClaims(id string, over map[string]any) map[string]any {
	now := e.clock.Now()
	c := map[string]any{"iss": id, "sub": id, "aud": e.issuer, "jti": b64(randomBytes(12)),
		"iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix()}
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// assertion is a client assertion for id signed with its registered key.
func (e *env) assertion(t testing.TB, id string, over map[string]any) string {
	t.Helper()
	return sign(t, e.keys[id], map[string]any{"kid": id + "-key"}, e.assertionClaims(id, over))
}

func withAssertion(f map[string][]string, a string) map[string][]string {
	f["client_assertion_type"] = []string{assertionType}
	f["client_assertion"] = []string{a}
	return f
}

// workloadToken is a JWT of the trusted workload issuer, overridden by over.
func (e *env) workloadToken(t testing.TB, over map[string]any) string {
	t.Helper()
	now := e.clock.Now()
	c := map[string]any{"iss": workloadIssuer, "sub": "system:serviceaccount:ci:builder", "aud": "vigil",
		"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return sign(t, e.issuerKey, map[string]any{"kid": "wl-1"}, c)
}

// prover makes DPoP proofs (RFC 9449 §4.2) with its own key.
type prover struct {
	key   *ecdsa.PrivateKey
	nonce string
}

func newProver(t testing.TB) *prover { return &prover{key: newECKey(t)} }

// proof is a proof for POST htu at iat, with claim overrides.
func (p *prover) proof(t testing.TB, htu string, iat time.Time, over map[string]any) string {
	t.Helper()
	c := map[string]any{"jti": b64(randomBytes(12)), "htm": "POST", "htu": htu, "iat": iat.Unix()}
	if p.nonce != "" {
		c["nonce"] = p.nonce
	}
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return sign(t, p.key, map[string]any{"typ": "dpop+jwt", "jwk": ecJWK(&p.key.PublicKey, "")}, c)
}

// dpopPost sends a token request with a fresh proof, fetching the server
// nonce first when it is demanded.
func (e *env) dpopPost(t testing.TB, p *prover, f map[string][]string, opts ...reqOpt) result {
	t.Helper()
	send := func() result {
		return e.post(t, pathToken, f, append(opts, header("DPoP", p.proof(t, e.issuer+pathToken, e.clock.Now(), nil)))...)
	}
	r := send()
	if r.str("error") == "use_dpop_nonce" {
		p.nonce = r.header.Get("DPoP-Nonce")
		r = send()
	}
	return r
}

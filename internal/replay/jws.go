package replay

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

var b64 = base64.RawURLEncoding

// ecKey is a P-256 key a replayed client signs with: client assertions
// (RFC 7523) and DPoP proofs (RFC 9449), both ES256.
type ecKey struct {
	priv *ecdsa.PrivateKey
	kid  string
}

func newECKey(kid string) (*ecKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("replay: generate key: %w", err)
	}
	return &ecKey{priv: k, kid: kid}, nil
}

// publicJWK is the key's public JWK.
func (k *ecKey) publicJWK() map[string]string {
	pub := k.priv.PublicKey
	raw, _ := pub.Bytes() // uncompressed point: 0x04 || X || Y
	return map[string]string{"kty": "EC", "crv": "P-256", "x": b64.EncodeToString(raw[1:33]),
		"y": b64.EncodeToString(raw[33:65])}
}

// jwks is the JWK Set a client registers: its public key with kid and alg.
func (k *ecKey) jwks() []byte {
	jwk := k.publicJWK()
	jwk["kid"], jwk["alg"], jwk["use"] = k.kid, "ES256", "sig"
	b, _ := json.Marshal(map[string]any{"keys": []any{jwk}})
	return b
}

// sign returns a compact ES256 JWS of claims under header.
func (k *ecKey) sign(header map[string]any, claims any) (string, error) {
	header["alg"] = "ES256"
	hb, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64.EncodeToString(hb) + "." + b64.EncodeToString(cb)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, k.priv, sum[:])
	if err != nil {
		return "", fmt.Errorf("replay: sign: %w", err)
	}
	sig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	return input + "." + b64.EncodeToString(sig), nil
}

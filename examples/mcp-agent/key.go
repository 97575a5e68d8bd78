package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

var b64 = base64.RawURLEncoding

// key is the agent's P-256 key: it signs client assertions (RFC 7523) and
// DPoP proofs (RFC 9449), so every token Vigil issues the agent is bound
// to it.
type key struct {
	priv *ecdsa.PrivateKey
	kid  string
}

// jwk is an EC P-256 JSON Web Key; D is set only in private keys.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	Kid string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	X   string `json:"x"`
	Y   string `json:"y"`
	D   string `json:"d,omitempty"`
}

func newKey() (*key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	k := &key{priv: priv}
	k.kid = k.thumbprint()[:16]
	return k, nil
}

// loadKey reads a private EC P-256 JWK from path.
func loadKey(path string) (*key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var j jwk
	if err := json.Unmarshal(b, &j); err != nil || j.Kty != "EC" || j.Crv != "P-256" || j.D == "" {
		return nil, fmt.Errorf("%s is not a private EC P-256 JWK", path)
	}
	d, err := b64.DecodeString(j.D)
	if err != nil {
		return nil, fmt.Errorf("%s: d: %w", path, err)
	}
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &key{priv: priv, kid: j.Kid}, nil
}

// public returns the public JWK.
func (k *key) public() jwk {
	raw, _ := k.priv.PublicKey.Bytes() // 0x04 || X || Y
	return jwk{Kty: "EC", Crv: "P-256", X: b64.EncodeToString(raw[1:33]), Y: b64.EncodeToString(raw[33:])}
}

// jwks is the public key set to register (RFC 7591 jwks).
func (k *key) jwks() json.RawMessage {
	p := k.public()
	p.Kid, p.Use, p.Alg = k.kid, "sig", "ES256"
	b, _ := json.Marshal(map[string]any{"keys": []jwk{p}})
	return b
}

// thumbprint is the RFC 7638 SHA-256 thumbprint of the public key.
func (k *key) thumbprint() string {
	p := k.public()
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + p.X + `","y":"` + p.Y + `"}`))
	return b64.EncodeToString(sum[:])
}

// sign returns a compact ES256 JWS of claims with header.
func (k *key) sign(header map[string]any, claims any) (string, error) {
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
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64.EncodeToString(sig), nil
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return b64.EncodeToString(b)
}

// assertion signs a private_key_jwt client assertion (RFC 7523 §2.2) for
// clientID, audience Vigil's issuer.
func (k *key) assertion(clientID, issuer string, now time.Time) (string, error) {
	if clientID == "" {
		return "", errors.New("no client id")
	}
	return k.sign(map[string]any{"typ": "JWT", "kid": k.kid}, map[string]any{"iss": clientID, "sub": clientID,
		"aud": issuer, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "jti": randomID()})
}

// proof signs a DPoP proof (RFC 9449 §4.2) for method and htu; token, when
// set, is bound by its hash (ath), nonce is the server's latest.
func (k *key) proof(method, htu, token, nonce string, now time.Time) (string, error) {
	claims := map[string]any{"jti": randomID(), "htm": method, "htu": htu, "iat": now.Unix()}
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		claims["ath"] = b64.EncodeToString(sum[:])
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	return k.sign(map[string]any{"typ": "dpop+jwt", "jwk": k.public()}, claims)
}

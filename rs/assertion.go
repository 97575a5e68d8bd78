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
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// AssertionType is RFC 7523 §2.2's client_assertion_type.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// DefaultAssertionLifetime is how long a signed client assertion is valid.
const DefaultAssertionLifetime = time.Minute

// AssertionConfig describes the client assertions a resource server signs
// for private_key_jwt (RFC 7523 §2.2).
type AssertionConfig struct {
	// ClientID is the iss and sub of every assertion.
	ClientID string
	// Audience is the aud: Vigil accepts its issuer URL exactly.
	Audience string
	// Key signs: an ECDSA P-256 key (ES256), an Ed25519 key (EdDSA) or an
	// RSA key of 2048 bits or more (RS256), in memory or behind a KMS.
	Key crypto.Signer
	// KeyID is the kid header, naming the key in the client's registered JWKS.
	KeyID string
	// Lifetime is exp - iat; zero means DefaultAssertionLifetime.
	Lifetime time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// NewAssertionSigner returns a Config.ClientAssertion that signs a fresh
// assertion, with a random jti, on every call. It is safe for concurrent
// use when cfg.Key is.
func NewAssertionSigner(cfg AssertionConfig) (func(context.Context) (string, error), error) {
	if cfg.ClientID == "" || cfg.Audience == "" || cfg.Key == nil {
		return nil, errors.New("rs: assertion signer needs a client ID, an audience and a key")
	}
	alg, err := algFor(cfg.Key.Public())
	if err != nil {
		return nil, err
	}
	if cfg.Lifetime <= 0 {
		cfg.Lifetime = DefaultAssertionLifetime
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return func(context.Context) (string, error) { return cfg.sign(alg) }, nil
}

// algFor picks the JWS algorithm a public key signs with.
func algFor(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return "ES256", nil
		}
	case ed25519.PublicKey:
		return "EdDSA", nil
	case *rsa.PublicKey:
		if k.N.BitLen() >= 2048 {
			return "RS256", nil
		}
	}
	return "", fmt.Errorf("rs: unsupported assertion key %T (want ECDSA P-256, Ed25519 or RSA 2048+)", pub)
}

// sign builds and signs one assertion.
func (cfg AssertionConfig) sign(alg string) (string, error) {
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("rs: assertion jti: %w", err)
	}
	now := cfg.Now()
	hdr := map[string]string{"alg": alg, "typ": "JWT"}
	if cfg.KeyID != "" {
		hdr["kid"] = cfg.KeyID
	}
	claims := map[string]any{"iss": cfg.ClientID, "sub": cfg.ClientID, "aud": cfg.Audience,
		"jti": b64(jti), "iat": now.Unix(), "exp": now.Add(cfg.Lifetime).Unix()}
	hb, _ := json.Marshal(hdr)
	cb, _ := json.Marshal(claims)
	input := b64(hb) + "." + b64(cb)
	sig, err := signJWS(cfg.Key, alg, []byte(input))
	if err != nil {
		return "", fmt.Errorf("rs: sign assertion: %w", err)
	}
	return input + "." + b64(sig), nil
}

// signJWS signs input as RFC 7518 §3 prescribes for alg.
func signJWS(key crypto.Signer, alg string, input []byte) ([]byte, error) {
	if alg == "EdDSA" {
		return key.Sign(rand.Reader, input, crypto.Hash(0))
	}
	sum := sha256.Sum256(input)
	sig, err := key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil || alg != "ES256" {
		return sig, err
	}
	return rawECDSA(sig)
}

// rawECDSA turns an ASN.1 ECDSA P-256 signature into JWS's r||s form.
func rawECDSA(der []byte) ([]byte, error) {
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &rs)
	if err != nil || len(rest) != 0 || rs.R.Sign() <= 0 || rs.S.Sign() <= 0 || rs.R.BitLen() > 256 || rs.S.BitLen() > 256 {
		return nil, errors.New("malformed ECDSA signature")
	}
	out := make([]byte, 64)
	rs.R.FillBytes(out[:32])
	rs.S.FillBytes(out[32:])
	return out, nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

package storage

import (
	"bytes"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
)

// Key validation: one rule for every public key Vigil accepts, wherever it
// enters (a client's or trusted issuer's jwks through the admin API or the
// configuration file, a fetched jwks_uri document, a DPoP proof's jwk
// header). A key that passes is one Vigil could verify a signature with;
// one that does not is never registered and never used.

// Bounds on public keys.
const (
	// MinRSABits is the smallest RSA modulus accepted.
	MinRSABits = 2048
	// MaxRSABits bounds the cost of one RSA verification.
	MaxRSABits = 8192
	// MaxJWKSKeys bounds the keys of one registered JWK Set.
	MaxJWKSKeys = 32
)

// curves maps a JWK EC curve to its coordinate length and ECDH curve, which
// checks that a point is on the curve and not the point at infinity.
var curves = map[string]struct {
	size  int
	curve ecdh.Curve
}{
	"P-256": {32, ecdh.P256()},
	"P-384": {48, ecdh.P384()},
	"P-521": {66, ecdh.P521()},
}

// algFits maps each asymmetric JWS algorithm to the key it needs: kty, and
// the curve for EC and OKP keys.
var algFits = map[string][2]string{
	"ES256": {"EC", "P-256"}, "ES384": {"EC", "P-384"}, "ES512": {"EC", "P-521"},
	"RS256": {"RSA"}, "RS384": {"RSA"}, "RS512": {"RSA"},
	"PS256": {"RSA"}, "PS384": {"RSA"}, "PS512": {"RSA"},
	"EdDSA": {"OKP", "Ed25519"},
}

// jwkMembers are the members of a public JWK Vigil reads.
type jwkMembers struct {
	Kty    string   `json:"kty"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
	Alg    string   `json:"alg"`
	Crv    string   `json:"crv"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
	N      string   `json:"n"`
	E      string   `json:"e"`
}

// ValidateJWK reports whether raw is a public signing key Vigil can verify
// with: an EC key on its curve (P-256, P-384, P-521) with coordinates of the
// curve's exact length and not the point at infinity, an RSA key of
// MinRSABits to MaxRSABits with an odd public exponent of at least 3 and
// below 2^31, or an Ed25519 key; no private or symmetric members; "use", if
// present, "sig"; "key_ops", if present, only "verify"; "alg", if present,
// an asymmetric signature algorithm that fits the key.
func ValidateJWK(raw json.RawMessage) error {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil || all == nil {
		return errors.New("not a JSON object")
	}
	for _, m := range privateJWKMembers {
		if _, ok := all[m]; ok {
			return fmt.Errorf("holds private key material (%q); register the public key only", m)
		}
	}
	var k jwkMembers
	if err := json.Unmarshal(raw, &k); err != nil {
		return fmt.Errorf("malformed member: %v", err)
	}
	if err := k.usage(); err != nil {
		return err
	}
	switch k.Kty {
	case "EC":
		return k.ec()
	case "RSA":
		return k.rsa()
	case "OKP":
		return k.okp()
	case "":
		return errors.New("has no kty")
	}
	return fmt.Errorf("kty %q is not a public signing key type (EC, RSA, OKP)", k.Kty)
}

// usage checks use, key_ops and alg against the key type.
func (k jwkMembers) usage() error {
	if k.Use != "" && k.Use != "sig" {
		return fmt.Errorf("use %q: only signature keys (\"sig\") are accepted", k.Use)
	}
	for _, op := range k.KeyOps {
		if op != "verify" {
			return fmt.Errorf("key_ops %q: a public key only verifies", op)
		}
	}
	if k.Alg == "" {
		return nil
	}
	fit, ok := algFits[k.Alg]
	if !ok {
		return fmt.Errorf("alg %q is not an asymmetric signature algorithm", k.Alg)
	}
	if fit[0] != k.Kty || (fit[1] != "" && fit[1] != k.Crv) {
		return fmt.Errorf("alg %q does not fit a %s %s key", k.Alg, k.Kty, k.Crv)
	}
	return nil
}

func (k jwkMembers) ec() error {
	c, ok := curves[k.Crv]
	if !ok {
		return fmt.Errorf("crv %q is not P-256, P-384 or P-521", k.Crv)
	}
	x, errX := b64Member(k.X)
	y, errY := b64Member(k.Y)
	switch {
	case errX != nil || errY != nil:
		return errors.New("x and y must be base64url without padding")
	case len(x) != c.size || len(y) != c.size:
		return fmt.Errorf("x and y of a %s key must be %d bytes each (got %d and %d)", k.Crv, c.size, len(x), len(y))
	}
	point := append(append([]byte{4}, x...), y...)
	if _, err := c.curve.NewPublicKey(point); err != nil {
		return fmt.Errorf("the point is not on %s (or is the point at infinity)", k.Crv)
	}
	return nil
}

func (k jwkMembers) rsa() error {
	n, errN := b64Member(k.N)
	e, errE := b64Member(k.E)
	switch {
	case errN != nil || errE != nil || len(n) == 0 || len(e) == 0:
		return errors.New("n and e must be base64url without padding")
	case n[0] == 0 || e[0] == 0:
		return errors.New("n and e must not have leading zero bytes")
	case len(e) > 4:
		return errors.New("the public exponent is too large")
	}
	bits := new(big.Int).SetBytes(n).BitLen()
	if bits < MinRSABits || bits > MaxRSABits {
		return fmt.Errorf("an RSA modulus of %d bits is outside %d..%d", bits, MinRSABits, MaxRSABits)
	}
	exp := new(big.Int).SetBytes(e).Int64()
	if exp < 3 || exp%2 == 0 || exp >= 1<<31 {
		return fmt.Errorf("the public exponent %d must be odd, at least 3 and below 2^31", exp)
	}
	if n[len(n)-1]%2 == 0 {
		return errors.New("an RSA modulus is odd")
	}
	return nil
}

func (k jwkMembers) okp() error {
	if k.Crv != "Ed25519" {
		return fmt.Errorf("crv %q: the only OKP signing curve is Ed25519", k.Crv)
	}
	x, err := b64Member(k.X)
	if err != nil || len(x) != 32 {
		return errors.New("x of an Ed25519 key must be 32 bytes, base64url without padding")
	}
	if bytes.Equal(x, make([]byte, 32)) {
		return errors.New("x is not an Ed25519 public key")
	}
	return nil
}

// b64Member decodes a base64url member strictly (no padding, canonical).
func b64Member(s string) ([]byte, error) {
	return base64.RawURLEncoding.Strict().DecodeString(s)
}

// ValidateJWKS reports whether b is a JWK Set (RFC 7517 §5) of 1 to
// MaxJWKSKeys keys, every one valid by ValidateJWK, with no kid used twice.
func ValidateJWKS(b json.RawMessage) error {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return errors.New(`must be a JSON object {"keys": [...]}`)
	}
	if len(set.Keys) == 0 || len(set.Keys) > MaxJWKSKeys {
		return fmt.Errorf(`must have a non-empty "keys" array of at most %d keys`, MaxJWKSKeys)
	}
	var kids []string
	for n, k := range set.Keys {
		if err := ValidateJWK(k); err != nil {
			return fmt.Errorf("keys[%d]: %w", n, err)
		}
		var id struct {
			Kid string `json:"kid"`
		}
		_ = json.Unmarshal(k, &id)
		if id.Kid != "" && slices.Contains(kids, id.Kid) {
			return fmt.Errorf("keys[%d]: kid %q is used twice", n, id.Kid)
		}
		kids = append(kids, id.Kid)
	}
	return nil
}

package keys

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"

	jose "github.com/go-jose/go-jose/v4"
	josejson "github.com/go-jose/go-jose/v4/json"

	"github.com/vigil-auth/vigil/storage"
)

// MinRSABits is the smallest RSA modulus accepted for verification.
const MinRSABits = 2048

// maxJWKSKeys caps how many keys of a JWK Set are considered.
const maxJWKSKeys = 100

// asymmetricAlgs are the only algorithms ever accepted for JWTs signed by
// others: never "none", never HMAC (RFC 8725 §3.1).
var asymmetricAlgs = []jose.SignatureAlgorithm{
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
}

// allowedAlgs intersects the caller's list with the asymmetric algorithms;
// an empty list means all of them. Unknown, symmetric and "none" entries are
// dropped.
func allowedAlgs(algs []string) []jose.SignatureAlgorithm {
	if len(algs) == 0 {
		return asymmetricAlgs
	}
	var out []jose.SignatureAlgorithm
	for _, a := range algs {
		alg := jose.SignatureAlgorithm(a)
		if slices.Contains(asymmetricAlgs, alg) && !slices.Contains(out, alg) {
			out = append(out, alg)
		}
	}
	return out
}

// keyFitsAlg checks that key is a public key of the type and size alg needs.
func keyFitsAlg(key any, alg jose.SignatureAlgorithm) error {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		want := map[jose.SignatureAlgorithm]elliptic.Curve{
			jose.ES256: elliptic.P256(), jose.ES384: elliptic.P384(), jose.ES512: elliptic.P521(),
		}[alg]
		if want == nil || k.Curve != want {
			return fmt.Errorf("EC key does not fit %s", alg)
		}
	case *rsa.PublicKey:
		switch alg {
		case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
		default:
			return fmt.Errorf("RSA key does not fit %s", alg)
		}
		if k.N.BitLen() < MinRSABits {
			return fmt.Errorf("RSA key of %d bits is too small", k.N.BitLen())
		}
	case ed25519.PublicKey:
		if alg != jose.EdDSA {
			return fmt.Errorf("Ed25519 key does not fit %s", alg)
		}
	default:
		return fmt.Errorf("key type %T cannot verify %s", key, alg)
	}
	return nil
}

// keySet is a parsed JWK Set: public signature keys only.
type keySet []jose.JSONWebKey

// parseKeySet parses a JWK Set (RFC 7517 §5). Keys that cannot be parsed,
// symmetric keys and keys not meant for signatures are skipped; private
// members are dropped. A set with no usable key is an error.
func parseKeySet(b []byte) (keySet, error) {
	var raw struct {
		Keys []josejson.RawMessage `json:"keys"`
	}
	if err := decodeStrict(b, &raw); err != nil {
		return nil, fmt.Errorf("keys: JWK Set: %w", err)
	}
	var set keySet
	for _, r := range raw.Keys[:min(len(raw.Keys), maxJWKSKeys)] {
		if k, ok := parsePublicJWK(r); ok {
			set = append(set, k)
		}
	}
	if len(set) == 0 {
		return nil, errors.New("keys: JWK Set holds no usable public signing key")
	}
	return set, nil
}

// parsePublicJWK parses one JWK and keeps it only if it is an asymmetric
// signing key; the result holds the public half only.
func parsePublicJWK(b []byte) (jose.JSONWebKey, bool) {
	if storage.ValidateJWK(b) != nil {
		return jose.JSONWebKey{}, false // off its curve, too short, private, or not for signing
	}
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(b); err != nil || !k.Valid() {
		return jose.JSONWebKey{}, false
	}
	if k.Use != "" && k.Use != "sig" {
		return jose.JSONWebKey{}, false
	}
	pub := k.Public()
	if !pub.Valid() || !pub.IsPublic() {
		return jose.JSONWebKey{}, false
	}
	return pub, true
}

// pick chooses the key for header h: the keys whose kid equals h's kid (or
// every key when h has none) that fit the algorithm. Exactly one must
// remain; two candidates are ambiguous and rejected.
func (s keySet) pick(h jose.Header) (any, error) {
	alg := jose.SignatureAlgorithm(h.Algorithm)
	var found []any
	for _, k := range s {
		if h.KeyID != "" && k.KeyID != h.KeyID {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != h.Algorithm {
			continue
		}
		if keyFitsAlg(k.Key, alg) == nil {
			found = append(found, k.Key)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, fmt.Errorf("%w: kid %.64q alg %s", ErrUnknownKey, h.KeyID, alg)
	default:
		return nil, fmt.Errorf("%d keys match kid %.64q alg %s: ambiguous", len(found), h.KeyID, alg)
	}
}

// VerifyWithJWKS verifies a JWT signed by someone else (an RFC 7523 client
// assertion, or a subject token from a trusted issuer) against the JWK Set
// jwks, and decodes its claims into out (nil skips decoding).
//
// algs is the allow-list; only asymmetric algorithms in it are accepted
// ("none" and HS* never are) and an empty list means every asymmetric one.
// The key is the one whose kid matches the header (or the only key fitting
// the algorithm when the header has no kid); RSA keys must have at least
// MinRSABits. Claims must be a strict JSON object whose registered claims
// have their proper types (see Registered).
//
// VerifyWithJWKS does not check time, issuer, subject or audience: embed
// Registered in out and call ValidateTime with the caller's clock. The typ
// header is returned for the caller to check. Every error matches
// ErrInvalidToken; an unknown kid also matches ErrUnknownKey.
func VerifyWithJWKS(raw string, jwks []byte, algs []string, out any) (Header, error) {
	set, err := parseKeySet(jwks)
	if err != nil {
		return Header{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return set.verify(raw, algs, out)
}

// verify is VerifyWithJWKS on a parsed key set.
func (s keySet) verify(raw string, algs []string, out any) (Header, error) {
	payload, h, err := verifySigned(raw, allowedAlgs(algs), s.pick)
	if err != nil {
		return h, err
	}
	return h, decodeVerified(payload, out, func(Registered) error { return nil })
}

// ExternalVerifier verifies JWTs signed by registered clients (RFC 7523
// client assertions) and by trusted issuers (RFC 8693 subject tokens) with
// the keys registered for them: the inline JWK Set when there is one, else
// the set at jwks_uri through a JWKSCache. It checks what VerifyWithJWKS
// checks; claims are the caller's. It is safe for concurrent use.
type ExternalVerifier struct {
	cache *JWKSCache
}

// NewExternalVerifier returns a verifier that fetches jwks_uri sets through
// cache; with a nil cache only inline sets are used.
func NewExternalVerifier(cache *JWKSCache) *ExternalVerifier {
	return &ExternalVerifier{cache: cache}
}

// VerifyClientJWT verifies raw with the keys client c registered, accepting
// any asymmetric algorithm. Errors match ErrInvalidToken.
func (v *ExternalVerifier) VerifyClientJWT(ctx context.Context, raw string, c storage.Client, out any) error {
	return v.verify(ctx, raw, c.JWKS, c.JWKSURI, nil, out)
}

// VerifyIssuerJWT verifies raw with the keys of trusted issuer iss and its
// algorithm allow-list (every asymmetric algorithm when empty). Errors match
// ErrInvalidToken.
func (v *ExternalVerifier) VerifyIssuerJWT(ctx context.Context, raw string, iss storage.Issuer, out any) error {
	return v.verify(ctx, raw, iss.JWKS, iss.JWKSURI, iss.Algorithms, out)
}

// verify picks the inline set or the jwks_uri and verifies raw against it.
func (v *ExternalVerifier) verify(ctx context.Context, raw string, jwks []byte, uri string, algs []string, out any) error {
	var err error
	switch {
	case len(jwks) > 0:
		_, err = VerifyWithJWKS(raw, jwks, algs, out)
	case uri != "" && v.cache != nil:
		_, err = v.cache.Verify(ctx, uri, raw, algs, out)
	default:
		err = fmt.Errorf("%w: no registered keys", ErrInvalidToken)
	}
	return err
}

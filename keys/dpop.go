package keys

import (
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejson "github.com/go-jose/go-jose/v4/json"

	"github.com/vigil-auth/vigil/internal/limits"
	"github.com/vigil-auth/vigil/storage"
)

// DPoP defaults (RFC 9449 §11.1 leaves the window to the server).
const (
	// DefaultDPoPMaxAge is how far in the past a proof's iat may be.
	DefaultDPoPMaxAge = limits.DPoPProofAge
	// DefaultDPoPMaxFuture is how far in the future a proof's iat may be.
	DefaultDPoPMaxFuture = limits.DPoPProofFuture
	// maxJTILen bounds the jti of a proof.
	maxJTILen = 256
)

// DPoPAlgs are the proof algorithms accepted when DPoPOptions.Algs is empty.
var DPoPAlgs = []string{"ES256", "ES384", "EdDSA", "RS256", "PS256"}

// Errors reported by ParseDPoPProof. Every error matches exactly one of them.
var (
	// ErrInvalidDPoPProof reports a proof that is malformed, badly signed, or
	// does not fit the request (error code invalid_dpop_proof).
	ErrInvalidDPoPProof = errors.New("keys: invalid DPoP proof")
	// ErrUseDPoPNonce reports an otherwise valid proof without an acceptable
	// server nonce (error code use_dpop_nonce; send a fresh DPoP-Nonce).
	ErrUseDPoPNonce = errors.New("keys: DPoP nonce required")
)

// DPoPOptions is what a proof is checked against.
type DPoPOptions struct {
	// Method is the request's HTTP method; htm must equal it.
	Method string
	// URL is the request URL; htu must equal it after RFC 3986 normalisation,
	// ignoring query and fragment (RFC 9449 §4.3).
	URL string
	// Algs is the allow-list of proof algorithms; empty means DPoPAlgs.
	// Symmetric algorithms and "none" are never accepted.
	Algs []string
	// MaxAge and MaxFuture bound iat relative to now; zero means
	// DefaultDPoPMaxAge and DefaultDPoPMaxFuture.
	MaxAge, MaxFuture time.Duration
	// AccessToken, when non-empty, requires ath to be the base64url SHA-256
	// of it (RFC 9449 §4.3 check 12, at a resource server).
	AccessToken string
	// ValidNonce, when non-nil, requires a nonce claim it accepts
	// (RFC 9449 §8); otherwise the error matches ErrUseDPoPNonce.
	ValidNonce func(nonce string) bool
}

// Proof is what a verified DPoP proof establishes.
type Proof struct {
	// JKT is the RFC 7638 SHA-256 thumbprint of the proof key, base64url.
	JKT string
	// JTI is the proof's unique identifier.
	JTI string
	// IssuedAt is the proof's iat.
	IssuedAt time.Time
	// Nonce is the proof's nonce claim, if any.
	Nonce string
	// ReplayUntil is when the proof stops being acceptable by its iat: the
	// caller must remember JTI (namespaced, for example by JKT) until then.
	ReplayUntil time.Time
}

// dpopClaims are the claims of a proof (RFC 9449 §4.2).
type dpopClaims struct {
	JTI   string       `json:"jti"`
	HTM   string       `json:"htm"`
	HTU   string       `json:"htu"`
	IAT   *NumericDate `json:"iat"`
	ATH   string       `json:"ath"`
	Nonce string       `json:"nonce"`
}

// ParseDPoPProof checks a DPoP proof JWT (RFC 9449 §4.3) at now and returns
// what it proves. It checks: size (MaxTokenSize); typ "dpop+jwt"; alg in the
// allow-list (never none or HS*); a jwk header holding a public asymmetric
// key (private members or kty "oct" are rejected) that fits alg; the
// signature under that key; jti, htm, htu and iat present; htm and htu
// against opts; iat within [now-MaxAge, now+MaxFuture]; ath when
// opts.AccessToken is set; nonce when opts.ValidNonce is set.
//
// It does not check replay: the caller records Proof.JTI single-use until
// Proof.ReplayUntil (storage.Writer.UseJTI). That the request carried
// exactly one DPoP header is the caller's to check too.
func ParseDPoPProof(raw string, now time.Time, opts DPoPOptions) (Proof, error) {
	opts = opts.withDefaults()
	jwk, err := proofKey(raw)
	if err != nil {
		return Proof{}, dpopErr(err)
	}
	payload, h, err := verifySigned(raw, dpopAlgs(opts.Algs), func(jh jose.Header) (any, error) {
		return jwk.Key, keyFitsAlg(jwk.Key, jose.SignatureAlgorithm(jh.Algorithm))
	})
	if err != nil {
		return Proof{}, dpopErr(err)
	}
	if normalizeTyp(h.Type) != "dpop+jwt" {
		return Proof{}, dpopErr(fmt.Errorf("typ %.64q, want dpop+jwt", h.Type))
	}
	var c dpopClaims
	if err := decodeStrict(payload, &c); err != nil {
		return Proof{}, dpopErr(err)
	}
	if err := c.check(now, opts); err != nil {
		return Proof{}, dpopErr(err)
	}
	return c.proof(jwk, opts)
}

// withDefaults fills the zero windows of o.
func (o DPoPOptions) withDefaults() DPoPOptions {
	if o.MaxAge == 0 {
		o.MaxAge = DefaultDPoPMaxAge
	}
	if o.MaxFuture == 0 {
		o.MaxFuture = DefaultDPoPMaxFuture
	}
	return o
}

// dpopErr wraps err as an invalid proof.
func dpopErr(err error) error { return fmt.Errorf("%w: %w", ErrInvalidDPoPProof, err) }

// dpopAlgs is the proof allow-list: algs (or DPoPAlgs) among the asymmetric ones.
func dpopAlgs(algs []string) []jose.SignatureAlgorithm {
	if len(algs) == 0 {
		algs = DPoPAlgs
	}
	return allowedAlgs(algs)
}

// proofKey reads the jwk header of raw, before the signature is checked,
// and requires it to be a public asymmetric key with no private members.
func proofKey(raw string) (jose.JSONWebKey, error) {
	if len(raw) == 0 || len(raw) > MaxTokenSize {
		return jose.JSONWebKey{}, fmt.Errorf("proof length %d outside 1..%d", len(raw), MaxTokenSize)
	}
	enc, _, _ := strings.Cut(raw, ".")
	hdr, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("header: %w", err)
	}
	var h struct {
		JWK josejson.RawMessage `json:"jwk"`
	}
	if err := decodeStrict(hdr, &h); err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("header: %w", err)
	}
	if h.JWK == nil {
		return jose.JSONWebKey{}, errors.New("no jwk header")
	}
	return publicJWK(h.JWK)
}

// privateMembers are JWK members that only private or symmetric keys carry.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// publicJWK parses a JWK that must be a public asymmetric key: private or
// symmetric members are refused before the key is parsed.
func publicJWK(b []byte) (jose.JSONWebKey, error) {
	var members map[string]josejson.RawMessage
	if err := decodeStrict(b, &members); err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("jwk: %w", err)
	}
	for _, m := range privateMembers {
		if _, ok := members[m]; ok {
			return jose.JSONWebKey{}, fmt.Errorf("jwk holds private member %q", m)
		}
	}
	if err := storage.ValidateJWK(b); err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("jwk: %w", err)
	}
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(b); err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("jwk: %w", err)
	}
	if !k.Valid() || !k.IsPublic() {
		return jose.JSONWebKey{}, errors.New("jwk is not a public asymmetric key")
	}
	return k, nil
}

// check validates the claims against the request and the clock.
func (c dpopClaims) check(now time.Time, opts DPoPOptions) error {
	if c.JTI == "" || len(c.JTI) > maxJTILen || c.HTM == "" || c.HTU == "" || c.IAT == nil {
		return errors.New("jti, htm, htu and iat are required (jti at most 256 bytes)")
	}
	if c.HTM != opts.Method {
		return fmt.Errorf("htm %.16q does not match the request method", c.HTM)
	}
	if err := matchHTU(c.HTU, opts.URL); err != nil {
		return err
	}
	iat := c.IAT.Time()
	if iat.Before(now.Add(-opts.MaxAge)) || iat.After(now.Add(opts.MaxFuture)) {
		return fmt.Errorf("iat %d outside the acceptance window", int64(*c.IAT))
	}
	if opts.AccessToken != "" && !athMatches(c.ATH, opts.AccessToken) {
		return errors.New("ath does not match the access token")
	}
	return nil
}

// proof finishes the checks with the nonce and builds the result.
func (c dpopClaims) proof(jwk jose.JSONWebKey, opts DPoPOptions) (Proof, error) {
	jkt, err := thumbprint(jwk)
	if err != nil {
		return Proof{}, dpopErr(err)
	}
	if opts.ValidNonce != nil && (c.Nonce == "" || !opts.ValidNonce(c.Nonce)) {
		return Proof{}, fmt.Errorf("%w: missing, stale or unknown nonce", ErrUseDPoPNonce)
	}
	iat := c.IAT.Time()
	return Proof{JKT: jkt, JTI: c.JTI, IssuedAt: iat, Nonce: c.Nonce, ReplayUntil: iat.Add(opts.MaxAge)}, nil
}

// athMatches compares ath with the base64url SHA-256 of the access token in
// constant time.
func athMatches(ath, accessToken string) bool {
	return subtle.ConstantTimeCompare([]byte(ath), []byte(AccessTokenHash(accessToken))) == 1
}

// AccessTokenHash returns the ath value for an access token: the base64url
// SHA-256 of its ASCII bytes (RFC 9449 §4.2).
func AccessTokenHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint, base64url without
// padding, of a public JWK given as JSON. Private and symmetric keys are
// rejected.
func Thumbprint(jwkJSON []byte) (string, error) {
	k, err := publicJWK(jwkJSON)
	if err != nil {
		return "", fmt.Errorf("keys: thumbprint: %w", err)
	}
	return thumbprint(k)
}

// thumbprint computes the RFC 7638 SHA-256 thumbprint of k.
func thumbprint(k jose.JSONWebKey) (string, error) {
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("keys: thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

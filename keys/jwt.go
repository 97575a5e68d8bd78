package keys

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/vigil-auth/vigil/internal/limits"
)

// MaxTokenSize is the longest compact JWS accepted for parsing, in bytes.
// Longer input is rejected before any JOSE processing.
const MaxTokenSize = limits.TokenSize

// Errors reported by verification. Compare with errors.Is.
var (
	// ErrInvalidToken reports a JWT that must not be trusted, for any reason.
	// Every verification failure matches it.
	ErrInvalidToken = errors.New("keys: invalid token")
	// ErrUnknownKey reports a JWT whose kid names no published key (it also
	// matches ErrInvalidToken).
	ErrUnknownKey = errors.New("keys: unknown signing key")
)

// Header is what a verified JWS header said.
type Header struct {
	KeyID     string // kid
	Algorithm string // alg
	Type      string // typ, as sent
}

// keyPicker chooses the verification key for a parsed header, or fails.
type keyPicker func(h jose.Header) (any, error)

// Sign returns a compact JWS of claims (marshalled with encoding/json; it
// must encode as a JSON object) signed with the active key. The protected
// header carries alg, kid and typ; typ is required (RFC 8725 §3.11), for
// example "at+jwt", "token-introspection+jwt" or "txntoken+jwt".
func (m *Manager) Sign(typ string, claims any) (string, error) {
	if typ == "" {
		return "", errors.New("keys: sign: typ is required")
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("keys: sign: encode claims: %w", err)
	}
	if len(payload) == 0 || payload[0] != '{' {
		return "", errors.New("keys: sign: claims must encode as a JSON object")
	}
	signer, err := m.ring.Load().active.joseSigner(typ)
	if err != nil {
		return "", err
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("keys: sign: %w", err)
	}
	return obj.CompactSerialize()
}

// Verify checks a JWT that Vigil signed and decodes its claims into out (a
// pointer to a struct or map; nil skips decoding).
//
// The token must be at most MaxTokenSize bytes, use an algorithm of a
// published key, name that key by kid, carry a valid signature, and, when
// typ is non-empty, a typ header equal to typ (compared case-insensitively,
// "application/" prefix optional). Its claims must be a strict JSON object
// (see the package doc) with a NumericDate exp after now; nbf and iat, when
// present, must not be in the future. now comes from the Manager's clock and
// the Leeway option allows for skew. Audience, issuer and other claims are the
// caller's to check. Every error matches ErrInvalidToken.
func (m *Manager) Verify(raw, typ string, out any) error {
	ring, now := m.ring.Load(), m.now()
	payload, h, err := verifySigned(raw, ring.algs(now), func(h jose.Header) (any, error) {
		k, ok := ring.lookup(h.KeyID, now)
		if !ok || string(k.alg) != h.Algorithm {
			return nil, fmt.Errorf("%w: kid %.64q", ErrUnknownKey, h.KeyID)
		}
		return k.jwk.Key, nil
	})
	if err != nil {
		return err
	}
	if typ != "" && normalizeTyp(h.Type) != normalizeTyp(typ) {
		return fmt.Errorf("%w: typ %.64q, want %q", ErrInvalidToken, h.Type, typ)
	}
	return decodeVerified(payload, out, func(r Registered) error { return r.ValidateTime(now, m.leeway) })
}

// decodeVerified decodes the registered claims, runs check on them, and
// only then decodes payload into out.
func decodeVerified(payload []byte, out any, check func(Registered) error) error {
	reg, err := decodeClaims(payload, nil)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if err := check(reg); err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := decodeStrict(payload, out); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return nil
}

// verifySigned parses raw as a compact JWS with the algorithm allow-list,
// rejects critical and unencoded-payload headers, verifies the signature
// with the key pick returns, and returns the payload and header. Every error
// matches ErrInvalidToken.
func verifySigned(raw string, algs []jose.SignatureAlgorithm, pick keyPicker) ([]byte, Header, error) {
	jws, err := parseCompact(raw, algs)
	if err != nil {
		return nil, Header{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	jh := jws.Signatures[0].Header
	h, err := headerOf(jh)
	if err != nil {
		return nil, Header{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	key, err := pick(jh)
	if err != nil {
		return nil, h, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, h, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return payload, h, nil
}

// parseCompact checks the size and parses a single-signature compact JWS.
func parseCompact(raw string, algs []jose.SignatureAlgorithm) (*jose.JSONWebSignature, error) {
	if len(raw) == 0 || len(raw) > MaxTokenSize {
		return nil, fmt.Errorf("token length %d outside 1..%d", len(raw), MaxTokenSize)
	}
	if len(algs) == 0 {
		return nil, errors.New("no acceptable algorithms")
	}
	if !canonicalSegments(raw) {
		return nil, errors.New("not three canonical base64url segments")
	}
	jws, err := jose.ParseSignedCompact(raw, algs)
	if err != nil {
		return nil, err
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("want exactly one signature")
	}
	return jws, nil
}

// headerOf extracts kid, alg and typ, refusing headers a JWT must not carry:
// crit (no extension is understood) and b64 (RFC 7797 is not for JWTs).
func headerOf(jh jose.Header) (Header, error) {
	for _, name := range []jose.HeaderKey{"crit", "b64"} {
		if _, ok := jh.ExtraHeaders[name]; ok {
			return Header{}, fmt.Errorf("unsupported header %q", name)
		}
	}
	h := Header{KeyID: jh.KeyID, Algorithm: jh.Algorithm}
	if v, ok := jh.ExtraHeaders[jose.HeaderType]; ok {
		s, isString := v.(string)
		if !isString {
			return Header{}, errors.New("typ header is not a string")
		}
		h.Type = s
	}
	return h, nil
}

// canonicalSegments reports whether raw is three base64url segments whose
// unused trailing bits are zero, so that one token has one spelling.
func canonicalSegments(raw string) bool {
	a, rest, ok1 := strings.Cut(raw, ".")
	b, c, ok2 := strings.Cut(rest, ".")
	return ok1 && ok2 && canonicalB64(a) && canonicalB64(b) && canonicalB64(c)
}

// canonicalB64 reports whether the final character of an unpadded base64url
// string carries no stray bits (RFC 4648 §3.5).
func canonicalB64(s string) bool {
	var mask byte
	switch len(s) % 4 {
	case 0:
		return true
	case 1:
		return false
	case 2:
		mask = 0x0f
	case 3:
		mask = 0x03
	}
	v := strings.IndexByte(b64Alphabet, s[len(s)-1])
	return v >= 0 && byte(v)&mask == 0
}

// b64Alphabet is the base64url alphabet (RFC 4648 §5).
const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

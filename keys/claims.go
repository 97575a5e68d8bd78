package keys

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	josejson "github.com/go-jose/go-jose/v4/json"
)

// Errors reported for claim sets, always together with ErrInvalidToken (or
// ErrInvalidDPoPProof for DPoP proofs). Compare with errors.Is.
var (
	// ErrExpired reports a token whose exp is in the past (beyond the leeway).
	ErrExpired = errors.New("keys: token expired")
	// ErrNotYetValid reports a token whose nbf or iat is in the future (beyond the leeway).
	ErrNotYetValid = errors.New("keys: token not yet valid")
	// ErrMissingExpiry reports a token without an exp claim.
	ErrMissingExpiry = errors.New("keys: token has no exp claim")
)

// maxNumericDate bounds NumericDate values (year 9999) so conversions never overflow.
const maxNumericDate = 253402300799

// NumericDate is a JWT time (RFC 7519 §2): seconds since the Unix epoch. It
// decodes only from a JSON number (a fractional part is truncated) in the
// range 0 to year 9999, and encodes as an integer.
type NumericDate int64

// NewNumericDate returns t as a NumericDate, truncated to the second.
func NewNumericDate(t time.Time) *NumericDate {
	d := NumericDate(t.Unix())
	return &d
}

// Time returns d as a UTC time.Time.
func (d NumericDate) Time() time.Time { return time.Unix(int64(d), 0).UTC() }

// UnmarshalJSON accepts a JSON number only: strings, null and out-of-range
// values are errors.
func (d *NumericDate) UnmarshalJSON(b []byte) error {
	var f float64
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return fmt.Errorf("keys: NumericDate must be a JSON number, got %.20q", b)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("keys: NumericDate: %w", err)
	}
	if math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return fmt.Errorf("keys: NumericDate %s out of range", b)
	}
	*d = NumericDate(f)
	return nil
}

// Audience is the aud claim (RFC 7519 §4.1.3). It decodes from a non-empty
// string or a non-empty array of non-empty strings, and encodes a single
// value as a string.
type Audience []string

// Contains reports whether a is one of the audience values.
func (a Audience) Contains(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

// MarshalJSON writes one value as a string and several as an array.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// UnmarshalJSON rejects every shape other than "x" or ["x", ...] with
// non-empty strings (aud: [], [""], 123 and ["x", {}] are all errors).
func (a *Audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil && len(b) > 0 && b[0] == '"' {
		if one == "" {
			return errors.New("keys: aud is an empty string")
		}
		*a = Audience{one}
		return nil
	}
	var many []string
	if len(b) == 0 || b[0] != '[' || json.Unmarshal(b, &many) != nil {
		return fmt.Errorf("keys: aud must be a string or an array of strings")
	}
	if len(many) == 0 {
		return errors.New("keys: aud is an empty array")
	}
	for _, v := range many {
		if v == "" {
			return errors.New("keys: aud holds an empty string")
		}
	}
	*a = many
	return nil
}

// Registered holds the registered JWT claims (RFC 7519 §4.1) with strict
// types. Embed it in a claims struct to sign or read these claims.
type Registered struct {
	Issuer    string       `json:"iss,omitempty"`
	Subject   string       `json:"sub,omitempty"`
	Audience  Audience     `json:"aud,omitempty"`
	Expiry    *NumericDate `json:"exp,omitempty"`
	NotBefore *NumericDate `json:"nbf,omitempty"`
	IssuedAt  *NumericDate `json:"iat,omitempty"`
	ID        string       `json:"jti,omitempty"`
}

// ValidateTime checks the token's lifetime at now: exp is required and must
// be after now-leeway; nbf and iat, when present, must not be after
// now+leeway. Errors match ErrInvalidToken and one of ErrMissingExpiry,
// ErrExpired or ErrNotYetValid.
func (r Registered) ValidateTime(now time.Time, leeway time.Duration) error {
	if r.Expiry == nil {
		return fmt.Errorf("%w: %w", ErrInvalidToken, ErrMissingExpiry)
	}
	if !now.Add(-leeway).Before(r.Expiry.Time()) {
		return fmt.Errorf("%w: %w", ErrInvalidToken, ErrExpired)
	}
	if r.NotBefore != nil && now.Add(leeway).Before(r.NotBefore.Time()) {
		return fmt.Errorf("%w: %w (nbf)", ErrInvalidToken, ErrNotYetValid)
	}
	if r.IssuedAt != nil && now.Add(leeway).Before(r.IssuedAt.Time()) {
		return fmt.Errorf("%w: %w (iat)", ErrInvalidToken, ErrNotYetValid)
	}
	return nil
}

// decodeStrict decodes a JSON object into out with case-sensitive member
// names, rejecting trailing data and duplicate members in every object it
// decodes (members out has no field for are skipped unchecked: see
// checkNoDuplicates).
func decodeStrict(payload []byte, out any) error {
	if trimmed := bytes.TrimLeft(payload, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return errors.New("claims: not a JSON object")
	}
	if err := josejson.Unmarshal(payload, out); err != nil {
		return fmt.Errorf("claims: %w", err)
	}
	return nil
}

// decodeClaims checks that payload is a strict JSON object, decodes its
// registered claims, then decodes it into out when out is non-nil.
func decodeClaims(payload []byte, out any) (Registered, error) {
	if err := checkNoDuplicates(payload); err != nil {
		return Registered{}, err
	}
	var reg Registered
	if err := decodeStrict(payload, &reg); err != nil {
		return Registered{}, err
	}
	if out == nil {
		return reg, nil
	}
	return reg, decodeStrict(payload, out)
}

// checkNoDuplicates rejects payload unless it is a JSON object with no
// duplicate member names at any depth (RFC 7519 §4).
func checkNoDuplicates(payload []byte) error {
	var all map[string]any
	return decodeStrict(payload, &all)
}

// normalizeTyp lower-cases a typ header value and drops an "application/"
// prefix (RFC 7515 §4.1.9: media types are case-insensitive and the prefix
// may be omitted).
func normalizeTyp(typ string) string {
	typ = strings.ToLower(typ)
	return strings.TrimPrefix(typ, "application/")
}

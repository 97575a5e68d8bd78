// Package secret generates client secrets and admin tokens and hashes them
// for storage. Server-generated secrets carry 256 bits of entropy, so a keyed
// fast hash (HMAC-SHA-256 under a server key) protects them as well as a slow
// hash would, at a cost of about a microsecond per check; a stolen database
// without the server key yields nothing to guess at. Short secrets, which may
// be chosen by people, are hashed with PBKDF2-SHA-256 at OWASP's iteration
// count. It imports nothing from this module.
package secret

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MinFastLength is the shortest secret hashed with the keyed fast hash; a
// shorter one may be human-chosen and gets the slow hash.
const MinFastLength = 32

const (
	schemeHMAC   = "hmac-sha256"
	schemePBKDF2 = "pbkdf2-sha256"
	pbkdf2Iter   = 600_000
)

var b64 = base64.RawURLEncoding

// ErrMismatch reports that a secret does not match its hash.
var ErrMismatch = errors.New("secret: mismatch")

// Generate returns a new random secret with the given prefix (e.g. "vcs_"):
// 32 random bytes, base64url-encoded.
func Generate(prefix string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return prefix + b64.EncodeToString(b)
}

// Hasher hashes and verifies secrets. The zero value is not usable; build
// one with [NewHasher]. A Hasher is safe for concurrent use.
type Hasher struct {
	key []byte
}

// NewHasher returns a Hasher keyed with key (at least 32 bytes).
func NewHasher(key []byte) (*Hasher, error) {
	if len(key) < 32 {
		return nil, errors.New("secret: hasher key must be at least 32 bytes")
	}
	return &Hasher{key: append([]byte(nil), key...)}, nil
}

// Hash returns the storable hash of s. Long secrets hash deterministically,
// so applying the same configuration twice yields the same record.
func (h *Hasher) Hash(s string) string {
	if len(s) >= MinFastLength {
		return schemeHMAC + "$" + b64.EncodeToString(h.mac(s))
	}
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	dk, _ := pbkdf2.Key(sha256.New, s, salt, pbkdf2Iter, 32)
	return fmt.Sprintf("%s$%d$%s$%s", schemePBKDF2, pbkdf2Iter, b64.EncodeToString(salt), b64.EncodeToString(dk))
}

// Verify checks s against hash in constant time for the hash's scheme. It
// returns nil on a match, ErrMismatch otherwise (also for malformed hashes).
func (h *Hasher) Verify(hash, s string) error {
	scheme, rest, _ := strings.Cut(hash, "$")
	var ok bool
	switch scheme {
	case schemeHMAC:
		want, err := b64.DecodeString(rest)
		ok = err == nil && hmac.Equal(want, h.mac(s))
	case schemePBKDF2:
		ok = verifyPBKDF2(rest, s)
	}
	if !ok {
		return ErrMismatch
	}
	return nil
}

func (h *Hasher) mac(s string) []byte {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

func verifyPBKDF2(rest, s string) bool {
	parts := strings.Split(rest, "$")
	if len(parts) != 3 {
		return false
	}
	iter, err := strconv.Atoi(parts[0])
	if err != nil || iter < 1 || iter > 10_000_000 {
		return false
	}
	salt, err1 := b64.DecodeString(parts[1])
	want, err2 := b64.DecodeString(parts[2])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, s, salt, iter, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

// Equal compares two secrets in constant time (for bearer tokens such as the
// admin token, compared through their SHA-256 digests).
func Equal(a, b string) bool {
	x, y := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(x[:], y[:]) == 1
}

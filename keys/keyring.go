package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"

	"github.com/vigil-auth/vigil/storage"
)

// Signing algorithms a Manager can be configured with.
const (
	// ES256 is ECDSA with P-256 and SHA-256 (RFC 7518 §3.4), the default.
	ES256 = "ES256"
	// EdDSA is Ed25519 (RFC 8037).
	EdDSA = "EdDSA"
)

// signingKey is the active key with its private half, ready to sign.
type signingKey struct {
	kid       string
	alg       jose.SignatureAlgorithm
	signer    crypto.Signer
	createdAt time.Time

	mu      sync.Mutex
	signers map[string]jose.Signer // by typ header
}

// publicKey is a published verification key.
type publicKey struct {
	kid string
	alg jose.SignatureAlgorithm
	jwk jose.JSONWebKey // public only, with kid, alg and use "sig"
	// until is when a retired key leaves the JWKS; zero for the active key.
	until time.Time
}

// visibleAt reports whether k is still published at now.
func (k publicKey) visibleAt(now time.Time) bool {
	return k.until.IsZero() || now.Before(k.until)
}

// keyring is an immutable snapshot of the keys loaded from the store.
type keyring struct {
	active    *signingKey
	published []publicKey // active first, then retired keys newest first

	jwksMu    sync.Mutex
	jwksCount int
	jwksJSON  []byte
}

// generateSigner creates a new private key for alg.
func generateSigner(alg string) (crypto.Signer, error) {
	switch alg {
	case ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	default:
		return nil, fmt.Errorf("keys: unsupported signing algorithm %q", alg)
	}
}

// newKeyRecord generates a key for alg and returns its storage record, the
// private half sealed under kek. The key ID is the RFC 7638 thumbprint.
func newKeyRecord(kek []byte, alg string, now time.Time) (storage.Key, error) {
	signer, err := generateSigner(alg)
	if err != nil {
		return storage.Key{}, fmt.Errorf("keys: generate %s key: %w", alg, err)
	}
	jwk := jose.JSONWebKey{Key: signer.Public(), Algorithm: alg, Use: "sig"}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return storage.Key{}, fmt.Errorf("keys: thumbprint: %w", err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	return sealRecord(kek, jwk, signer, now)
}

// sealRecord builds the storage record for a key whose public JWK is jwk.
func sealRecord(kek []byte, jwk jose.JSONWebKey, signer crypto.Signer, now time.Time) (storage.Key, error) {
	der, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		return storage.Key{}, fmt.Errorf("keys: encode private key: %w", err)
	}
	sealed, err := seal(kek, jwk.KeyID, der)
	clear(der)
	if err != nil {
		return storage.Key{}, err
	}
	pub, err := json.Marshal(jwk)
	if err != nil {
		return storage.Key{}, fmt.Errorf("keys: encode public key: %w", err)
	}
	return storage.Key{ID: jwk.KeyID, Alg: jwk.Algorithm, Private: sealed, Public: pub, CreatedAt: now.UTC()}, nil
}

// publicFromRecord parses a record's public JWK and checks it agrees with
// the record.
func publicFromRecord(k storage.Key) (publicKey, error) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(k.Public); err != nil {
		return publicKey{}, fmt.Errorf("keys: key %s: public key: %w", k.ID, err)
	}
	if !jwk.Valid() || !jwk.IsPublic() {
		return publicKey{}, fmt.Errorf("keys: key %s: stored public key is not a public key", k.ID)
	}
	alg := jose.SignatureAlgorithm(k.Alg)
	if keyFitsAlg(jwk.Key, alg) != nil {
		return publicKey{}, fmt.Errorf("keys: key %s: key type does not fit %s", k.ID, k.Alg)
	}
	jwk.KeyID, jwk.Algorithm, jwk.Use = k.ID, k.Alg, "sig"
	pk := publicKey{kid: k.ID, alg: alg, jwk: jwk}
	if !k.RetiredAt.IsZero() {
		pk.until = k.PublishUntil
		if pk.until.IsZero() {
			pk.until = k.RetiredAt // retired with no publish window: gone at once
		}
	}
	return pk, nil
}

// signerFromRecord decrypts a record's private key and checks it matches
// the published public key.
func signerFromRecord(kek []byte, k storage.Key, pub publicKey) (*signingKey, error) {
	der, err := unseal(kek, k.ID, k.Private)
	if err != nil {
		return nil, err
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	clear(der)
	if err != nil {
		return nil, fmt.Errorf("keys: key %s: private key: %w", k.ID, err)
	}
	signer, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("keys: key %s: private key cannot sign", k.ID)
	}
	if !samePublic(signer.Public(), pub.jwk.Key) {
		return nil, fmt.Errorf("keys: key %s: private key does not match public key", k.ID)
	}
	return &signingKey{kid: k.ID, alg: pub.alg, signer: signer, createdAt: k.CreatedAt}, nil
}

// samePublic reports whether two public keys are equal.
func samePublic(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

// activeRecord returns the newest key that has not been retired.
func activeRecord(recs []storage.Key) (storage.Key, bool) {
	var best storage.Key
	found := false
	for _, k := range recs {
		if k.RetiredAt.IsZero() && (!found || k.CreatedAt.After(best.CreatedAt)) {
			best, found = k, true
		}
	}
	return best, found
}

// errNoActiveKey reports a store holding no signing key that is not retired.
var errNoActiveKey = errors.New("keys: no active signing key in the store")

// buildKeyring loads recs into a keyring. Only the active key is decrypted;
// prev's signer is reused when the active key has not changed.
func buildKeyring(kek []byte, recs []storage.Key, prev *keyring) (*keyring, error) {
	act, ok := activeRecord(recs)
	if !ok {
		return nil, errNoActiveKey
	}
	ring := &keyring{}
	for _, k := range sortedForPublishing(recs, act.ID) {
		pk, err := publicFromRecord(k)
		if err != nil {
			return nil, err
		}
		if k.ID == act.ID {
			pk.until = time.Time{}
		}
		ring.published = append(ring.published, pk)
	}
	signer, err := loadActive(kek, act, ring.published[0], prev)
	if err != nil {
		return nil, err
	}
	ring.active = signer
	return ring, nil
}

// loadActive returns the signer for the active record, reusing prev's.
func loadActive(kek []byte, act storage.Key, pub publicKey, prev *keyring) (*signingKey, error) {
	if prev != nil && prev.active.kid == act.ID {
		return prev.active, nil
	}
	return signerFromRecord(kek, act, pub)
}

// sortedForPublishing returns the active record first, then the other
// records that may still be published, newest first.
func sortedForPublishing(recs []storage.Key, activeID string) []storage.Key {
	out := make([]storage.Key, 0, len(recs))
	for _, k := range recs {
		if k.ID != activeID && k.RetiredAt.IsZero() {
			// A second unretired key (a concurrent rotation that lost) is
			// published but never signs, until the next rotation retires it.
			k.RetiredAt, k.PublishUntil = k.CreatedAt, time.Time{}
		}
		out = append(out, k)
	}
	slices.SortStableFunc(out, func(a, b storage.Key) int {
		switch {
		case a.ID == activeID:
			return -1
		case b.ID == activeID:
			return 1
		}
		return b.CreatedAt.Compare(a.CreatedAt)
	})
	return out
}

// visible returns the keys published at now, active first.
func (r *keyring) visible(now time.Time) []publicKey {
	out := make([]publicKey, 0, len(r.published))
	for _, k := range r.published {
		if k.visibleAt(now) {
			out = append(out, k)
		}
	}
	return out
}

// lookup returns the key with ID kid if it is published at now.
func (r *keyring) lookup(kid string, now time.Time) (publicKey, bool) {
	for _, k := range r.published {
		if k.kid == kid && k.visibleAt(now) {
			return k, true
		}
	}
	return publicKey{}, false
}

// algs returns the distinct algorithms of the keys published at now, the
// active key's first.
func (r *keyring) algs(now time.Time) []jose.SignatureAlgorithm {
	var out []jose.SignatureAlgorithm
	for _, k := range r.visible(now) {
		if !slices.Contains(out, k.alg) {
			out = append(out, k.alg)
		}
	}
	return out
}

// jwks returns the JWK Set published at now. The visible sets at different
// times are nested (a key leaves once now passes its until), so the same
// count means the same set and the cached JSON is reused.
func (r *keyring) jwks(now time.Time) []byte {
	vis := r.visible(now)
	r.jwksMu.Lock()
	defer r.jwksMu.Unlock()
	if r.jwksJSON != nil && r.jwksCount == len(vis) {
		return r.jwksJSON
	}
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(vis))}
	for _, k := range vis {
		set.Keys = append(set.Keys, k.jwk)
	}
	b, err := json.Marshal(set)
	if err != nil {
		// Public keys that parsed from the store always marshal; an empty
		// set fails safe (nothing verifies) rather than publishing garbage.
		return []byte(`{"keys":[]}`)
	}
	r.jwksCount, r.jwksJSON = len(vis), b
	return b
}

// joseSigner returns a signer for k that sets the typ and kid headers.
func (k *signingKey) joseSigner(typ string) (jose.Signer, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s, ok := k.signers[typ]; ok {
		return s, nil
	}
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader(jose.HeaderKey("kid"), k.kid)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: cryptosigner.Opaque(k.signer)}, opts)
	if err != nil {
		return nil, fmt.Errorf("keys: signer for key %s: %w", k.kid, err)
	}
	if k.signers == nil {
		k.signers = map[string]jose.Signer{}
	}
	k.signers[typ] = s
	return s, nil
}

package server

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/vigil-auth/vigil/authz"
	"github.com/vigil-auth/vigil/keys"
)

// assertionAlgs are the algorithms advertised for client assertions; a key
// only ever verifies the algorithms its type fits.
var assertionAlgs = []string{"ES256", "ES384", "EdDSA", "PS256", "RS256"}

func newVerifier(hc *http.Client, log *slog.Logger) (*keys.ExternalVerifier, *keys.JWKSCache) {
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second}
	}
	cache := keys.NewJWKSCache(hc, keys.WithCacheLogger(log))
	return keys.NewExternalVerifier(cache), cache
}

// proofs adapts keys.ParseDPoPProof to authz.ProofVerifier.
type proofs struct{}

// VerifyProof checks a DPoP proof's JOSE, htm, htu, iat and nonce.
func (proofs) VerifyProof(raw, method, url string, now time.Time, validNonce func(string) bool) (authz.Proof, error) {
	p, err := keys.ParseDPoPProof(raw, now, keys.DPoPOptions{Method: method, URL: url, ValidNonce: validNonce})
	if errors.Is(err, keys.ErrUseDPoPNonce) {
		return authz.Proof{}, authz.ErrUseDPoPNonce
	}
	if err != nil {
		return authz.Proof{}, err
	}
	return authz.Proof{JKT: p.JKT, JTI: p.JTI, ReplayUntil: p.ReplayUntil}, nil
}

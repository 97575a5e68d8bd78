package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/vigil-auth/vigil/internal/register"
	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/keys"
	"github.com/vigil-auth/vigil/storage"
)

// registrationVerifier adapts package keys to register.Verifier: software
// statements verify like other trusted issuers' JWTs, a client's jwks_uri
// is fetched through the same JWKS cache (and limits) as assertions.
type registrationVerifier struct {
	ext   *keys.ExternalVerifier
	cache *keys.JWKSCache
}

// VerifyIssuerJWT implements register.Verifier.
func (v registrationVerifier) VerifyIssuerJWT(ctx context.Context, raw string, iss storage.Issuer, out any) error {
	return v.ext.VerifyIssuerJWT(ctx, raw, iss, out)
}

// CheckJWKS implements register.Verifier.
func (v registrationVerifier) CheckJWKS(jwks []byte) error { return keys.CheckJWKS(jwks) }

// CheckJWKSURI implements register.Verifier.
func (v registrationVerifier) CheckJWKSURI(ctx context.Context, uri string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return v.cache.Check(ctx, uri)
}

// mountRegistration serves dynamic client registration when the
// configuration has a registration policy; it returns the endpoint's URL,
// or "" when registration is off.
func (s *Server) mountRegistration(r *web.Router, v registrationVerifier) (string, error) {
	if s.cfg.Registration == nil {
		return "", nil
	}
	h, err := register.New(s.cfg.Issuer, *s.cfg.Registration, register.Deps{Store: s.tracedStore(), Hasher: s.d.Hasher,
		Verifier: v, Sessions: s.authz, Log: s.d.Log.With(slog.String("component", "register")), Now: s.d.Now})
	if err != nil {
		return "", fmt.Errorf("server: %w", err)
	}
	h.Mount(r)
	return h.Endpoint(), nil
}

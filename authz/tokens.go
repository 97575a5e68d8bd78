package authz

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/storage"
)

// Token value prefixes: they let secret scanners recognise Vigil tokens.
const (
	accessPrefix  = "vgl_at_"
	refreshPrefix = "vgl_rt_"
)

// Token formats.
const (
	FormatOpaque = "opaque"
	FormatJWT    = "jwt"
	FormatTxn    = "txn"
)

var b64 = base64.RawURLEncoding

// TokenID returns the storage ID of a raw token value: base64url SHA-256. The
// raw value itself is never stored.
func TokenID(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return b64.EncodeToString(sum[:])
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b64.EncodeToString(b)
}

// successorRefresh derives the refresh token that replaces raw, so a retry
// inside the grace window gets the very same successor without it ever being
// stored.
func (s *Server) successorRefresh(raw string) string {
	m := hmac.New(sha256.New, s.cfg.RefreshKey)
	m.Write([]byte(raw))
	return refreshPrefix + b64.EncodeToString(m.Sum(nil))
}

// jwtAccessClaims are an RFC 9068 access token's claims.
type jwtAccessClaims struct {
	Issuer    string     `json:"iss"`
	Subject   string     `json:"sub"`
	Audience  []string   `json:"aud,omitempty"`
	ClientID  string     `json:"client_id"`
	Scope     string     `json:"scope,omitempty"`
	IssuedAt  int64      `json:"iat"`
	NotBefore int64      `json:"nbf"`
	Expiry    int64      `json:"exp"`
	JTI       string     `json:"jti"`
	SessionID string     `json:"sid"`
	Act       *oauth.Act `json:"act,omitempty"`
	Cnf       *oauth.Cnf `json:"cnf,omitempty"`
}

// txnClaims are a transaction token's claims
// (draft-ietf-oauth-transaction-tokens §4): the call it is good for and the
// context it was requested in.
type txnClaims struct {
	Issuer    string         `json:"iss"`
	TxnID     string         `json:"txn"`
	Subject   string         `json:"sub"`
	Audience  []string       `json:"aud,omitempty"`
	Scope     string         `json:"scope,omitempty"`
	IssuedAt  int64          `json:"iat"`
	Expiry    int64          `json:"exp"`
	SessionID string         `json:"sid"`
	Act       *oauth.Act     `json:"act,omitempty"`
	Context   map[string]any `json:"rctx,omitempty"`
}

// mint creates the raw value of access token t (opaque, a signed RFC 9068
// JWT, or a transaction token) and sets t.ID from it.
func (s *Server) mint(t *storage.Token, req *tokenRequest) (string, error) {
	if t.Format == FormatTxn {
		return s.mintTxn(t, req)
	}
	if t.Format != FormatJWT {
		raw := accessPrefix + randomString(32)
		t.ID = TokenID(raw)
		return raw, nil
	}
	claims := jwtAccessClaims{Issuer: s.cfg.Issuer, Subject: t.Subject, Audience: t.Audiences, ClientID: t.ClientID,
		Scope: strings.Join(t.Scopes, " "), IssuedAt: t.IssuedAt.Unix(), NotBefore: t.NotBefore.Unix(),
		Expiry: t.ExpiresAt.Unix(), JTI: randomString(16), SessionID: t.SessionID, Act: oauth.NewAct(t.Actors)}
	if t.JKT != "" {
		claims.Cnf = &oauth.Cnf{JKT: t.JKT}
	}
	raw, err := s.signer.Sign("at+jwt", claims)
	if err != nil {
		return "", fmt.Errorf("authz: sign access token: %w", err)
	}
	t.ID = TokenID(raw)
	return raw, nil
}

// storeErr maps a storage failure to its answer: protocol errors pass
// through; an unavailable store is 503, never a false success.
func storeErr(err error) error {
	var oe *oauth.Error
	switch {
	case err == nil, errors.As(err, &oe):
		return err
	case errors.Is(err, storage.ErrUnavailable):
		return fmt.Errorf("%w: %w", oauth.Unavailable("storage unavailable, try again"), err)
	}
	return err
}

// capTTL returns the smallest positive of the durations.
func capTTL(ds ...time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		if d > 0 && (m == 0 || d < m) {
			m = d
		}
	}
	return m
}

func (s *Server) mintTxn(t *storage.Token, req *tokenRequest) (string, error) {
	rctx := map[string]any{"req_client": req.caller.client.ID}
	if req.ip.IsValid() {
		rctx["req_ip"] = req.ip.String()
	}
	if req.tool != "" {
		rctx["tool"] = req.tool
	}
	claims := txnClaims{Issuer: s.cfg.Issuer, TxnID: randomString(16), Subject: t.Subject, Audience: t.Audiences,
		Scope: strings.Join(t.Scopes, " "), IssuedAt: t.IssuedAt.Unix(), Expiry: t.ExpiresAt.Unix(),
		SessionID: t.SessionID, Act: oauth.NewAct(t.Actors), Context: rctx}
	raw, err := s.signer.Sign("txntoken+jwt", claims)
	if err != nil {
		return "", fmt.Errorf("authz: sign transaction token: %w", err)
	}
	t.ID = TokenID(raw)
	return raw, nil
}

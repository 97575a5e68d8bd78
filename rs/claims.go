package rs

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Risk actions Vigil's verdict may carry.
const (
	ActionAllow     = "allow"
	ActionStepUp    = "step_up"
	ActionDeny      = "deny"
	ActionTerminate = "terminate"
)

// Claims is what introspection established about the request's token
// (RFC 7662 §2.2, RFC 8693 §4, RFC 9449 §6.2), with Vigil's risk verdict.
type Claims struct {
	Scopes    []string
	ClientID  string
	Subject   string
	Audiences []string
	Issuer    string
	// Expiry is the effective expiry: earlier than the token's own when
	// risk shortened its life.
	Expiry    time.Time
	IssuedAt  time.Time
	NotBefore time.Time
	JTI       string
	// TokenType is "Bearer" or "DPoP".
	TokenType string
	SessionID string
	// Actor is the current actor of a delegated token (act claim), nil if none.
	Actor *Actor
	// JKT is the DPoP key thumbprint the token is bound to (cnf.jkt), or "".
	JKT string
	// Risk is Vigil's verdict on this call; nil when the server sent none.
	Risk *Verdict
}

// Actor is one link of an RFC 8693 §4.1 act chain; Actor.Actor is the prior actor.
type Actor struct {
	Subject string `json:"sub"`
	Actor   *Actor `json:"act,omitempty"`
}

// Verdict is Vigil's risk extension member of an introspection answer.
type Verdict struct {
	Level   string   `json:"level"`
	Score   int      `json:"score"`
	Action  string   `json:"action"`
	Reasons []string `json:"reasons"`
	// Challenge is the WWW-Authenticate value to answer with on step_up.
	Challenge string `json:"challenge,omitempty"`
}

// HasScopes reports whether every one of scopes was granted.
func (c Claims) HasScopes(scopes ...string) bool {
	for _, s := range scopes {
		if !slices.Contains(c.Scopes, s) {
			return false
		}
	}
	return true
}

type ctxKey struct{}

// FromContext returns the claims the middleware verified for the request
// whose context is ctx; ok is false outside a wrapped handler.
func FromContext(ctx context.Context) (Claims, bool) {
	c, ok := ctx.Value(ctxKey{}).(Claims)
	return c, ok
}

func withClaims(ctx context.Context, c Claims) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// answer is the wire form of an introspection answer.
type answer struct {
	Active    bool            `json:"active"`
	Scope     string          `json:"scope"`
	ClientID  string          `json:"client_id"`
	Subject   string          `json:"sub"`
	Audience  json.RawMessage `json:"aud"`
	Issuer    string          `json:"iss"`
	Expiry    int64           `json:"exp"`
	IssuedAt  int64           `json:"iat"`
	NotBefore int64           `json:"nbf"`
	JTI       string          `json:"jti"`
	TokenType string          `json:"token_type"`
	SessionID string          `json:"sid"`
	Act       *Actor          `json:"act"`
	Cnf       *struct {
		JKT string `json:"jkt"`
	} `json:"cnf"`
	Risk *Verdict `json:"risk"`
}

// claims converts an active answer.
func (a answer) claims() (Claims, error) {
	auds, err := audiences(a.Audience)
	if err != nil {
		return Claims{}, err
	}
	c := Claims{Scopes: strings.Fields(a.Scope), ClientID: a.ClientID, Subject: a.Subject, Audiences: auds,
		Issuer: a.Issuer, Expiry: unix(a.Expiry), IssuedAt: unix(a.IssuedAt), NotBefore: unix(a.NotBefore),
		JTI: a.JTI, TokenType: a.TokenType, SessionID: a.SessionID, Actor: a.Act, Risk: a.Risk}
	if a.Cnf != nil {
		c.JKT = a.Cnf.JKT
	}
	return c, nil
}

// audiences reads aud, a string or an array of strings (RFC 7519 §4.1.3).
func audiences(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("aud: %w", err)
	}
	return many, nil
}

func unix(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0)
}

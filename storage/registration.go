package storage

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
)

// InitialAccessToken authorizes dynamic client registrations (RFC 7591 §3):
// an admin issues it, a registering client presents it as a bearer token.
// Its value is never stored: ID is the base64url SHA-256 of it. Kinds,
// GrantTypes, Scopes, Audiences and AuthMethods narrow what a client
// registered with it may have; empty means whatever the registration
// policy allows.
type InitialAccessToken struct {
	ID          string   `json:"id"`
	Description string   `json:"description,omitempty"`
	Kinds       []string `json:"kinds,omitempty"`
	GrantTypes  []string `json:"grant_types,omitempty"`
	Scopes      []string `json:"scopes,omitempty"`
	Audiences   []string `json:"audiences,omitempty"`
	AuthMethods []string `json:"auth_methods,omitempty"`
	// MaxUses is how many registrations it allows; 1 is single use, 0 is
	// unlimited until it expires.
	MaxUses int `json:"max_uses"`
	// Uses counts the registrations made with it.
	Uses      int       `json:"uses"`
	ExpiresAt time.Time `json:"expires_at"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// Usable reports whether t may authorize one more registration at now.
func (t InitialAccessToken) Usable(now time.Time) bool {
	return t.RevokedAt.IsZero() && now.Before(t.ExpiresAt) && (t.MaxUses == 0 || t.Uses < t.MaxUses)
}

// Validate reports every problem with t, joined with errors.Join.
func (t InitialAccessToken) Validate() error {
	var p problems
	if t.ID == "" {
		p.add("id", "must not be empty")
	}
	if t.Description != "" {
		p.addErr("description", validateText(t.Description))
	}
	for _, k := range t.Kinds {
		if !slices.Contains(Kinds, k) {
			p.add("kinds", "%q is not one of %s", k, strings.Join(Kinds, ", "))
		}
	}
	for _, g := range t.GrantTypes {
		if !slices.Contains(GrantTypes, g) {
			p.add("grant_types", "%q is not one of %s", g, strings.Join(GrantTypes, ", "))
		}
	}
	p.addErr("scopes", eachOf(t.Scopes, ValidateScope))
	p.addErr("audiences", eachOf(t.Audiences, ValidateAudience))
	for _, m := range t.AuthMethods {
		if !slices.Contains(AuthMethods, m) {
			p.add("auth_methods", "%q is not one of %s", m, strings.Join(AuthMethods, ", "))
		}
	}
	if t.MaxUses < 0 {
		p.add("max_uses", "must not be negative")
	}
	if t.ExpiresAt.IsZero() {
		p.add("expires_at", "an initial access token must expire")
	}
	return errors.Join(p...)
}

// AuthMethods are the token endpoint authentication methods a client may
// be registered with (RFC 7591 §2).
var AuthMethods = []string{"client_secret_basic", "client_secret_post", "private_key_jwt"}

// Registration is what dynamic client registration (RFC 7591, RFC 7592)
// recorded about a client it created. The client itself is an ordinary
// Client record with the same ID.
type Registration struct {
	ClientID string `json:"client_id"`
	// AccessTokenHash is the base64url SHA-256 of the registration access
	// token (RFC 7592 §1); the token itself is never stored.
	AccessTokenHash string `json:"access_token_hash"`
	// InitialTokenID is the initial access token the client registered with, if any.
	InitialTokenID string `json:"initial_token_id,omitempty"`
	// StatementIssuer is the issuer of the software statement, if any.
	StatementIssuer string `json:"statement_issuer,omitempty"`
	// Metadata is the client metadata as registered (RFC 7591 §2), as the
	// registration endpoint returns it.
	Metadata  json.RawMessage `json:"metadata,omitempty"`
	CreatedAt time.Time       `json:"created_at,omitzero"`
	UpdatedAt time.Time       `json:"updated_at,omitzero"`
}

// Validate reports every problem with r, joined with errors.Join.
func (r Registration) Validate() error {
	var p problems
	p.addErr("client_id", ValidateClientID(r.ClientID))
	if r.AccessTokenHash == "" {
		p.add("access_token_hash", "must not be empty")
	}
	if len(r.Metadata) > 0 && !json.Valid(r.Metadata) {
		p.add("metadata", "is not valid JSON")
	}
	return errors.Join(p...)
}

// RegistrationReader reads the records of dynamic client registration.
type RegistrationReader interface {
	// GetInitialToken returns the initial access token with the given ID, or ErrNotFound.
	GetInitialToken(ctx context.Context, id string) (InitialAccessToken, error)
	// ListInitialTokens returns every initial access token, ordered by ID.
	ListInitialTokens(ctx context.Context) ([]InitialAccessToken, error)
	// GetRegistration returns the registration of client id, or ErrNotFound.
	GetRegistration(ctx context.Context, clientID string) (Registration, error)
}

// RegistrationWriter changes the records of dynamic client registration.
type RegistrationWriter interface {
	// PutInitialToken creates or replaces the initial access token t.ID.
	PutInitialToken(ctx context.Context, t InitialAccessToken) error
	// DeleteInitialToken removes the initial access token, or returns ErrNotFound.
	DeleteInitialToken(ctx context.Context, id string) error
	// PutRegistration creates or replaces the registration of r.ClientID.
	PutRegistration(ctx context.Context, r Registration) error
	// DeleteRegistration removes the registration, or returns ErrNotFound.
	DeleteRegistration(ctx context.Context, clientID string) error
}

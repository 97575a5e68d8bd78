package storage

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Client kinds (the `kind` of a registration).
const (
	KindAgent          = "agent"
	KindService        = "service"
	KindWorkload       = "workload"
	KindJob            = "job"
	KindResourceServer = "resource_server"
)

// Client is a registered non-human client. JSON names are the ones the
// configuration file and the admin API use.
type Client struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// SecretHash is the hashed client secret; the secret itself is never stored.
	SecretHash string `json:"secret_hash,omitempty"`
	// JWKS is the client's public key set for private_key_jwt (RFC 7523), inline.
	JWKS json.RawMessage `json:"jwks,omitempty"`
	// JWKSURI is where the client's public keys are fetched for private_key_jwt.
	JWKSURI         string   `json:"jwks_uri,omitempty"`
	GrantTypes      []string `json:"grant_types,omitempty"`
	Scopes          []string `json:"scopes,omitempty"`
	Audiences       []string `json:"audiences,omitempty"`
	Introspect      []string `json:"introspect,omitempty"`
	TokenFormat     string   `json:"token_format,omitempty"` // opaque (default) | jwt
	AccessTokenTTL  Duration `json:"access_token_ttl,omitempty"`
	RefreshTokenTTL Duration `json:"refresh_token_ttl,omitempty"`
	// ExchangeTTL is the default lifetime of tokens issued to this client by token exchange.
	ExchangeTTL Duration `json:"exchange_ttl,omitempty"`
	// MayAct names the clients that may act on this client's behalf (RFC 8693 §4.4).
	MayAct []string `json:"may_act,omitempty"`
	// Impersonation allows exchange without an actor token on this client's behalf.
	Impersonation bool      `json:"impersonation,omitempty"`
	Schedule      *Schedule `json:"schedule,omitempty"`
	Networks      []string  `json:"networks,omitempty"`
	Purposes      []string  `json:"purposes,omitempty"`
	// DPoP requires every token of this client to be sender-constrained (RFC 9449).
	DPoP     bool `json:"dpop,omitempty"`
	Disabled bool `json:"disabled,omitempty"`
	// AssertionCompat relaxes client-assertion checks for libraries that
	// cannot be configured to meet them; nil (the default) is strict.
	AssertionCompat *AssertionCompat `json:"assertion_compat,omitempty"`
	// Source is SourceConfig for a record declared by the configuration
	// file, which then owns it; "" for one made through the admin API.
	Source    string    `json:"source,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// SourceConfig marks a client, resource or trusted issuer declared by the
// configuration file. The file is the truth for what it declares: a record
// with this source that the file no longer declares is disabled (a client)
// or deleted (a resource or trusted issuer) when the file is applied.
const SourceConfig = "config"

// Clone returns a deep copy of c: every slice and pointer is new, so the
// caller may change anything in it. Empty slices come back nil, as they do
// from a backend that serializes records. Backends return clones, never the
// records they hold.
func (c Client) Clone() Client {
	c.JWKS = cloneSlice(c.JWKS)
	c.GrantTypes = cloneSlice(c.GrantTypes)
	c.Scopes = cloneSlice(c.Scopes)
	c.Audiences = cloneSlice(c.Audiences)
	c.Introspect = cloneSlice(c.Introspect)
	c.MayAct = cloneSlice(c.MayAct)
	c.Networks = cloneSlice(c.Networks)
	c.Purposes = cloneSlice(c.Purposes)
	if c.Schedule != nil {
		s := *c.Schedule
		c.Schedule = &s
	}
	if c.AssertionCompat != nil {
		a := *c.AssertionCompat
		c.AssertionCompat = &a
	}
	return c
}

// cloneSlice returns a copy of s that shares no memory with it, nil when empty.
func cloneSlice[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

// HasGrant reports whether c is registered for grant type g.
func (c Client) HasGrant(g string) bool { return slices.Contains(c.GrantTypes, g) }

// AssertionCompat is a per-client compatibility setting for private_key_jwt
// client assertions (RFC 7523) made by libraries that follow the RFC's
// original wording. Each member weakens a default that protects the client.
type AssertionCompat struct {
	// TokenEndpointAudience also accepts the token endpoint URL as the
	// assertion's single aud value, besides the issuer.
	TokenEndpointAudience bool `json:"token_endpoint_audience,omitempty"`
	// MaxLifetime, when set, replaces the server's limit on how far ahead
	// the assertion's exp may be (at most MaxCompatAssertionLifetime).
	MaxLifetime Duration `json:"max_lifetime,omitempty"`
}

// Schedule is a declared window in which a client normally runs.
type Schedule struct {
	Days  string `json:"days,omitempty"`  // e.g. "Mon-Fri"
	Hours string `json:"hours,omitempty"` // e.g. "08:00-18:00"
	TZ    string `json:"tz,omitempty"`    // IANA zone, default UTC
}

// Resource is a protected resource (an audience) and how sensitive it is.
type Resource struct {
	Audience string `json:"audience"`
	// Sensitivity is 1 (routine read) to 4 (secrets, credentials, admin).
	Sensitivity int    `json:"sensitivity"`
	Tenant      string `json:"tenant,omitempty"`
	// Tactic is what calling this resource usually means (discovery, collection, …).
	Tactic string `json:"tactic,omitempty"`
	// MaxTTL caps the lifetime of tokens issued for this audience; 0 means no cap.
	MaxTTL Duration `json:"max_ttl,omitempty"`
	// Source is SourceConfig for a record declared by the configuration
	// file, which then owns it; "" for one made through the admin API.
	Source    string    `json:"source,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Issuer is a trusted external token issuer whose JWTs may be exchanged
// (RFC 8693 subject tokens from workloads: Kubernetes, CI, SPIFFE).
type Issuer struct {
	Issuer     string          `json:"issuer"`
	JWKS       json.RawMessage `json:"jwks,omitempty"`
	JWKSURI    string          `json:"jwks_uri,omitempty"`
	Algorithms []string        `json:"algorithms,omitempty"`
	// Audience is the audience the external token must carry.
	Audience string `json:"audience,omitempty"`
	// Subjects maps external subjects to Vigil clients.
	Subjects []SubjectMapping `json:"subjects,omitempty"`
	// Scopes and Audiences bound what external tokens may be exchanged for.
	Scopes    []string `json:"scopes,omitempty"`
	Audiences []string `json:"audiences,omitempty"`
	// SSF, when set, takes Shared Signals security events from this issuer.
	SSF *IssuerSSF `json:"ssf,omitempty"`
	// Source is SourceConfig for a record declared by the configuration
	// file, which then owns it; "" for one made through the admin API.
	Source    string    `json:"source,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// SubjectMapping maps an external subject (exact, or a prefix ending in "*") to a client.
type SubjectMapping struct {
	Subject  string `json:"subject"`
	ClientID string `json:"client_id"`
}

// Session status values.
const (
	SessionActive     = "active"
	SessionTerminated = "terminated"
)

// Session is the life of one grant: every token belongs to exactly one session.
type Session struct {
	ID       string `json:"sid"`
	ClientID string `json:"client_id"`
	Subject  string `json:"sub"`
	// Origin is the address the session was opened from.
	Origin    string    `json:"origin,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is when the session's last possible token expires.
	ExpiresAt    time.Time `json:"expires_at"`
	Status       string    `json:"status"`
	TerminatedAt time.Time `json:"terminated_at,omitzero"`
	Reason       string    `json:"reason,omitempty"`
	// JKT is the DPoP key thumbprint the session is bound to (RFC 9449 §6.1), if any.
	JKT string `json:"jkt,omitempty"`
	// Issuer is the external issuer that opened the session by exchange, if any.
	Issuer string `json:"issuer,omitempty"`
	// Facts are sticky risk facts: they never decay for the session's life.
	Facts []Fact `json:"facts,omitempty"`
	// Challenges and FailedChallenges count step-up demands in this session.
	Challenges       int `json:"challenges,omitempty"`
	FailedChallenges int `json:"failed_challenges,omitempty"`
}

// Active reports whether s is neither terminated nor expired at now.
func (s Session) Active(now time.Time) bool {
	return s.Status == SessionActive && now.Before(s.ExpiresAt)
}

// Fact is a durable risk fact recorded on a session.
type Fact struct {
	Code   string    `json:"code"`
	Points int       `json:"points"`
	At     time.Time `json:"at"`
	Detail string    `json:"detail,omitempty"`
}

// SessionFilter selects sessions; zero fields match everything.
type SessionFilter struct {
	ClientID string
	Status   string
	// CreatedFrom and CreatedTo bound CreatedAt, both inclusive; the zero
	// time leaves that end open. Backends walk their creation-time index
	// from CreatedTo down, so a bounded range costs what it returns.
	CreatedFrom time.Time
	CreatedTo   time.Time
	Limit       int // 0 means no limit
}

// MatchesCreated reports whether t is within f's creation-time range.
func (f SessionFilter) MatchesCreated(t time.Time) bool {
	return (f.CreatedFrom.IsZero() || !t.Before(f.CreatedFrom)) && (f.CreatedTo.IsZero() || !t.After(f.CreatedTo))
}

// HasCreatedRange reports whether f bounds the creation time at either end.
func (f SessionFilter) HasCreatedRange() bool {
	return !f.CreatedFrom.IsZero() || !f.CreatedTo.IsZero()
}

// Token kinds.
const (
	AccessToken  = "access_token"
	RefreshToken = "refresh_token"
)

// Token is an issued access or refresh token. The raw value is never stored:
// ID is the base64url SHA-256 of it; introspection never reveals it.
type Token struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`   // AccessToken | RefreshToken
	Format    string `json:"format"` // opaque | jwt | txn
	ClientID  string `json:"client_id"`
	Subject   string `json:"sub"`
	SessionID string `json:"sid"`
	// ParentID is the token this one was derived from (exchange subject, or
	// the refresh token whose use minted it); "" for a session's first tokens.
	ParentID string `json:"parent_id,omitempty"`
	// FamilyID groups a refresh-token family: every refresh token and access
	// token minted by one grant and its rotations.
	FamilyID  string   `json:"family_id,omitempty"`
	Scopes    []string `json:"scopes,omitempty"`
	Audiences []string `json:"audiences,omitempty"`
	// Actors is the RFC 8693 delegation chain, current actor first.
	Actors []string `json:"actors,omitempty"`
	// MayAct names who may act for Subject with this token as subject token.
	MayAct []string `json:"may_act,omitempty"`
	// JKT binds the token to a DPoP key (cnf.jkt, RFC 9449 §6).
	JKT       string    `json:"jkt,omitempty"`
	IssuedAt  time.Time `json:"iat"`
	NotBefore time.Time `json:"nbf"`
	ExpiresAt time.Time `json:"exp"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	// RotatedAt and SuccessorID record a refresh token's single use.
	RotatedAt   time.Time `json:"rotated_at,omitzero"`
	SuccessorID string    `json:"successor_id,omitempty"`
}

// Active reports whether t is unrevoked and within its validity window at now.
func (t Token) Active(now time.Time) bool {
	return t.RevokedAt.IsZero() && !now.Before(t.NotBefore) && now.Before(t.ExpiresAt)
}

// Event is one entry of a session's risk timeline.
type Event struct {
	SessionID string    `json:"sid"`
	Seq       uint64    `json:"seq"`
	At        time.Time `json:"at"`
	Type      string    `json:"type"` // token, exchange, refresh, introspect, revoke, signal, …
	ClientID  string    `json:"client_id,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	Score     int       `json:"score"`
	Level     string    `json:"level,omitempty"`
	Action    string    `json:"action,omitempty"`
	Reasons   []Reason  `json:"reasons,omitempty"`
}

// Reason explains one contribution to a risk decision.
type Reason struct {
	Code     string `json:"code"`
	Points   int    `json:"points"`
	Evidence string `json:"evidence,omitempty"`
}

// Key is a signing key. Private holds the private key encrypted under the
// key-encryption key; Public is the public JWK.
type Key struct {
	ID        string    `json:"kid"`
	Alg       string    `json:"alg"`
	Private   []byte    `json:"private"`
	Public    []byte    `json:"public"`
	CreatedAt time.Time `json:"created_at"`
	// RetiredAt is when the key stopped signing; zero while active.
	RetiredAt time.Time `json:"retired_at,omitzero"`
	// PublishUntil is when a retired key may leave the JWKS: after every
	// token it signed has expired.
	PublishUntil time.Time `json:"publish_until,omitzero"`
}

// AuditRecord is one security decision in the append-only audit log. It
// never holds a secret or a raw token.
type AuditRecord struct {
	Seq       uint64    `json:"seq"`
	At        time.Time `json:"at"`
	Type      string    `json:"type"` // issue, exchange, refresh, refuse, revoke, terminate, admin
	ClientID  string    `json:"client_id,omitempty"`
	SessionID string    `json:"sid,omitempty"`
	Outcome   string    `json:"outcome"`
	Reason    string    `json:"reason,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	// Actor names the administrator whose action this records ("" for
	// the server's own decisions).
	Actor string `json:"actor,omitempty"`
}

// AuditFilter selects audit records; zero fields match everything.
type AuditFilter struct {
	ClientID  string
	SessionID string
	Since     time.Time
	Limit     int
	// Newest lists the newest records first (descending Seq), so that a
	// Limit keeps the most recent ones; otherwise the oldest come first.
	Newest bool
}

// Duration is a time.Duration written as Go duration text ("15m") in JSON and YAML.
type Duration time.Duration

// MarshalText writes d as "1h0m0s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText parses Go duration text. Negative durations are refused,
// and so is zero: every duration of a record is a lifetime or a cap, where
// zero means nothing, and leaving the key out already means "the default"
// (or "no cap").
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q: %w", b, err)
	}
	if v < 0 {
		return fmt.Errorf("invalid duration %q: negative", b)
	}
	if v == 0 {
		return fmt.Errorf("invalid duration %q: zero is not a lifetime; leave the key out for the default", b)
	}
	*d = Duration(v)
	return nil
}

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Clone returns a deep copy of t (see [Client.Clone]).
func (t Token) Clone() Token {
	t.Scopes = cloneSlice(t.Scopes)
	t.Audiences = cloneSlice(t.Audiences)
	t.Actors = cloneSlice(t.Actors)
	t.MayAct = cloneSlice(t.MayAct)
	return t
}

// Clone returns a deep copy of s (see [Client.Clone]).
func (s Session) Clone() Session {
	s.Facts = cloneSlice(s.Facts)
	return s
}

// Clone returns a deep copy of i (see [Client.Clone]).
func (i Issuer) Clone() Issuer {
	i.JWKS = cloneSlice(i.JWKS)
	i.Algorithms = cloneSlice(i.Algorithms)
	i.Subjects = cloneSlice(i.Subjects)
	i.Scopes = cloneSlice(i.Scopes)
	i.Audiences = cloneSlice(i.Audiences)
	if i.SSF != nil {
		s := *i.SSF
		s.Events = cloneSlice(s.Events)
		i.SSF = &s
	}
	return i
}

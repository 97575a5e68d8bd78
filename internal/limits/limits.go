// Package limits is the one source of the protocol limits Vigil enforces and
// documents: how far ahead a client assertion may expire, the clock skew it
// allows, the default lifetimes and their bounds, the risk engine's default
// lifetime caps, and the sizes of what it reads. The code
// uses these values, and docs/LIMITS.md and the README's summary are
// generated from [Table], so the documentation cannot drift from behaviour.
package limits

import (
	"fmt"
	"strings"
	"time"
)

// Client assertions (RFC 7523 private_key_jwt).
const (
	// AssertionLifetime is how far ahead of now a client assertion's exp may be.
	AssertionLifetime = 5 * time.Minute
	// CompatAssertionLifetime is the most a client's assertion_compat may
	// allow instead of AssertionLifetime.
	CompatAssertionLifetime = time.Hour
	// ClockLeeway is the clock skew allowed on the exp, nbf and iat of client
	// assertions and of external subject tokens.
	ClockLeeway = 30 * time.Second
	// AssertionSize bounds a client assertion, in bytes, before any parsing.
	AssertionSize = 8 << 10
)

// DPoP proofs (RFC 9449).
const (
	// DPoPProofAge is how far in the past a proof's iat may be.
	DPoPProofAge = 60 * time.Second
	// DPoPProofFuture is how far in the future a proof's iat may be.
	DPoPProofFuture = 15 * time.Second
	// DPoPNonceWindow is how long one server nonce is current; the previous
	// window's nonce is still accepted.
	DPoPNonceWindow = 5 * time.Minute
)

// Default token lifetimes; a client's or resource's registration may shorten them.
const (
	AccessTokenTTL  = 15 * time.Minute
	RefreshTokenTTL = 24 * time.Hour
	ExchangeTTL     = 5 * time.Minute
	RefreshGrace    = 10 * time.Second
)

// Bounds on the lifetimes a registration or setting may ask for.
const (
	// MaxAccessTokenTTL bounds a client's access_token_ttl and exchange_ttl.
	MaxAccessTokenTTL = 24 * time.Hour
	// MaxRefreshTokenTTL bounds a client's refresh_token_ttl and a resource's max_ttl.
	MaxRefreshTokenTTL = 90 * 24 * time.Hour
	// MaxRefreshGrace bounds the refresh_grace setting.
	MaxRefreshGrace = 5 * time.Minute
	// MaxInitialTokenTTL bounds the life of an initial access token for
	// dynamic client registration.
	MaxInitialTokenTTL = 30 * 24 * time.Hour
)

// Default caps the risk engine puts on the lifetime of tokens issued while
// a session's risk level is raised, or after it touched a sensitive
// resource (the policy's ttl section may change them).
const (
	RiskLowTTL       = 15 * time.Minute
	RiskMediumTTL    = 5 * time.Minute
	RiskHighTTL      = time.Minute
	RiskSensitiveTTL = 5 * time.Minute
)

// Sizes of untrusted input, in bytes (or counts where named).
const (
	TokenSize          = 16 << 10  // a presented token or external subject JWT
	FormBody           = 64 << 10  // an OAuth endpoint's form body
	FormFields         = 64        // parameters in one form, repeats included
	FormValue          = 16 << 10  // one form parameter's value
	AdminBody          = 64 << 10  // an admin API request body
	HeaderBytes        = 16 << 10  // request headers
	JWKSDocument       = 256 << 10 // a fetched JWK Set
	RegistrationBody   = 64 << 10  // a dynamic client registration request
	StatementSize      = 16 << 10  // a software statement
	SecretMinLength    = 16        // the shortest VIGIL_SECRET accepted, in bytes
	DataCacheMiB       = 256       // default data_cache_mib: the bolt file's pages kept in the page cache
	MaxChainDepth      = 3         // default longest RFC 8693 actor chain
	MaxChainDepthLimit = 10        // the most max_chain_depth may be set to
)

// Limit is one documented limit.
type Limit struct {
	Name  string // what is limited
	Value string // the value as documented
	Doc   string // what happens at the limit
}

// Table lists every documented limit, in the order docs/LIMITS.md shows them.
func Table() []Limit {
	return []Limit{
		{"client assertion `exp`", dur(AssertionLifetime) + " ahead at most",
			"a later `exp` is refused with `invalid_client` (`assertion_compat.max_lifetime` may raise it per client, to " + dur(CompatAssertionLifetime) + " at most)"},
		{"client assertion `aud`", "the issuer, exactly, one value",
			"anything else is refused (`assertion_compat.token_endpoint_audience` also accepts the token endpoint URL per client)"},
		{"clock leeway", dur(ClockLeeway),
			"skew allowed on `nbf` and `iat` of client assertions, software statements and external subject tokens, and on the `exp` of client assertions and software statements; none on an external subject token's `exp` (an expired subject is refused)"},
		{"client assertion size", size(AssertionSize), "a larger one is refused before parsing"},
		{"DPoP proof `iat`", fmt.Sprintf("%s old, %s ahead at most", dur(DPoPProofAge), dur(DPoPProofFuture)),
			"an older or later proof is refused (`invalid_dpop_proof`); each proof's `jti` is single use"},
		{"DPoP server nonce", dur(DPoPNonceWindow), fmt.Sprintf("a nonce is current for %s and still accepted for the %s after (`dpop_nonce`)", dur(DPoPNonceWindow), dur(DPoPNonceWindow))},
		{"access token lifetime", dur(AccessTokenTTL),
			"default (`access_token_ttl`); the setting and a client's own are at most " + dur(MaxAccessTokenTTL)},
		{"refresh token lifetime", dur(RefreshTokenTTL),
			"default (`refresh_token_ttl`); the setting, a client's own and a resource's `max_ttl` are at most " + dur(MaxRefreshTokenTTL)},
		{"exchanged token lifetime", dur(ExchangeTTL),
			"default per tool call (`exchange_ttl`, at most " + dur(MaxAccessTokenTTL) + "), never longer than the subject's remaining life or the resource's `max_ttl`"},
		{"refresh grace", dur(RefreshGrace),
			"default (`refresh_grace`, at most " + dur(MaxRefreshGrace) + "): a rotated refresh token presented again within it is a lost response, not theft"},
		{"lifetime at raised risk", fmt.Sprintf("%s (low), %s (medium), %s (high)", dur(RiskLowTTL), dur(RiskMediumTTL), dur(RiskHighTTL)),
			"at most, for tokens issued while the session's risk level is raised (policy `ttl.low`, `ttl.medium`, `ttl.high`)"},
		{"lifetime after sensitive work", dur(RiskSensitiveTTL),
			"at most, for every token of a session (and derived from it) once it touched a sensitive resource, with no refresh (policy `ttl.sensitive`)"},
		{"actor chain depth", fmt.Sprint(MaxChainDepth), fmt.Sprintf("default (`max_chain_depth`, at most %d; 0 allows no delegation)", MaxChainDepthLimit)},
		{"presented token size", size(TokenSize), "a longer token is refused before any JOSE parsing"},
		{"OAuth form body", size(FormBody), fmt.Sprintf("at most %d parameters, each value at most %s; more is `invalid_request`", FormFields, size(FormValue))},
		{"admin request body", size(AdminBody), "a larger body is refused with 413"},
		{"request headers", size(HeaderBytes), "larger headers are refused with 431"},
		{"`VIGIL_SECRET`", fmt.Sprintf("%d bytes at least", SecretMinLength),
			"a shorter secret is refused at start (the key-encryption key is derived from it with HKDF-SHA256)"},
		{"data file page cache", fmt.Sprintf("%d MiB", DataCacheMiB),
			"default (`data_cache_mib`; 0 leaves it to the kernel): beyond it, the bolt data file's cached pages are handed back to the kernel and read from the file again when needed (Linux 5.4 or later)"},
		{"fetched JWK Set", size(JWKSDocument), "a larger `jwks_uri` document is refused (also at registration)"},
		{"initial access token lifetime", dur(MaxInitialTokenTTL) + " at most",
			"`expires_in` of `POST /admin/initial-access-tokens` is required, positive and at most this"},
		{"registration request", size(RegistrationBody),
			fmt.Sprintf("a larger RFC 7591/7592 body is `invalid_client_metadata`; a software statement at most %s", size(StatementSize))},
	}
}

// Markdown renders [Table] as a Markdown table.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| limit | value | at the limit |\n|---|---|---|\n")
	for _, l := range Table() {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", l.Name, l.Value, l.Doc)
	}
	return b.String()
}

func dur(d time.Duration) string {
	switch {
	case d > 24*time.Hour && d%(24*time.Hour) == 0:
		return plural(int(d/(24*time.Hour)), "day")
	case d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	case d%time.Minute == 0:
		return plural(int(d/time.Minute), "minute")
	}
	return plural(int(d/time.Second), "second")
}

func size(n int) string {
	if n%(1<<10) == 0 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

package storage

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/vigil-auth/vigil/internal/limits"
)

// Limits enforced by the Validate methods.
const (
	// MaxIDLength is the longest client ID.
	MaxIDLength = 128
	// MaxNameLength is the longest audience, scope, purpose, tenant or issuer.
	MaxNameLength = 512
	// MaxAccessTokenTTL bounds access and exchanged token lifetimes.
	MaxAccessTokenTTL = limits.MaxAccessTokenTTL
	// MaxRefreshTokenTTL bounds refresh token lifetimes.
	MaxRefreshTokenTTL = limits.MaxRefreshTokenTTL
	// MaxCompatAssertionLifetime bounds a client's assertion_compat.max_lifetime.
	MaxCompatAssertionLifetime = limits.CompatAssertionLifetime
)

// Kinds lists every client kind, in the order they are documented.
var Kinds = []string{KindAgent, KindService, KindWorkload, KindJob, KindResourceServer}

// Tactics lists the values Resource.Tactic may take besides "".
var Tactics = []string{"discovery", "collection", "credential_access", "persistence", "defense_evasion", "exfiltration", "impact"}

// GrantTypes lists the grant types a client may be registered for.
var GrantTypes = []string{
	"client_credentials",
	"refresh_token",
	"urn:ietf:params:oauth:grant-type:token-exchange",
}

// TokenFormats lists the access token formats; "" means opaque.
var TokenFormats = []string{"opaque", "jwt"}

// reservedIDs are client IDs that could be mistaken for a person, an
// operator or the server itself (compared case-insensitively).
var reservedIDs = []string{"admin", "administrator", "root", "system", "vigil", "anonymous", "none", "null", "nobody", "operator"}

// jwksAlgs are the signature algorithms an external issuer may use.
var jwksAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// privateJWKMembers are JWK members that only private or symmetric keys carry.
var privateJWKMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// problems collects validation errors, each prefixed with the field it is about.
type problems []error

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
}

func (p *problems) addErr(field string, err error) {
	if err != nil {
		*p = append(*p, fmt.Errorf("%s: %w", field, err))
	}
}

// Validate reports every problem with c, joined with errors.Join (nil when
// c is valid). It checks the record alone; whether the audiences or
// clients it names exist is for the caller to decide.
//
// A resource_server must list the audiences it may introspect and holds no
// grant types, scopes or audiences; any other kind needs exactly one way to
// authenticate: a secret hash, or a public JWK Set (inline or by https URL).
func (c Client) Validate() error {
	var p problems
	p.addErr("id", ValidateClientID(c.ID))
	if !slices.Contains(Kinds, c.Kind) {
		p.add("kind", "%q is not one of %s", c.Kind, strings.Join(Kinds, ", "))
	}
	c.validateCredentials(&p)
	c.validateGrants(&p)
	c.validateNames(&p)
	c.validateLimits(&p)
	return errors.Join(p...)
}

func (c Client) validateCredentials(p *problems) {
	if len(c.JWKS) > 0 {
		p.addErr("jwks", ValidateJWKS(c.JWKS))
	}
	if c.JWKSURI != "" {
		p.addErr("jwks_uri", validateHTTPSURL(c.JWKSURI))
	}
	methods := 0
	for _, set := range []bool{c.SecretHash != "", len(c.JWKS) > 0, c.JWKSURI != ""} {
		if set {
			methods++
		}
	}
	switch {
	case methods > 1:
		p.add("credentials", "give one of secret, jwks or jwks_uri, not several")
	case methods == 0 && c.Kind != KindResourceServer:
		p.add("credentials", "a %s client needs a secret, jwks or jwks_uri", c.Kind)
	}
}

func (c Client) validateGrants(p *problems) {
	for _, g := range c.GrantTypes {
		if !slices.Contains(GrantTypes, g) {
			p.add("grant_types", "%q is not one of %s", g, strings.Join(GrantTypes, ", "))
		}
	}
	if c.TokenFormat != "" && !slices.Contains(TokenFormats, c.TokenFormat) {
		p.add("token_format", "%q is not one of %s", c.TokenFormat, strings.Join(TokenFormats, ", "))
	}
	if c.Kind == KindResourceServer {
		if len(c.Introspect) == 0 {
			p.add("introspect", "a resource_server must list the audiences it may introspect")
		}
		if len(c.GrantTypes) > 0 || len(c.Scopes) > 0 || len(c.Audiences) > 0 {
			p.add("grant_types", "a resource_server only introspects: no grant_types, scopes or audiences")
		}
		return
	}
	if len(c.Introspect) > 0 {
		p.add("introspect", "only a resource_server may introspect")
	}
}

func (c Client) validateNames(p *problems) {
	p.addErr("scopes", eachOf(c.Scopes, ValidateScope))
	p.addErr("audiences", eachOf(c.Audiences, ValidateAudience))
	p.addErr("introspect", eachOf(c.Introspect, ValidateAudience))
	p.addErr("may_act", eachOf(c.MayAct, ValidateClientID))
	p.addErr("purposes", eachOf(c.Purposes, validateText))
	p.addErr("networks", eachOf(c.Networks, validateCIDR))
	if c.Schedule != nil {
		p.addErr("schedule", c.Schedule.Validate())
	}
}

func (c Client) validateLimits(p *problems) {
	p.addErr("access_token_ttl", validateTTL(c.AccessTokenTTL, MaxAccessTokenTTL))
	p.addErr("exchange_ttl", validateTTL(c.ExchangeTTL, MaxAccessTokenTTL))
	p.addErr("refresh_token_ttl", validateTTL(c.RefreshTokenTTL, MaxRefreshTokenTTL))
	if c.AssertionCompat != nil {
		if c.Kind == KindResourceServer || (len(c.JWKS) == 0 && c.JWKSURI == "") {
			p.add("assertion_compat", "applies only to a client that authenticates with private_key_jwt (jwks or jwks_uri)")
		}
		p.addErr("assertion_compat.max_lifetime", validateTTL(c.AssertionCompat.MaxLifetime, MaxCompatAssertionLifetime))
	}
}

// Validate reports every problem with r, joined with errors.Join.
func (r Resource) Validate() error {
	var p problems
	p.addErr("audience", ValidateAudience(r.Audience))
	if r.Sensitivity < 1 || r.Sensitivity > 4 {
		p.add("sensitivity", "%d is not in 1..4", r.Sensitivity)
	}
	if r.Tenant != "" {
		p.addErr("tenant", validateText(r.Tenant))
	}
	if r.Tactic != "" && !slices.Contains(Tactics, r.Tactic) {
		p.add("tactic", "%q is not one of %s", r.Tactic, strings.Join(Tactics, ", "))
	}
	p.addErr("max_ttl", validateTTL(r.MaxTTL, MaxRefreshTokenTTL))
	return errors.Join(p...)
}

// Validate reports every problem with i, joined with errors.Join. An
// external issuer needs an https issuer URL, exactly one of jwks and
// jwks_uri, the audience its tokens must carry, and at least one subject
// mapping.
func (i Issuer) Validate() error {
	var p problems
	p.addErr("issuer", validateHTTPSURL(i.Issuer))
	if len(i.JWKS) > 0 {
		p.addErr("jwks", ValidateJWKS(i.JWKS))
	}
	if i.JWKSURI != "" {
		p.addErr("jwks_uri", validateHTTPSURL(i.JWKSURI))
	}
	if (len(i.JWKS) > 0) == (i.JWKSURI != "") {
		p.add("credentials", "give exactly one of jwks or jwks_uri")
	}
	for _, a := range i.Algorithms {
		if !slices.Contains(jwksAlgs, a) {
			p.add("algorithms", "%q is not one of %s", a, strings.Join(jwksAlgs, ", "))
		}
	}
	p.addErr("audience", ValidateAudience(i.Audience))
	if len(i.Subjects) == 0 {
		p.add("subjects", "at least one subject mapping is required")
	}
	for n, m := range i.Subjects {
		p.addErr(fmt.Sprintf("subjects[%d]", n), m.validate())
	}
	p.addErr("scopes", eachOf(i.Scopes, ValidateScope))
	p.addErr("audiences", eachOf(i.Audiences, ValidateAudience))
	if i.SSF != nil {
		p.addErr("ssf", i.SSF.validate())
	}
	return errors.Join(p...)
}

func (s IssuerSSF) validate() error {
	var p problems
	if s.Audience != "" {
		p.addErr("audience", ValidateAudience(s.Audience))
	}
	for _, e := range s.Events {
		if u, err := url.Parse(e); err != nil || u.Scheme == "" {
			p.add("events", "%q is not an event type URI", e)
		}
	}
	if s.PushAuthorization != "" && (len(s.PushAuthorization) > 4096 || strings.ContainsAny(s.PushAuthorization, "\r\n")) {
		p.add("push_authorization", "must be one header value of at most 4096 bytes")
	}
	if s.PollURL != "" {
		p.addErr("poll_url", validateHTTPSURL(s.PollURL))
	}
	if s.PollInterval != 0 && s.PollInterval.D() < time.Second {
		p.add("poll_interval", "must be at least 1s")
	}
	if s.MaxAge != 0 && s.MaxAge.D() < time.Minute {
		p.add("max_age", "must be at least 1m")
	}
	return errors.Join(p...)
}

func (m SubjectMapping) validate() error {
	var p problems
	if err := validateText(m.Subject); err != nil {
		p.addErr("subject", err)
	} else if i := strings.IndexByte(m.Subject, '*'); i >= 0 && i != len(m.Subject)-1 {
		p.add("subject", "%q: '*' may only end a prefix", m.Subject)
	}
	p.addErr("client_id", ValidateClientID(m.ClientID))
	return errors.Join(p...)
}

// ValidateClientID reports whether id is a usable client ID: 1 to
// MaxIDLength characters from [A-Za-z0-9._-], starting with a letter or
// digit, and not a reserved name. The charset excludes ':', '/' and '@', so
// a client ID can never equal a URL, an email address or an external
// workload subject such as "system:serviceaccount:ns:name".
func ValidateClientID(id string) error {
	switch {
	case id == "":
		return errors.New("must not be empty")
	case len(id) > MaxIDLength:
		return fmt.Errorf("longer than %d characters", MaxIDLength)
	case !isAlnum(rune(id[0])):
		return fmt.Errorf("%q must start with a letter or digit", id)
	case strings.IndexFunc(id, func(r rune) bool { return !isAlnum(r) && !strings.ContainsRune("._-", r) }) >= 0:
		return fmt.Errorf("%q may only contain letters, digits, '.', '_' and '-'", id)
	case slices.Contains(reservedIDs, strings.ToLower(id)):
		return fmt.Errorf("%q is a reserved name", id)
	}
	return nil
}

// ValidateAudience reports whether a is a usable audience: a non-empty
// string of at most MaxNameLength printable characters with no whitespace.
// Audiences may be URLs ("https://tickets.example") or plain names ("kb-api").
func ValidateAudience(a string) error {
	if err := validateText(a); err != nil {
		return err
	}
	if strings.IndexFunc(a, unicode.IsSpace) >= 0 {
		return fmt.Errorf("%q must not contain spaces", a)
	}
	return nil
}

// ValidateScope reports whether s is a scope token (RFC 6749 §3.3): one or
// more of %x21 / %x23-5B / %x5D-7E, at most MaxNameLength long.
func ValidateScope(s string) error {
	switch {
	case s == "":
		return errors.New("empty scope")
	case len(s) > MaxNameLength:
		return fmt.Errorf("scope longer than %d characters", MaxNameLength)
	}
	for _, r := range s {
		if r < 0x21 || r > 0x7e || r == '"' || r == '\\' {
			return fmt.Errorf("%q is not a scope token (no spaces, quotes or backslashes)", s)
		}
	}
	return nil
}

func isAlnum(r rune) bool {
	return r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// validateText accepts a non-empty string of at most MaxNameLength
// characters with no control characters.
func validateText(s string) error {
	switch {
	case s == "":
		return errors.New("must not be empty")
	case len(s) > MaxNameLength:
		return fmt.Errorf("longer than %d characters", MaxNameLength)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return fmt.Errorf("%q contains control characters", s)
	}
	return nil
}

// eachOf applies check to every element of list, and refuses duplicates.
func eachOf(list []string, check func(string) error) error {
	var errs []error
	for n, v := range list {
		if err := check(v); err != nil {
			errs = append(errs, err)
		} else if slices.Contains(list[:n], v) {
			errs = append(errs, fmt.Errorf("%q is listed twice", v))
		}
	}
	return errors.Join(errs...)
}

func validateCIDR(s string) error {
	if _, err := netip.ParsePrefix(s); err != nil {
		return fmt.Errorf("%q is not a CIDR prefix such as 10.1.0.0/16", s)
	}
	return nil
}

func validateTTL(d Duration, maxTTL time.Duration) error {
	switch {
	case d < 0:
		return fmt.Errorf("%s is negative", d.D())
	case d.D() > maxTTL:
		return fmt.Errorf("%s exceeds the maximum %s", d.D(), maxTTL)
	}
	return nil
}

// validateHTTPSURL accepts an absolute https URL, or an http URL on the
// loopback interface (for development), with no user info or fragment.
func validateHTTPSURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	switch {
	case u.Host == "":
		return fmt.Errorf("%q is not an absolute URL", s)
	case u.User != nil || u.Fragment != "":
		return fmt.Errorf("%q must not carry user info or a fragment", s)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%q must use https (http only for 127.0.0.1 or localhost)", s)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// WithDefaults returns c with the documented defaults filled in:
// token_format "opaque", and grant_types [client_credentials] for every
// kind but resource_server.
func (c Client) WithDefaults() Client {
	if c.TokenFormat == "" {
		c.TokenFormat = "opaque"
	}
	if c.Kind != KindResourceServer && len(c.GrantTypes) == 0 {
		c.GrantTypes = []string{"client_credentials"}
	}
	return c
}

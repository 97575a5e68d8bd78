package register

import (
	"encoding/json"
	"slices"
	"strings"
	"unicode"

	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/storage"
)

// Metadata is client metadata as RFC 7591 §2 names it, with RFC 9449
// §5.2's dpop_bound_access_tokens and Vigil's own members: the client's
// kind, the audiences it wants tokens for, and the declarations the risk
// engine trusts over what it learns (networks, schedule, purposes).
type Metadata struct {
	RedirectURIs            []string          `json:"redirect_uris,omitempty"`
	ResponseTypes           []string          `json:"response_types,omitempty"`
	TokenEndpointAuthMethod string            `json:"token_endpoint_auth_method,omitempty"`
	GrantTypes              []string          `json:"grant_types,omitempty"`
	Scope                   string            `json:"scope,omitempty"`
	ClientName              string            `json:"client_name,omitempty"`
	ClientURI               string            `json:"client_uri,omitempty"`
	LogoURI                 string            `json:"logo_uri,omitempty"`
	TOSURI                  string            `json:"tos_uri,omitempty"`
	PolicyURI               string            `json:"policy_uri,omitempty"`
	Contacts                []string          `json:"contacts,omitempty"`
	JWKSURI                 string            `json:"jwks_uri,omitempty"`
	JWKS                    json.RawMessage   `json:"jwks,omitempty"`
	SoftwareID              string            `json:"software_id,omitempty"`
	SoftwareVersion         string            `json:"software_version,omitempty"`
	DPoPBoundAccessTokens   bool              `json:"dpop_bound_access_tokens,omitempty"`
	Kind                    string            `json:"kind,omitempty"`
	Audiences               []string          `json:"audiences,omitempty"`
	Networks                []string          `json:"networks,omitempty"`
	Schedule                *storage.Schedule `json:"schedule,omitempty"`
	Purposes                []string          `json:"purposes,omitempty"`
}

// request is a registration (RFC 7591 §3.1) or update (RFC 7592 §2.2) body.
type request struct {
	Metadata
	SoftwareStatement string `json:"software_statement,omitempty"`
	// Members only an update may carry (client_id, client_secret) or none may.
	ClientID                string `json:"client_id,omitempty"`
	ClientSecret            string `json:"client_secret,omitempty"`
	RegistrationAccessToken string `json:"registration_access_token,omitempty"`
	RegistrationClientURI   string `json:"registration_client_uri,omitempty"`
	ClientIDIssuedAt        *int64 `json:"client_id_issued_at,omitempty"`
	ClientSecretExpiresAt   *int64 `json:"client_secret_expires_at,omitempty"`
}

// Response is the client information response (RFC 7591 §3.2.1, RFC 7592 §3).
type Response struct {
	// RedirectURIs is always empty: Vigil registers no redirection URIs.
	// It is sent nonetheless, as registered metadata, because clients such
	// as the official MCP TypeScript SDK require the member in a
	// registration response.
	RedirectURIs            []string `json:"redirect_uris"`
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret,omitempty"`
	ClientIDIssuedAt        int64    `json:"client_id_issued_at"`
	ClientSecretExpiresAt   *int64   `json:"client_secret_expires_at,omitempty"`
	RegistrationAccessToken string   `json:"registration_access_token,omitempty"`
	RegistrationClientURI   string   `json:"registration_client_uri"`
	Metadata
}

// bounds is what a registration may grant: the policy, narrowed by the
// initial access token.
type bounds struct {
	kinds, grants, scopes, audiences, methods []string
}

func (h *Handler) bounds(t *storage.InitialAccessToken) bounds {
	b := bounds{kinds: h.p.Kinds, grants: h.p.GrantTypes, scopes: h.p.Scopes, audiences: h.p.Audiences,
		methods: h.p.AuthMethods}
	if t == nil {
		return b
	}
	narrow := func(all, to []string) []string {
		if len(to) == 0 {
			return all
		}
		out := []string{}
		for _, v := range all {
			if slices.Contains(to, v) {
				out = append(out, v)
			}
		}
		return out
	}
	return bounds{kinds: narrow(b.kinds, t.Kinds), grants: narrow(b.grants, t.GrantTypes),
		scopes: narrow(b.scopes, t.Scopes), audiences: narrow(b.audiences, t.Audiences),
		methods: narrow(b.methods, t.AuthMethods)}
}

// maxText bounds every descriptive member.
const maxText = 512

// resolve checks m against b, fills in the defaults, and returns the
// metadata as registered.
func (b bounds) resolve(m Metadata) (Metadata, *oauth.Error) {
	if len(m.RedirectURIs) > 0 {
		return m, oauth.Errorf(InvalidRedirectURI,
			"redirect_uris are not accepted: Vigil has no authorization endpoint, clients use client_credentials and token exchange")
	}
	if len(m.ResponseTypes) > 0 {
		return m, metadataErr("response_types are not accepted: Vigil has no authorization endpoint")
	}
	if err := checkText(m); err != nil {
		return m, err
	}
	if m.Kind == "" && len(b.kinds) > 0 {
		m.Kind = b.kinds[0]
	}
	if len(m.GrantTypes) == 0 {
		m.GrantTypes = []string{oauth.GrantClientCredentials}
	}
	if m.TokenEndpointAuthMethod == "" {
		m.TokenEndpointAuthMethod = "client_secret_basic"
		if len(m.JWKS) > 0 || m.JWKSURI != "" {
			m.TokenEndpointAuthMethod = "private_key_jwt"
		}
	}
	scopes := strings.Fields(m.Scope)
	if len(scopes) == 0 {
		scopes = b.scopes
	}
	m.Scope = strings.Join(scopes, " ")
	if len(m.Audiences) == 0 {
		m.Audiences = b.audiences
	}
	for _, c := range []struct {
		member string
		got    []string
		allow  []string
	}{
		{"kind", []string{m.Kind}, b.kinds},
		{"grant_types", m.GrantTypes, b.grants},
		{"token_endpoint_auth_method", []string{m.TokenEndpointAuthMethod}, b.methods},
		{"scope", scopes, b.scopes},
		{"audiences", m.Audiences, b.audiences},
	} {
		for _, v := range c.got {
			if !slices.Contains(c.allow, v) {
				return m, metadataErr("%s %q is not allowed; allowed: %s", c.member, v, strings.Join(c.allow, " "))
			}
		}
	}
	return m, checkKeys(m)
}

// checkKeys: private_key_jwt needs exactly one of jwks and jwks_uri; the
// secret methods need neither.
func checkKeys(m Metadata) *oauth.Error {
	keyed := len(m.JWKS) > 0 || m.JWKSURI != ""
	switch {
	case m.TokenEndpointAuthMethod == "private_key_jwt" && len(m.JWKS) > 0 && m.JWKSURI != "":
		return metadataErr("give jwks or jwks_uri, not both (RFC 7591 §2)")
	case m.TokenEndpointAuthMethod == "private_key_jwt" && !keyed:
		return metadataErr("private_key_jwt needs jwks or jwks_uri")
	case m.TokenEndpointAuthMethod != "private_key_jwt" && keyed:
		return metadataErr("jwks and jwks_uri are only for private_key_jwt")
	}
	return nil
}

// checkText bounds the descriptive members: printable text of at most
// maxText characters, no more than 10 contacts.
func checkText(m Metadata) *oauth.Error {
	fields := map[string]string{"client_name": m.ClientName, "client_uri": m.ClientURI, "logo_uri": m.LogoURI,
		"tos_uri": m.TOSURI, "policy_uri": m.PolicyURI, "software_id": m.SoftwareID,
		"software_version": m.SoftwareVersion}
	if len(m.Contacts) > 10 {
		return metadataErr("at most 10 contacts")
	}
	for i, c := range m.Contacts {
		fields["contacts["+string(rune('0'+i))+"]"] = c
	}
	for name, v := range fields {
		if len(v) > maxText || strings.IndexFunc(v, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
			return metadataErr("%s must be printable text of at most %d characters", name, maxText)
		}
	}
	return nil
}

// newClient builds the client record for registered metadata m.
func newClient(id string, m Metadata) storage.Client {
	c := storage.Client{ID: id, Kind: m.Kind, GrantTypes: m.GrantTypes, Scopes: strings.Fields(m.Scope),
		Audiences: m.Audiences, JWKSURI: m.JWKSURI, DPoP: m.DPoPBoundAccessTokens, Networks: m.Networks,
		Schedule: m.Schedule, Purposes: m.Purposes}
	if len(m.JWKS) > 0 {
		c.JWKS = m.JWKS
	}
	return c.WithDefaults()
}

// describe is the client information of c as registered with reg: the
// record's current grants, scopes, audiences and keys (an admin may have
// changed them), the rest from the registered metadata.
func describe(c storage.Client, m Metadata) Metadata {
	m.Kind, m.GrantTypes, m.Scope, m.Audiences = c.Kind, c.GrantTypes, strings.Join(c.Scopes, " "), c.Audiences
	m.JWKS, m.JWKSURI, m.DPoPBoundAccessTokens = c.JWKS, c.JWKSURI, c.DPoP
	m.Networks, m.Schedule, m.Purposes = c.Networks, c.Schedule, c.Purposes
	return m
}

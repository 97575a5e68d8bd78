package server

import (
	"encoding/json"
	"net/http"

	"github.com/vigil-auth/vigil/authz"
	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/keys"
)

// Endpoint paths, below the issuer.
const (
	PathToken      = "/oauth2/token"
	PathIntrospect = "/oauth2/introspect"
	PathRevoke     = "/oauth2/revoke"
	// PathRevalidate is Vigil's step-up endpoint for non-human clients.
	PathRevalidate = "/oauth2/revalidate"
	PathMetadata   = "/.well-known/oauth-authorization-server"
	PathJWKS       = "/.well-known/jwks.json"
)

// metadata serves RFC 8414 authorization server metadata.
func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	iss := s.cfg.Issuer
	m := map[string]any{
		"issuer":                                iss,
		"token_endpoint":                        iss + PathToken,
		"introspection_endpoint":                iss + PathIntrospect,
		"revocation_endpoint":                   iss + PathRevoke,
		"jwks_uri":                              iss + PathJWKS,
		"revalidation_endpoint":                 iss + PathRevalidate,
		"grant_types_supported":                 authz.GrantTypes,
		"response_types_supported":              []string{},
		"token_endpoint_auth_methods_supported": authz.AuthMethods,
		"token_endpoint_auth_signing_alg_values_supported":         assertionAlgs,
		"introspection_endpoint_auth_methods_supported":            authz.AuthMethods,
		"introspection_endpoint_auth_signing_alg_values_supported": assertionAlgs,
		"revocation_endpoint_auth_methods_supported":               authz.AuthMethods,
		"revocation_endpoint_auth_signing_alg_values_supported":    assertionAlgs,
		"introspection_signing_alg_values_supported":               s.d.Keys.SigningAlgs(),
		"scopes_supported":      s.scopes(r),
		"token_types_supported": []string{oauth.TokenTypeAccessToken, oauth.TokenTypeJWT, oauth.TokenTypeTxnToken},
		"service_documentation": "https://github.com/vigil-auth/vigil",
	}
	// MCP clients (the official SDKs) refuse an authorization server whose
	// metadata lacks an authorization endpoint or PKCE, even for client
	// credentials. Vigil's authorization endpoint supports no response type
	// (response_types_supported is empty) and refuses every request, so no
	// flow of it can use PKCE: the members promise nothing and are there
	// for those clients.
	m["authorization_endpoint"] = iss + PathAuthorize
	m["code_challenge_methods_supported"] = []string{"S256"}
	if s.registrationEndpoint != "" {
		m["registration_endpoint"] = s.registrationEndpoint
	}
	if s.authz.DPoPEnabled() {
		m["dpop_signing_alg_values_supported"] = keys.DPoPAlgs
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, m)
}

// scopes lists every scope some client is registered for.
func (s *Server) scopes(r *http.Request) []string {
	cs, err := s.d.Store.ListClients(r.Context())
	seen := map[string]bool{}
	out := []string{}
	if err != nil {
		return out
	}
	for _, c := range cs {
		for _, sc := range c.Scopes {
			if !seen[sc] {
				seen[sc] = true
				out = append(out, sc)
			}
		}
	}
	return out
}

// jwks serves the public signing keys (RFC 7517), retired ones included
// until every token they signed has expired.
func (s *Server) jwks(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=60")
	_, _ = w.Write(s.d.Keys.JWKS())
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

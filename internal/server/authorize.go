package server

import (
	"net/http"

	"github.com/vigil-auth/vigil/internal/oauth"
)

// PathAuthorize is the authorization endpoint (RFC 6749 §3.1). Vigil
// serves machine clients only: it supports no response type
// (response_types_supported is empty), so every request is refused.
const PathAuthorize = "/oauth2/authorize"

// authorize refuses every authorization request with
// unsupported_response_type, directly and never by redirect: no client
// has a redirect URI to send it to (RFC 6749 §4.1.2.1). The endpoint
// exists because MCP clients (the official TypeScript SDK) refuse
// authorization server metadata without authorization_endpoint, even for
// client credentials.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	oauth.WriteError(w, r, s.d.Log, oauth.Errorf("unsupported_response_type",
		"Vigil serves machine clients and supports no response type: use client_credentials or token exchange at %s", s.cfg.Issuer+PathToken))
}

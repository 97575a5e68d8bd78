package rs

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/vigil-auth/vigil/keys"
)

// WellKnownPath is where RFC 9728 §3 puts protected resource metadata:
// inserted between the resource's host and its path.
const WellKnownPath = "/.well-known/oauth-protected-resource"

// ResourceMetadata is the RFC 9728 §2 metadata of the resource a
// Middleware protects. Resource is required; the rest is optional.
type ResourceMetadata struct {
	// Resource is the protected resource's identifier: its own https (or,
	// for local development, http) URL, as clients call it, with no
	// fragment (RFC 9728 §2, RFC 8707 §2). Clients check that it equals the
	// URL they asked for (RFC 9728 §3.3), and ask Vigil for tokens whose
	// audience it is.
	Resource string `json:"resource"`
	// AuthorizationServers are the issuers clients get tokens from; empty
	// means Config.Issuer.
	AuthorizationServers []string `json:"authorization_servers,omitempty"`
	// ScopesSupported are the scopes the resource understands.
	ScopesSupported []string `json:"scopes_supported,omitempty"`
	// BearerMethodsSupported is always ["header"]: tokens are read from the
	// Authorization header only (RFC 6750 §2.1).
	BearerMethodsSupported []string `json:"bearer_methods_supported,omitempty"`
	// DPoPSigningAlgValuesSupported lists the DPoP proof algorithms the
	// middleware verifies (RFC 9449 §5.1); always set.
	DPoPSigningAlgValuesSupported []string `json:"dpop_signing_alg_values_supported,omitempty"`
	// DPoPBoundAccessTokensRequired says only DPoP-bound tokens are accepted.
	DPoPBoundAccessTokensRequired bool `json:"dpop_bound_access_tokens_required,omitempty"`
	// ResourceName is a human-readable name.
	ResourceName string `json:"resource_name,omitempty"`
	// ResourceDocumentation is a URL of human-readable documentation.
	ResourceDocumentation string `json:"resource_documentation,omitempty"`
}

// MetadataURL returns where md is served: RFC 9728 §3.1's well-known URL
// for md.Resource, the well-known path inserted between the host and the
// resource's path and query (a trailing slash removed).
func (md ResourceMetadata) MetadataURL() string {
	u, err := url.Parse(md.Resource)
	if err != nil {
		return ""
	}
	rawPath := strings.TrimSuffix(u.EscapedPath(), "/")
	u.Path = WellKnownPath + strings.TrimSuffix(u.Path, "/")
	u.RawPath, u.Fragment = WellKnownPath+rawPath, ""
	return u.String()
}

// MetadataPath is the path part of MetadataURL, to mount the handler on.
func (md ResourceMetadata) MetadataPath() string {
	u, err := url.Parse(md.MetadataURL())
	if err != nil {
		return WellKnownPath
	}
	return u.Path
}

// validate checks md as RFC 9728 §2 requires.
func (md ResourceMetadata) validate() error {
	var errs []error
	if err := absoluteURL(md.Resource); err != nil {
		errs = append(errs, fmt.Errorf("resource: %w", err))
	} else if u, _ := url.Parse(md.Resource); u.Fragment != "" || strings.Contains(md.Resource, "#") {
		errs = append(errs, errors.New("resource: must not contain a fragment"))
	}
	for _, as := range md.AuthorizationServers {
		if err := absoluteURL(as); err != nil {
			errs = append(errs, fmt.Errorf("authorization server: %w", err))
		}
	}
	for _, s := range md.ScopesSupported {
		if s == "" || strings.ContainsAny(s, " \"\\") {
			errs = append(errs, fmt.Errorf("scope %q is not a valid scope token", s))
		}
	}
	return errors.Join(errs...)
}

// WithResourceMetadata publishes md (RFC 9728): [Middleware.MetadataHandler]
// serves it, and every refusal's WWW-Authenticate challenge carries
// resource_metadata, its URL (RFC 9728 §5.1), so a client that meets the
// resource for the first time can find the authorization server. Missing
// members are filled in: authorization_servers from Config.Issuer,
// bearer_methods_supported ["header"], the DPoP algorithms, and
// Config.RequiredScopes among scopes_supported. New fails if md is invalid.
func WithResourceMetadata(md ResourceMetadata) Option {
	return func(m *Middleware) { m.meta = &md }
}

// completeMetadata fills in md's defaults from cfg.
func completeMetadata(md ResourceMetadata, cfg Config) ResourceMetadata {
	if len(md.AuthorizationServers) == 0 && cfg.Issuer != "" {
		md.AuthorizationServers = []string{cfg.Issuer}
	}
	md.BearerMethodsSupported = []string{"header"}
	md.DPoPSigningAlgValuesSupported = keys.DPoPAlgs
	for _, s := range cfg.RequiredScopes {
		if !contains(md.ScopesSupported, s) {
			md.ScopesSupported = append(md.ScopesSupported, s)
		}
	}
	return md
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Metadata returns the published resource metadata; ok is false when the
// middleware was built without [WithResourceMetadata].
func (m *Middleware) Metadata() (md ResourceMetadata, ok bool) {
	if m.meta == nil {
		return ResourceMetadata{}, false
	}
	return *m.meta, true
}

// MetadataHandler serves the RFC 9728 §3.2 metadata document (GET or
// HEAD; 405 otherwise; 404 without [WithResourceMetadata]). Mount it at
// the path of [ResourceMetadata.MetadataPath]; it needs no token.
func (m *Middleware) MetadataHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.meta == nil {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_ = json.NewEncoder(w).Encode(m.meta)
	})
}

// Refuse writes e, with the resource_metadata challenge parameter when
// metadata is published. Handlers that check more per operation (a scope
// per tool) answer with it so that every refusal tells clients where to go;
// passing e.For(claims) gives a DPoP-bound token's refusal the DPoP scheme.
func (m *Middleware) Refuse(w http.ResponseWriter, e *Error) {
	m.finish(e).Write(w)
}

// finish adds resource_metadata to e's challenge (RFC 9728 §5.1) when
// metadata is published; it returns a copy and leaves e alone.
func (m *Middleware) finish(e *Error) *Error {
	if m.meta == nil || e.Status >= 500 {
		return e
	}
	out := *e
	param := "resource_metadata=" + quote(m.meta.MetadataURL())
	switch {
	case len(e.challenges) > 0:
		parts := make([]string, len(e.challenges))
		for i, c := range e.challenges {
			parts[i] = withParam(c, param)
		}
		out.Challenge = strings.Join(parts, ", ")
	case e.Challenge != "":
		out.Challenge = withParam(e.Challenge, param)
	default:
		out.Challenge = challenge(schemeBearer, e.Code, e.Description) + ", " + param
	}
	return &out
}

// withParam appends an auth-param to one challenge: "Bearer" becomes
// `Bearer p="v"`, `Bearer a="b"` becomes `Bearer a="b", p="v"`.
func withParam(ch, param string) string {
	if !strings.Contains(ch, " ") {
		return ch + " " + param
	}
	return ch + ", " + param
}

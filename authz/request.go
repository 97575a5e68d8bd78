package authz

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/vigil-auth/vigil/internal/oauth"
)

// tokenRequest is a token-endpoint request after parsing and client
// authentication: grants read it, never the raw form.
type tokenRequest struct {
	http   *http.Request
	form   url.Values
	caller caller
	grant  string
	scopes []string
	// targets are the requested audiences: RFC 8693 audience and RFC 8707 resource values.
	targets []string
	ip      netip.Addr
	tool    string
	tenant  string
	// proof is the request's verified DPoP proof, if any.
	proof *Proof
	// sid is the existing session the request acts on, once known (audit).
	sid string
	// audited is set once the request's refusal is in the audit log.
	audited bool
	// claimed are the single-use identifiers claimed for this request;
	// recorded is set once they are durable.
	claimed  []*pendingJTI
	recorded bool
}

// proofPending is the single-use record of a verified DPoP proof, or nil.
func proofPending(p *Proof) *pendingJTI {
	if p == nil {
		return nil
	}
	key, exp := proofJTI(p)
	return &pendingJTI{key: key, exp: exp, replay: errDPoP("DPoP proof was already used")}
}

func newTokenRequest(r *http.Request, form url.Values, c caller) (*tokenRequest, error) {
	targets, err := parseTargets(form)
	if err != nil {
		return nil, err
	}
	return &tokenRequest{http: r, form: form, caller: c, grant: form.Get("grant_type"),
		scopes: strings.Fields(form.Get("scope")), targets: targets, ip: RemoteIP(r),
		tool: form.Get("tool"), tenant: form.Get("tenant")}, nil
}

// parseTargets collects audience and resource values. A resource must be an
// absolute URI without a fragment (RFC 8707 §2): otherwise invalid_target.
func parseTargets(form url.Values) ([]string, error) {
	var out []string
	for _, a := range form["audience"] {
		out = append(out, strings.Fields(a)...)
	}
	for _, res := range form["resource"] {
		u, err := url.Parse(res)
		if err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(res, "#") {
			return nil, oauth.Errorf(oauth.InvalidTarget, "resource must be an absolute URI without a fragment")
		}
		out = append(out, res)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// RemoteIP returns the address of the peer that sent r (never a header a
// client could forge).
func RemoteIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// narrowScopes returns the requested scopes if they are all in allowed, all
// of allowed when none were requested, or invalid_scope.
func narrowScopes(requested, allowed []string) ([]string, error) {
	if len(requested) == 0 {
		return slices.Clone(allowed), nil
	}
	for _, sc := range requested {
		if !slices.Contains(allowed, sc) {
			return nil, oauth.Errorf(oauth.InvalidScope, "scope %q is not allowed", truncate(sc))
		}
	}
	out := slices.Clone(requested)
	slices.Sort(out)
	return slices.Compact(out), nil
}

// narrowTargets is narrowScopes for audiences, answering invalid_target.
func narrowTargets(requested, allowed []string) ([]string, error) {
	if len(requested) == 0 {
		return slices.Clone(allowed), nil
	}
	for _, t := range requested {
		if !slices.Contains(allowed, t) {
			return nil, oauth.Errorf(oauth.InvalidTarget, "audience %q is not allowed", truncate(t))
		}
	}
	return slices.Clone(requested), nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// tokenResponse is a successful token-endpoint answer (RFC 6749 §5.1, RFC 8693 §2.2.1).
type tokenResponse struct {
	AccessToken     string `json:"access_token"`
	IssuedTokenType string `json:"issued_token_type,omitempty"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in"`
	Scope           string `json:"scope,omitempty"`
	RefreshToken    string `json:"refresh_token,omitempty"`
	// rotated is the refresh token this answer's rotation used up.
	rotated string
}

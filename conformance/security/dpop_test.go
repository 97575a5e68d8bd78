package security

import (
	"strings"
	"testing"
	"time"
)

// SECURITY.md §4.6: DPoP at the token endpoint. Cases 62-65, 66 (method,
// host and path), 67 (±1 h), 69 and 71 are in conformance/protocol. Case 70
// (a proof by another key at a resource server) is the rs package's:
// introspection is not given proofs.

// SECURITY.md #66: htu is compared after RFC 3986 normalisation, ignoring
// query and fragment; anything that names another resource is refused.
func TestDPoP_66_HTUNormalisation(t *testing.T) {
	e := newEnv(t, withMemory(), withReportOnly())
	p := newProver(t)
	e.dpopPost(t, p, form("grant_type", "client_credentials"), e.as("dpop")) // learn the nonce
	htu := e.issuer + pathToken
	tests := []struct {
		name string
		htu  string
		ok   bool
	}{
		{"exact", htu, true},
		{"scheme upper case", strings.Replace(htu, "http://", "HTTP://", 1), true},
		{"query and fragment", htu + "?x=1#frag", true},
		{"percent-encoded unreserved", strings.Replace(htu, "/oauth2/token", "/oauth2/%74oken", 1), true},
		{"path case", strings.Replace(htu, "/oauth2/token", "/OAUTH2/token", 1), false},
		{"trailing slash", htu + "/", false},
		{"dot segments", strings.Replace(htu, "/oauth2/token", "/oauth2/x/../token", 1), true},
		{"other port", strings.Replace(htu, "127.0.0.1:", "127.0.0.1:1", 1), false},
		{"userinfo", strings.Replace(htu, "http://", "http://user@", 1), false},
		{"not absolute", "/oauth2/token", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post(t, pathToken, form("grant_type", "client_credentials"), e.as("dpop"),
				header("DPoP", p.proof(t, tt.htu, e.clock.Now(), nil)))
			if tt.ok && r.status != 200 {
				t.Fatalf("refused: %d %s", r.status, r.raw)
			}
			if !tt.ok {
				wantError(t, r, 400, "invalid_dpop_proof")
			}
		})
	}
}

// SECURITY.md #67: iat within a few seconds either way is accepted.
func TestDPoP_67_IatWindow(t *testing.T) {
	e := newEnv(t, withMemory(), withReportOnly())
	p := newProver(t)
	e.dpopPost(t, p, form("grant_type", "client_credentials"), e.as("dpop"))
	for name, skew := range map[string]time.Duration{"10s before": -10 * time.Second, "10s after": 10 * time.Second} {
		t.Run(name, func(t *testing.T) {
			r := e.post(t, pathToken, form("grant_type", "client_credentials"), e.as("dpop"),
				header("DPoP", p.proof(t, e.issuer+pathToken, e.clock.Now().Add(skew), nil)))
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.raw)
			}
		})
	}
}

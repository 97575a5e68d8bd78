package security

import (
	"slices"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// SECURITY.md §4.3: refresh. Cases 39-44 and 47 are in conformance/protocol;
// #45 (concurrent refresh) is in concurrency_test.go.

// SECURITY.md #46: a refresh is re-judged against the client's current
// registration and the token's own lifetime.
func TestRefresh_46_RejudgedEveryTime(t *testing.T) {
	tests := []struct {
		name   string
		change func(e *env)
		ask    []string
		status int
		code   string
	}{
		{"refresh grant removed", func(e *env) {
			e.editClient(t, "agent", func(c *storage.Client) {
				c.GrantTypes = slices.DeleteFunc(c.GrantTypes, func(g string) bool { return g == "refresh_token" })
			})
		}, nil, 400, "unauthorized_client"},
		{"scope removed", func(e *env) {
			e.editClient(t, "agent", func(c *storage.Client) { c.Scopes = []string{"kb.read"} })
		}, []string{"scope", "tickets.read"}, 400, "invalid_scope"},
		{"audience removed", func(e *env) {
			e.editClient(t, "agent", func(c *storage.Client) { c.Audiences = []string{rs2} })
		}, []string{"audience", rs1}, 400, "invalid_target"},
		{"client disabled", func(e *env) {
			e.editClient(t, "agent", func(c *storage.Client) { c.Disabled = true })
		}, nil, 401, "invalid_client"},
		{"idle past the refresh token's lifetime", func(e *env) { e.clock.Advance(24*time.Hour + time.Second) }, nil, 400, "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, withMemory(), withReportOnly())
			rt := e.cc(t, "agent", "scope", "tickets.read kb.read", "audience", rs1+" "+rs2).str("refresh_token")
			tt.change(e)
			wantError(t, e.refresh(t, "agent", rt, tt.ask...), tt.status, tt.code)
		})
	}
}

// A refused refresh changes nothing: the family's refresh token still works.
func TestRefresh_RefusalLeavesFamilyIntact(t *testing.T) {
	e := newEnv(t, withMemory(), withReportOnly())
	rt := e.cc(t, "agent", "scope", "kb.read").str("refresh_token")
	wantError(t, e.refresh(t, "agent", rt, "scope", "tickets.write"), 400, "invalid_scope")
	wantError(t, e.refresh(t, "other", rt), 400, "invalid_grant")
	if r := e.refresh(t, "agent", rt); r.status != 200 {
		t.Fatalf("refresh after refusals: %d %s", r.status, r.raw)
	}
}

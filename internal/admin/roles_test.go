package admin_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/admin"
	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/storage"
)

const readOnlyToken = "vat_read-only-token-0123456789abcdefghijklmnop"

// newRoleEnv is newEnv with a read-only credential named "auditor" beside
// the admin token.
func newRoleEnv(t *testing.T) (*env, *admin.API) {
	t.Helper()
	e := newEnv(t)
	clock := func() time.Time { return e.now }
	api := admin.New(adminToken, admin.Deps{Store: e.store, Hasher: e.hasher, Sessions: e.term, Keys: e.keys, Now: clock,
		Credentials: admin.Credentials{admin.TokenCredential("auditor", admin.RoleReadOnly, readOnlyToken)}})
	r := web.NewRouter()
	api.Mount(r)
	e.srv.Close()
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)
	return e, api
}

func TestReadOnlyCredentialReadsButCannotChange(t *testing.T) {
	e, _ := newRoleEnv(t)
	e.seedSession("s1", "c1")
	e.do(http.MethodPost, "/admin/clients", agentBody("c1")).want(t, http.StatusCreated)
	ro := "Bearer " + readOnlyToken
	for _, path := range []string{"/admin/clients", "/admin/clients/c1", "/admin/sessions", "/admin/sessions/s1", "/admin/audit"} {
		e.doAuth(http.MethodGet, path, nil, ro).want(t, http.StatusOK)
	}
	changes := []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, "/admin/clients", agentBody("c2")},
		{http.MethodPut, "/admin/clients/c1", agentBody("c1")},
		{http.MethodDelete, "/admin/clients/c1", nil},
		{http.MethodPost, "/admin/sessions/s1/terminate", nil},
		{http.MethodPost, "/admin/keys/rotate", nil},
		{http.MethodPost, "/admin/resources", map[string]any{"audience": "https://x.example"}},
		{http.MethodPost, "/admin/signals", map[string]any{"sid": "s1", "type": "session-revoked"}},
		{http.MethodPut, "/admin/policy/mode", map[string]any{"report_only": true}},
		{http.MethodPost, "/admin/tokens/s1-access_token/revoke", nil},
	}
	for _, c := range changes {
		r := e.doAuth(c.method, c.path, c.body, ro).want(t, http.StatusForbidden)
		if got := r.json(t)["error"]; got != "insufficient_scope" {
			t.Errorf("%s %s: error = %v, want insufficient_scope", c.method, c.path, got)
		}
	}
	s, err := e.store.GetSession(t.Context(), "s1")
	if err != nil || s.Status != storage.SessionActive {
		t.Fatalf("session after read-only attempts = %+v, %v; want active", s, err)
	}
	if _, err := e.store.GetClient(t.Context(), "c1"); err != nil {
		t.Fatalf("client c1 gone after a read-only DELETE: %v", err)
	}
	if len(e.term.calls) != 0 || e.keys.n != 0 {
		t.Fatalf("read-only requests reached the terminator (%v) or the key rotator (%d)", e.term.calls, e.keys.n)
	}
}

func TestAuditNamesTheActor(t *testing.T) {
	e, _ := newRoleEnv(t)
	e.seedSession("s1", "c1")
	e.do(http.MethodPost, "/admin/sessions/s1/terminate", map[string]string{"reason": "stolen"}).want(t, http.StatusOK)
	recs, err := e.store.ListAudit(t.Context(), storage.AuditFilter{SessionID: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, r := range recs {
		if r.Type == "admin" && r.Outcome == "terminated" {
			found = true
			if r.Actor != admin.DefaultAdminName || r.Reason != "admin api" {
				t.Errorf("audit record = %+v; want actor %q via the admin api", r, admin.DefaultAdminName)
			}
		}
	}
	if !found {
		t.Fatalf("no admin audit record for the termination: %+v", recs)
	}
}

func TestInternalHandlerNeedsAPrincipalAndHoldsItToItsRole(t *testing.T) {
	e, api := newRoleEnv(t)
	e.seedSession("s1", "c1")
	h := api.Internal()
	serve := func(ctx context.Context, method, path string) int {
		req := httptest.NewRequestWithContext(ctx, method, path, strings.NewReader(`{"reason":"x"}`))
		req.Header.Set("Content-Type", "application/json")
		// A bearer header means nothing to the internal handler.
		req.Header.Set("Authorization", "Bearer "+adminToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	ctx := t.Context()
	if got := serve(ctx, http.MethodGet, "/admin/sessions"); got != http.StatusUnauthorized {
		t.Errorf("no principal: status %d, want 401", got)
	}
	ro := admin.WithPrincipal(ctx, admin.Principal{Name: "auditor", Role: admin.RoleReadOnly, Via: "console"})
	if got := serve(ro, http.MethodGet, "/admin/sessions"); got != http.StatusOK {
		t.Errorf("read-only GET: status %d, want 200", got)
	}
	if got := serve(ro, http.MethodPost, "/admin/sessions/s1/terminate"); got != http.StatusForbidden {
		t.Errorf("read-only terminate: status %d, want 403", got)
	}
	if got := serve(admin.WithPrincipal(ctx, admin.Principal{Name: "x", Role: "root"}), http.MethodGet, "/admin/sessions"); got != http.StatusUnauthorized {
		t.Errorf("unknown role: status %d, want 401", got)
	}
	adm := admin.WithPrincipal(ctx, admin.Principal{Name: "alice", Role: admin.RoleAdmin, Via: "console"})
	if got := serve(adm, http.MethodPost, "/admin/sessions/s1/terminate"); got != http.StatusOK {
		t.Fatalf("admin terminate: status %d, want 200", got)
	}
	recs, _ := e.store.ListAudit(ctx, storage.AuditFilter{SessionID: "s1"})
	if n := len(recs); n == 0 || recs[n-1].Actor != "alice" || recs[n-1].Reason != "console" {
		t.Fatalf("audit = %+v; want the last record by alice via the console", recs)
	}
}

func TestCredentials(t *testing.T) {
	sum := sha256.Sum256([]byte(readOnlyToken))
	dc, err := admin.DigestCredential("auditor", admin.RoleReadOnly, hex.EncodeToString(sum[:]))
	if err != nil {
		t.Fatal(err)
	}
	cs := admin.Credentials{admin.TokenCredential("admin", admin.RoleAdmin, adminToken), dc}
	tests := []struct {
		token string
		want  admin.Principal
		ok    bool
	}{
		{adminToken, admin.Principal{Name: "admin", Role: admin.RoleAdmin}, true},
		{readOnlyToken, admin.Principal{Name: "auditor", Role: admin.RoleReadOnly}, true},
		{"", admin.Principal{}, false},
		{adminToken + "x", admin.Principal{}, false},
		{strings.ToUpper(adminToken), admin.Principal{}, false},
	}
	for _, tt := range tests {
		got, ok := cs.Authenticate(tt.token)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Authenticate(%.8q…) = %+v, %v; want %+v, %v", tt.token, got, ok, tt.want, tt.ok)
		}
	}
	bad := []struct {
		name string
		cs   admin.Credentials
	}{
		{"duplicate name", admin.Credentials{cs[0], admin.TokenCredential("admin", admin.RoleReadOnly, "other")}},
		{"bad role", admin.Credentials{admin.TokenCredential("x", "root", "t")}},
		{"bad name", admin.Credentials{admin.TokenCredential("a b", admin.RoleAdmin, "t")}},
		{"no token", admin.Credentials{{Name: "x", Role: admin.RoleAdmin}}},
	}
	for _, tt := range bad {
		if err := tt.cs.Validate(); err == nil {
			t.Errorf("%s: Validate() = nil", tt.name)
		}
	}
	if err := cs.Validate(); err != nil {
		t.Errorf("valid credentials: %v", err)
	}
	for _, h := range []string{"", "zz", hex.EncodeToString(sum[:16])} {
		if _, err := admin.DigestCredential("x", admin.RoleAdmin, h); err == nil {
			t.Errorf("DigestCredential(%q) accepted", h)
		}
	}
}

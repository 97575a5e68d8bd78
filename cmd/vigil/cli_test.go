package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/admin"
	"github.com/vigil-auth/vigil/internal/secret"
	"github.com/vigil-auth/vigil/internal/server"
	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/memory"
)

const testAdminToken = "vat_cli-test-token-0123456789abcdefghijklmnopqrs"

var t0 = time.Date(2026, 3, 17, 10, 0, 0, 0, time.UTC)

// terminator ends sessions in the store, as authz does.
type terminator struct{ store storage.Store }

func (f terminator) TerminateSession(ctx context.Context, sid, reason string) error {
	return f.store.Update(ctx, func(w storage.Writer) error {
		s, err := w.GetSession(ctx, sid)
		if err != nil {
			return err
		}
		s.Status, s.TerminatedAt, s.Reason = storage.SessionTerminated, t0, reason
		return w.PutSession(ctx, s)
	})
}

// adminServer starts the admin API over a memory store.
func adminServer(t *testing.T) (*httptest.Server, *memory.Store) {
	t.Helper()
	store := memory.New()
	h, err := secret.NewHasher(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	r := web.NewRouter()
	admin.New(testAdminToken, admin.Deps{Store: store, Hasher: h, Sessions: terminator{store},
		Now: func() time.Time { return t0 }}).Mount(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv, store
}

// vigil runs the command line with env as the whole environment and
// returns stdout, stderr and the error.
func vigil(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(t.Context(), args, func(k string) string { return env[k] }, &out, &errb)
	return out.String(), errb.String(), err
}

// mustVigil is vigil that fails the test on error.
func mustVigil(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	out, errOut, err := vigil(t, env, args...)
	if err != nil {
		t.Fatalf("vigil %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("output %q is not a JSON object: %v", s, err)
	}
	return m
}

func TestCLIClients(t *testing.T) {
	srv, store := adminServer(t)
	env := map[string]string{"VIGIL_ADDR": srv.URL, "VIGIL_ADMIN_TOKEN": testAdminToken}

	out, errOut, err := vigil(t, env, "client", "create", "ticket-agent", "--kind", "agent",
		"--scopes", "tickets.read,tickets.write", "--audiences", "kb-api", "--grant-types", "client_credentials",
		"--grant-types", "refresh_token", "--access-token-ttl", "10m")
	if err != nil {
		t.Fatalf("create: %v %s", err, errOut)
	}
	c := decode(t, out)
	if s, _ := c["client_secret"].(string); !strings.HasPrefix(s, "vcs_") || !strings.Contains(errOut, "only this once") {
		t.Errorf("create printed %v / %q", c, errOut)
	}
	if g := c["grant_types"].([]any); len(g) != 2 || c["access_token_ttl"] != "10m0s" {
		t.Errorf("created = %v", c)
	}

	list := mustVigil(t, env, "client", "list")
	if !strings.Contains(list, "ticket-agent") || !strings.Contains(list, "tickets.read tickets.write") ||
		!strings.Contains(list, "client_credentials,refresh_token") {
		t.Errorf("list =\n%s", list)
	}
	if got := decode(t, mustVigil(t, env, "client", "get", "ticket-agent")); got["client_secret"] != nil || got["secret_hash"] != nil {
		t.Errorf("get shows secret material: %v", got)
	}

	// Update with flags changes only the flags given; the rest is kept.
	upd := decode(t, mustVigil(t, env, "client", "update", "ticket-agent", "--scopes", "tickets.read", "--dpop"))
	if s := upd["scopes"].([]any); len(s) != 1 || upd["dpop"] != true || upd["access_token_ttl"] != "10m0s" {
		t.Errorf("update = %v", upd)
	}
	stored, _ := store.GetClient(t.Context(), "ticket-agent")
	if stored.SecretHash == "" {
		t.Error("update dropped the secret")
	}

	// assertion_compat through flags naming the members of the nested object.
	legacy := decode(t, mustVigil(t, env, "client", "create", "legacy-workload", "--kind", "workload",
		"--jwks-uri", "https://legacy.example/jwks.json", "--grant-types", "client_credentials",
		"--assertion-compat-token-endpoint-audience", "--assertion-compat-max-lifetime", "1h"))
	if ac, _ := legacy["assertion_compat"].(map[string]any); ac["token_endpoint_audience"] != true || ac["max_lifetime"] != "1h0m0s" {
		t.Errorf("created with assertion_compat = %v", legacy)
	}
	mustVigil(t, env, "client", "update", "legacy-workload", "--assertion-compat-max-lifetime", "")
	if c, _ := store.GetClient(t.Context(), "legacy-workload"); c.AssertionCompat == nil ||
		!c.AssertionCompat.TokenEndpointAudience || c.AssertionCompat.MaxLifetime != 0 {
		t.Errorf("after removing max_lifetime: %+v", c.AssertionCompat)
	}
	mustVigil(t, env, "client", "update", "legacy-workload", "--assertion-compat-token-endpoint-audience=false")
	if c, _ := store.GetClient(t.Context(), "legacy-workload"); c.AssertionCompat != nil && c.AssertionCompat.TokenEndpointAudience {
		t.Errorf("after turning the audience off: %+v", c.AssertionCompat)
	}

	rot := decode(t, mustVigil(t, env, "client", "rotate-secret", "ticket-agent"))
	if s, _ := rot["client_secret"].(string); !strings.HasPrefix(s, "vcs_") {
		t.Errorf("rotate-secret = %v", rot)
	}

	del := decode(t, mustVigil(t, env, "client", "delete", "ticket-agent"))
	if del["client_id"] != "ticket-agent" {
		t.Errorf("delete = %v", del)
	}
	_, _, err = vigil(t, env, "client", "get", "ticket-agent")
	var ae *apiError
	if !errors.As(err, &ae) || ae.Status != 404 || !strings.Contains(err.Error(), "not found") {
		t.Errorf("get after delete: %v", err)
	}
}

func TestCLICreateFromFile(t *testing.T) {
	srv, _ := adminServer(t)
	env := map[string]string{"VIGIL_ADDR": srv.URL, "VIGIL_ADMIN_TOKEN": testAdminToken}
	dir := t.TempDir()
	yamlFile := filepath.Join(dir, "rs.yaml")
	writeFile(t, yamlFile, "id: tickets-api\nkind: resource_server\nintrospect: [https://tickets.example]\nsecret: tickets-api-secret-0123456789abcdef\n")
	out := decode(t, mustVigil(t, env, "client", "create", "-f", yamlFile))
	if out["kind"] != "resource_server" || out["client_secret"] != nil {
		t.Errorf("create -f yaml = %v", out)
	}

	// get, edit, update -f: the server's timestamps in the file are fine.
	got := mustVigil(t, env, "client", "get", "tickets-api")
	jsonFile := filepath.Join(dir, "rs.json")
	writeFile(t, jsonFile, strings.Replace(got, "https://tickets.example", "https://tickets2.example", 1))
	upd := decode(t, mustVigil(t, env, "client", "update", "tickets-api", "-f", jsonFile))
	if upd["introspect"].([]any)[0] != "https://tickets2.example" {
		t.Errorf("update -f = %v", upd)
	}

	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "id: x\nkind: agent\nscope: [a]\n")
	if _, _, err := vigil(t, env, "client", "create", "-f", bad); err == nil || !strings.Contains(err.Error(), `unknown field "scope"`) {
		t.Errorf("create with an unknown field: %v", err)
	}
	other := filepath.Join(dir, "other.yaml")
	writeFile(t, other, "id: other-api\nkind: resource_server\nintrospect: [a]\n")
	if _, _, err := vigil(t, env, "client", "update", "tickets-api", "-f", other); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("update with another id in the file: %v", err)
	}
}

func TestCLIResourcesAndIssuers(t *testing.T) {
	srv, _ := adminServer(t)
	env := map[string]string{"VIGIL_ADDR": srv.URL, "VIGIL_ADMIN_TOKEN": testAdminToken}
	mustVigil(t, env, "resource", "create", "https://tickets.example", "--sensitivity", "2", "--tenant", "acme")
	mustVigil(t, env, "resource", "create", "vault", "--sensitivity", "4", "--tactic", "credential_access")
	list := mustVigil(t, env, "resource", "list")
	if !strings.Contains(list, "https://tickets.example  2            acme") || !strings.Contains(list, "credential_access") {
		t.Errorf("resource list =\n%s", list)
	}
	r := decode(t, mustVigil(t, env, "resource", "update", "https://tickets.example", "--sensitivity", "3", "--tenant", ""))
	if r["sensitivity"] != 3.0 || r["tenant"] != nil {
		t.Errorf("resource update = %v", r)
	}
	if out := mustVigil(t, env, "resource", "delete", "https://tickets.example"); !strings.Contains(out, "deleted resource") {
		t.Errorf("delete = %q", out)
	}
	if _, _, err := vigil(t, env, "resource", "create", "x", "--sensitivity", "9"); err == nil || !strings.Contains(err.Error(), "sensitivity") {
		t.Errorf("invalid resource: %v", err)
	}

	f := filepath.Join(t.TempDir(), "iss.yaml")
	writeFile(t, f, "issuer: https://token.actions.example\njwks_uri: https://token.actions.example/jwks\naudience: vigil\nsubjects:\n  - {subject: \"repo:acme/*\", client_id: ci-job}\n")
	mustVigil(t, env, "issuer", "create", "-f", f)
	if out := mustVigil(t, env, "issuer", "list"); !strings.Contains(out, "repo:acme/* -> ci-job") {
		t.Errorf("issuer list =\n%s", out)
	}
	if got := decode(t, mustVigil(t, env, "issuer", "get", "https://token.actions.example")); got["audience"] != "vigil" {
		t.Errorf("issuer get = %v", got)
	}
	mustVigil(t, env, "issuer", "delete", "https://token.actions.example")
}

func TestCLISessions(t *testing.T) {
	srv, store := adminServer(t)
	env := map[string]string{"VIGIL_ADDR": srv.URL, "VIGIL_ADMIN_TOKEN": testAdminToken}
	ctx := t.Context()
	err := store.Update(ctx, func(w storage.Writer) error {
		for _, sid := range []string{"ses_a", "ses_b"} {
			if err := w.CreateSession(ctx, storage.Session{ID: sid, ClientID: "agent-1", Subject: "agent-1",
				Origin: "10.1.4.21", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), Status: storage.SessionActive}); err != nil {
				return err
			}
		}
		if err := w.CreateSession(ctx, storage.Session{ID: "ses_old", ClientID: "agent-2", Subject: "agent-2",
			CreatedAt: t0.Add(-2 * time.Hour), ExpiresAt: t0.Add(-time.Hour), Status: storage.SessionActive}); err != nil {
			return err
		}
		if err := w.CreateToken(ctx, storage.Token{ID: "tok-hash-0123456789", Kind: storage.AccessToken, Format: "opaque",
			ClientID: "agent-1", SessionID: "ses_a", Scopes: []string{"secrets.read"}, Audiences: []string{"vault"},
			IssuedAt: t0, NotBefore: t0, ExpiresAt: t0.Add(5 * time.Minute)}); err != nil {
			return err
		}
		return w.AppendEvent(ctx, storage.Event{SessionID: "ses_a", At: t0.Add(time.Second), Type: "exchange",
			ClientID: "agent-1", Detail: "aud=vault", Score: 72, Level: "high", Action: "step_up",
			Reasons: []storage.Reason{{Code: "seq.pivot", Points: 40, Evidence: "first sensitive audience"}, {Code: "scope.new", Points: 32},
				{Code: risk.ReasonImpact, Points: 60, Evidence: "tier 4, credential_access"}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	list := mustVigil(t, env, "session", "list", "--client", "agent-1")
	if strings.Count(list, "agent-1") != 2 || !strings.Contains(list, "10.1.4.21") {
		t.Errorf("session list =\n%s", list)
	}
	if out := mustVigil(t, env, "session", "list", "--created-to", t0.Add(-time.Hour).Format(time.RFC3339)); strings.Count(out, "ses_") != 1 ||
		!strings.Contains(out, "ses_old") {
		t.Errorf("session list --created-to =\n%s", out)
	}
	if out := mustVigil(t, env, "session", "list", "--created-from", t0.Format(time.RFC3339)); strings.Count(out, "ses_") != 2 ||
		strings.Contains(out, "ses_old") {
		t.Errorf("session list --created-from =\n%s", out)
	}
	show := mustVigil(t, env, "session", "show", "ses_a")
	for _, want := range []string{"session ses_a", "tokens (1):", "tok-hash-012…", "secrets.read", "timeline (1 events):",
		"2026-03-17T10:00:01Z", "exchange", "72", "high", "step_up", "seq.pivot(+40) first sensitive audience; scope.new(+32)", "impact 60%: tier 4, credential_access", "aud=vault"} {
		if !strings.Contains(show, want) {
			t.Errorf("session show lacks %q:\n%s", want, show)
		}
	}
	out := mustVigil(t, env, "session", "terminate", "ses_a", "--reason", "incident 7")
	if !strings.Contains(out, "terminated session ses_a") {
		t.Errorf("terminate = %q", out)
	}
	if s, _ := store.GetSession(ctx, "ses_a"); s.Status != storage.SessionTerminated || s.Reason != "incident 7" {
		t.Errorf("session after terminate = %+v", s)
	}
	if out := mustVigil(t, env, "session", "list", "--status", "terminated", "--limit", "5"); strings.Count(out, "ses_") != 1 {
		t.Errorf("terminated list =\n%s", out)
	}
	if !strings.Contains(mustVigil(t, env, "session", "show", "ses_a"), "terminated 2026-03-17T10:00:00Z: incident 7") {
		t.Error("show does not say why the session ended")
	}
}

func TestCLIConnection(t *testing.T) {
	srv, _ := adminServer(t)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, server.AdminTokenFile)
	writeFile(t, tokenFile, testAdminToken+"\n")

	// The token comes from the data directory when neither flag nor env gives it.
	if out := mustVigil(t, map[string]string{"VIGIL_DATA": dir}, "client", "list", "--addr", strings.TrimPrefix(srv.URL, "http://")); !strings.Contains(out, "ID") {
		t.Errorf("list with token file = %q", out)
	}
	if err := os.Chmod(tokenFile, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := vigil(t, map[string]string{"VIGIL_DATA": dir, "VIGIL_ADDR": srv.URL}, "client", "list"); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable token file accepted: %v", err)
	}
	if _, _, err := vigil(t, map[string]string{"VIGIL_ADDR": srv.URL, "VIGIL_ADMIN_TOKEN": "vat_wrong"}, "client", "list"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong token: %v", err)
	}
	if _, _, err := vigil(t, map[string]string{"VIGIL_DATA": filepath.Join(dir, "none")}, "client", "list"); err == nil || !strings.Contains(err.Error(), "no admin token") {
		t.Errorf("no token anywhere: %v", err)
	}
}

func TestCLIUsage(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr error
		stdout  string
		stderr  string
	}{
		{args: nil, wantErr: errUsage, stderr: "Usage:"},
		{args: []string{"help"}, stdout: "vigil serve"},
		{args: []string{"frobnicate"}, wantErr: errUsage, stderr: `unknown command "frobnicate"`},
		{args: []string{"client"}, wantErr: errUsage, stderr: "vigil client rotate-secret ID"},
		{args: []string{"client", "help"}, stdout: "vigil client list"},
		{args: []string{"client", "nope"}, wantErr: errUsage, stderr: `unknown subcommand "nope"`},
		{args: []string{"client", "get"}, wantErr: errUsage, stderr: "want 1 argument(s), got 0"},
		{args: []string{"client", "get", "a", "b"}, wantErr: errUsage, stderr: "want 1 argument(s)"},
		{args: []string{"client", "list", "--bogus"}, wantErr: errUsage, stderr: "flag provided but not defined: -bogus"},
		{args: []string{"session", "show", "-h"}, wantErr: flag.ErrHelp, stderr: "Usage: vigil session show SID"},
		{args: []string{"serve", "extra"}, wantErr: errUsage, stderr: "want 0 argument(s)"},
		{args: []string{"version"}, stdout: "vigil dev"},
		{args: []string{"version", "--json"}, stdout: `"go_version"`},
		{args: []string{"help"}, stdout: "vigil bench"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, err := vigil(t, nil, tt.args...)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(out, tt.stdout) || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stdout %q, stderr %q; want %q / %q", out, errOut, tt.stdout, tt.stderr)
			}
		})
	}
	var buf bytes.Buffer
	if exitCode(errUsage, &buf) != 2 || exitCode(flag.ErrHelp, &buf) != 0 || exitCode(errors.New("x"), &buf) != 1 || buf.String() != "vigil: x\n" {
		t.Errorf("exit codes or message wrong: %q", buf.String())
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

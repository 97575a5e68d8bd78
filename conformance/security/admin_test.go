package security

import (
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/vigil-auth/vigil/storage"
)

// SECURITY.md §4.8: the admin API. The internal/admin tests cover the
// admin token itself (#82) in detail. #87 is TestClientAuth_16.

// SECURITY.md #82: nothing a client holds opens the admin API.
func TestAdmin_82_ClientCredentialsAreNotAdmin(t *testing.T) {
	e := newEnv(t, withMemory())
	at := e.cc(t, "agent").str("access_token")
	for name, auth := range map[string]string{
		"client access token": "Bearer " + at,
		"client secret":       "Bearer " + e.secrets["agent"],
		"basic client":        "Basic " + b64([]byte("agent:"+e.secrets["agent"])),
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.url+"/admin/clients", nil)
			req.Header.Set("Authorization", auth)
			resp, err := e.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 {
				t.Fatalf("got %d", resp.StatusCode)
			}
		})
	}
	resp, err := e.http.Get(e.url + "/admin/clients?access_token=" + url.QueryEscape(adminToken))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("admin token in the query string: %d", resp.StatusCode)
	}
}

// SECURITY.md #84: a replaced client is validated whole; a refused change
// leaves the client as it was.
func TestAdmin_84_ReplacementValidatedWhole(t *testing.T) {
	e := newEnv(t, withMemory())
	get := func() map[string]any { return e.admin(t, http.MethodGet, "/admin/clients/pkjwt", nil).body }
	before := get()
	for name, body := range map[string]map[string]any{
		"no credential left (auth method none)": {"kind": "workload", "grant_types": []string{"client_credentials"}},
		"becomes a resource server with grants": {"kind": "resource_server", "grant_types": []string{"client_credentials"},
			"introspect": []string{rs1}, "jwks": before["jwks"]},
		"password grant":       {"kind": "workload", "grant_types": []string{"password"}, "jwks": before["jwks"]},
		"secret_hash smuggled": {"kind": "workload", "grant_types": []string{"client_credentials"}, "secret_hash": "hmac-sha256$AAAA"},
		"may_act names a URL": {"kind": "workload", "grant_types": []string{"client_credentials"}, "jwks": before["jwks"],
			"may_act": []string{"https://evil.example"}},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.admin(t, http.MethodPut, "/admin/clients/pkjwt", body)
			if r.status != 400 {
				t.Fatalf("got %d %s", r.status, r.raw)
			}
		})
	}
	after := get()
	if string(mustJSON(t, before)) != string(mustJSON(t, after)) {
		t.Fatalf("a refused change altered the client:\n%v\n%v", before, after)
	}
	e.wantAssertion(t, e.assertion(t, "pkjwt", nil), true)
}

// SECURITY.md #85 (RFC 9700 §4.15): a client id that could pass for a
// workload subject, a person or an audience is refused.
func TestAdmin_85_ConfusableClientIDs(t *testing.T) {
	e := newEnv(t, withMemory())
	for _, id := range []string{"system:serviceaccount:ci:builder", "admin", "Root", "vigil", rs1, "agent@example.com", "a/b", ""} {
		t.Run(id, func(t *testing.T) {
			r := e.admin(t, http.MethodPost, "/admin/clients", map[string]any{"id": id, "kind": "agent",
				"grant_types": []string{"client_credentials"}})
			if r.status != 400 {
				t.Fatalf("client %q: %d %s", id, r.status, r.raw)
			}
		})
	}
	r := e.admin(t, http.MethodPost, "/admin/clients", map[string]any{"id": "agent", "kind": "agent"})
	if r.status != 409 {
		t.Fatalf("a second client named agent: %d %s", r.status, r.raw)
	}
}

// SECURITY.md #86 (NHI2): after a workload touching every credential type,
// no secret, token, assertion or proof appears in the data file, the logs,
// or any admin answer.
func TestAdmin_86_NoSecretsAnywhere(t *testing.T) {
	e := newEnv(t)
	var secrets []string
	for _, s := range e.secrets {
		secrets = append(secrets, s)
	}
	keep := func(rs ...result) {
		for _, r := range rs {
			for _, k := range []string{"access_token", "refresh_token"} {
				if v := r.str(k); v != "" {
					secrets = append(secrets, v)
				}
			}
		}
	}
	first := e.cc(t, "agent", "audience", rs1)
	keep(first, e.refresh(t, "agent", first.str("refresh_token")), e.cc(t, "jwtsvc"))
	keep(e.delegate(t, "actor1", first.str("access_token"), "audience", rs1))
	a := e.assertion(t, "pkjwt", nil)
	sub := e.workloadToken(t, nil)
	keep(e.post(t, pathToken, withAssertion(form("grant_type", grantExchange, "subject_token", sub, "subject_token_type", typeJWT), a)))
	p := newProver(t)
	keep(e.dpopPost(t, p, form("grant_type", "client_credentials"), e.as("dpop")))
	proof := p.proof(t, e.issuer+pathToken, e.clock.Now(), nil)
	keep(e.post(t, pathToken, form("grant_type", "client_credentials"), e.as("dpop"), header("DPoP", proof)))
	created := e.admin(t, http.MethodPost, "/admin/clients", map[string]any{"id": "fresh", "kind": "service",
		"grant_types": []string{"client_credentials"}, "scopes": []string{"tickets.read"}, "audiences": []string{rs1}})
	rotated := e.admin(t, http.MethodPost, "/admin/clients/agent/secret", nil)
	e.revoke(t, "agent", first.str("access_token"))
	wantError(t, e.post(t, pathToken, form("grant_type", "client_credentials"), basic("agent", "vcs_wrong-guess-0123456789abcdefghijklmnopqr")), 401, "invalid_client")
	secrets = append(secrets, a, sub, proof, adminToken, created.str("client_secret"), rotated.str("client_secret"),
		"vcs_wrong-guess-0123456789abcdefghijklmnopqr")

	places := map[string]string{"logs": e.logs.String()}
	for _, path := range []string{"/admin/clients", "/admin/clients/agent", "/admin/clients/fresh", "/admin/sessions?limit=1000",
		"/admin/audit?limit=10000", "/admin/keys"} {
		places["GET "+path] = string(e.admin(t, http.MethodGet, path, nil).raw)
	}
	sessions, _ := e.admin(t, http.MethodGet, "/admin/sessions?limit=1000", nil).body["sessions"].([]any)
	for _, s := range sessions {
		sid := s.(map[string]any)["sid"].(string)
		places["GET /admin/sessions/"+sid] = string(e.admin(t, http.MethodGet, "/admin/sessions/"+sid, nil).raw)
	}
	db, err := os.ReadFile(e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	places["data file"] = string(db)
	for _, s := range secrets {
		if s == "" {
			t.Fatal("an expected credential is empty: the workload failed")
		}
		for where, text := range places {
			if strings.Contains(text, s) || strings.Contains(text, distinctive(s)) {
				t.Errorf("%s holds a raw credential (%.12s…)", where, s)
			}
		}
	}
	if len(e.audit(t, storage.AuditFilter{})) == 0 {
		t.Fatal("the workload left no audit records")
	}
}

// distinctive is a part of a credential that appears nowhere by chance:
// its signature for a JWS, the random part after a prefix otherwise.
func distinctive(s string) string {
	if parts := strings.Split(s, "."); len(parts) == 3 && len(parts[2]) > 20 {
		return parts[2]
	}
	if i := strings.LastIndex(s, "_"); i >= 0 && len(s)-i > 20 {
		return s[i+1:]
	}
	return s
}

package admin_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/admin"
	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/memory"
)

// Case 82: admin calls without the admin token are refused before routing.
func TestCase82_AdminRequiresToken(t *testing.T) {
	e := newEnv(t)
	created := e.do("POST", "/admin/clients", agentBody("a1")).want(t, http.StatusCreated).json(t)
	clientSecret := created["client_secret"].(string)
	tests := []struct {
		name, auth, path string
		wantErr          string
	}{
		{name: "no credentials", path: "/admin/clients"},
		{name: "basic auth", auth: "Basic " + adminToken, path: "/admin/clients"},
		{name: "empty bearer", auth: "Bearer ", path: "/admin/clients"},
		{name: "wrong token", auth: "Bearer vat_wrong", path: "/admin/clients", wantErr: "invalid_token"},
		{name: "token prefix only", auth: "Bearer " + adminToken[:20], path: "/admin/clients", wantErr: "invalid_token"},
		{name: "a client's secret", auth: "Bearer " + clientSecret, path: "/admin/clients", wantErr: "invalid_token"},
		{name: "unknown path", path: "/admin/nothing-here"},
		{name: "item path", auth: "Bearer nope", path: "/admin/clients/a1", wantErr: "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.doAuth("GET", tt.path, nil, tt.auth).want(t, http.StatusUnauthorized)
			if h := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
				t.Errorf("WWW-Authenticate = %q", h)
			}
			if tt.wantErr != "" && r.json(t)["error"] != tt.wantErr {
				t.Errorf("error = %v, want %s", r.json(t)["error"], tt.wantErr)
			}
			if strings.Contains(string(r.body), "a1") {
				t.Errorf("401 body leaks data: %s", r.body)
			}
		})
	}
	e.do("GET", "/admin/nothing-here", nil).want(t, http.StatusNotFound)
	e.doAuth("GET", "/admin/clients", nil, "bearer "+adminToken).want(t, http.StatusOK)
}

func TestEmptyTokenDisablesAPI(t *testing.T) {
	r := web.NewRouter()
	admin.New("", admin.Deps{Store: memory.New()}).Mount(r)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/admin/clients", nil)
	req.Header.Set("Authorization", "Bearer ")
	r.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound {
		t.Fatalf("status = %d, want 404 with the admin API disabled", rec.Code)
	}
}

func TestClientLifecycle(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/admin/clients", agentBody("ticket-agent")).want(t, http.StatusCreated)
	if loc := r.header.Get("Location"); loc != "/admin/clients/ticket-agent" {
		t.Errorf("Location = %q", loc)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store on an answer carrying a secret", cc)
	}
	c := r.json(t)
	sec, _ := c["client_secret"].(string)
	if !strings.HasPrefix(sec, admin.SecretPrefix) || len(sec) < 40 {
		t.Fatalf("client_secret = %q, want a generated vcs_ secret", sec)
	}
	if c["token_format"] != "opaque" || c["access_token_ttl"] != "15m0s" || c["created_at"] == nil {
		t.Errorf("created client = %v", c)
	}
	stored, err := e.store.GetClient(t.Context(), "ticket-agent")
	if err != nil || e.hasher.Verify(stored.SecretHash, sec) != nil {
		t.Fatalf("stored secret hash does not verify the returned secret: %v", err)
	}

	got := e.do("GET", "/admin/clients/ticket-agent", nil).want(t, http.StatusOK).json(t)
	if _, ok := got["client_secret"]; ok {
		t.Error("GET returned client_secret again")
	}
	list := e.do("GET", "/admin/clients", nil).want(t, http.StatusOK).json(t)
	if cs := list["clients"].([]any); len(cs) != 1 {
		t.Errorf("list = %v", list)
	}

	e.now = t0.Add(time.Hour)
	upd := agentBody("ticket-agent")
	upd["scopes"] = []string{"tickets:read", "tickets:write"}
	u := e.do("PUT", "/admin/clients/ticket-agent", upd).want(t, http.StatusOK).json(t)
	if u["created_at"] != "2026-03-17T10:00:00Z" || u["updated_at"] != "2026-03-17T11:00:00Z" {
		t.Errorf("timestamps after update = %v, %v", u["created_at"], u["updated_at"])
	}
	stored2, _ := e.store.GetClient(t.Context(), "ticket-agent")
	if stored2.SecretHash != stored.SecretHash || len(stored2.Scopes) != 2 {
		t.Errorf("update lost the secret hash or the change: %+v", stored2)
	}

	e.do("DELETE", "/admin/clients/ticket-agent", nil).want(t, http.StatusOK)
	e.do("GET", "/admin/clients/ticket-agent", nil).want(t, http.StatusNotFound)
	e.do("PUT", "/admin/clients/ticket-agent", upd).want(t, http.StatusNotFound)
	e.do("DELETE", "/admin/clients/ticket-agent", nil).want(t, http.StatusNotFound)
}

func TestCreateClientCredentials(t *testing.T) {
	e := newEnv(t)
	withSecret := agentBody("s1")
	withSecret["secret"] = "caller-chosen-secret-0123456789abcdef"
	r := e.do("POST", "/admin/clients", withSecret).want(t, http.StatusCreated).json(t)
	if _, ok := r["client_secret"]; ok {
		t.Error("a caller-chosen secret was echoed back")
	}
	c, _ := e.store.GetClient(t.Context(), "s1")
	if e.hasher.Verify(c.SecretHash, "caller-chosen-secret-0123456789abcdef") != nil {
		t.Error("caller-chosen secret does not verify")
	}

	withKeys := agentBody("k1")
	withKeys["jwks_uri"] = "https://agent.example/jwks"
	r = e.do("POST", "/admin/clients", withKeys).want(t, http.StatusCreated).json(t)
	if _, ok := r["client_secret"]; ok {
		t.Error("a secret was generated for a jwks_uri client")
	}

	rs := map[string]any{"id": "tickets-api", "kind": "resource_server", "introspect": []string{"https://tickets.example"}}
	r = e.do("POST", "/admin/clients", rs).want(t, http.StatusCreated).json(t)
	if s, _ := r["client_secret"].(string); !strings.HasPrefix(s, "vcs_") {
		t.Errorf("resource server got no generated secret: %v", r)
	}

	e.do("POST", "/admin/clients", agentBody("s1")).want(t, http.StatusConflict)
	short := agentBody("s2")
	short["secret"] = "short"
	if d := e.do("POST", "/admin/clients", short).want(t, http.StatusBadRequest).json(t); !strings.Contains(d["error_description"].(string), "shorter") {
		t.Errorf("short secret: %v", d)
	}
}

// Case 86: secrets are shown once at creation; no admin answer carries a
// secret or its hash.
func TestCase86_SecretsNeverInAdminAnswers(t *testing.T) {
	e := newEnv(t)
	created := e.do("POST", "/admin/clients", agentBody("a1")).want(t, http.StatusCreated).json(t)
	gen := created["client_secret"].(string)
	chosen := agentBody("a2")
	chosen["secret"] = "chosen-secret-value-0123456789abcdefgh"
	e.do("POST", "/admin/clients", chosen).want(t, http.StatusCreated)
	rot := e.do("POST", "/admin/clients/a1/secret", nil).want(t, http.StatusOK).json(t)
	rotated := rot["client_secret"].(string)
	e.seedSession("sess-1", "a1")

	c1, _ := e.store.GetClient(t.Context(), "a1")
	c2, _ := e.store.GetClient(t.Context(), "a2")
	forbidden := []string{gen, rotated, "chosen-secret-value", c1.SecretHash, c2.SecretHash, "secret_hash", "hmac-sha256$", "pbkdf2"}
	for _, path := range []string{"/admin/clients", "/admin/clients/a1", "/admin/clients/a2", "/admin/sessions",
		"/admin/sessions/sess-1", "/admin/keys"} {
		r := e.do("GET", path, nil).want(t, http.StatusOK)
		for _, f := range forbidden {
			if strings.Contains(string(r.body), f) {
				t.Errorf("GET %s contains %q", path, f)
			}
		}
	}
	put := agentBody("a2")
	r := e.do("PUT", "/admin/clients/a2", put).want(t, http.StatusOK)
	if strings.Contains(string(r.body), "secret") {
		t.Errorf("PUT answer mentions a secret: %s", r.body)
	}
}

func TestRotateSecret(t *testing.T) {
	e := newEnv(t)
	old := e.do("POST", "/admin/clients", agentBody("a1")).want(t, http.StatusCreated).json(t)["client_secret"].(string)
	r := e.do("POST", "/admin/clients/a1/secret", nil).want(t, http.StatusOK).json(t)
	fresh := r["client_secret"].(string)
	if fresh == old || r["client_id"] != "a1" {
		t.Fatalf("rotate = %v", r)
	}
	c, _ := e.store.GetClient(t.Context(), "a1")
	if e.hasher.Verify(c.SecretHash, old) == nil || e.hasher.Verify(c.SecretHash, fresh) != nil {
		t.Error("after rotation the old secret still verifies or the new one does not")
	}
	e.do("POST", "/admin/clients/nobody/secret", nil).want(t, http.StatusNotFound)
	k := agentBody("k1")
	k["jwks_uri"] = "https://agent.example/jwks"
	e.do("POST", "/admin/clients", k).want(t, http.StatusCreated)
	e.do("POST", "/admin/clients/k1/secret", nil).want(t, http.StatusBadRequest)
	e.do("GET", "/admin/clients/a1/secret", nil).want(t, http.StatusMethodNotAllowed)
}

func TestStrictDecoding(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		body   string
		ctype  string
		status int
		desc   string
	}{
		{name: "unknown field", body: `{"id":"a","kind":"agent","scope":["x"]}`, status: 400, desc: `unknown field "scope"`},
		{name: "two objects", body: `{"id":"a","kind":"agent"}{"id":"b"}`, status: 400, desc: "exactly one JSON object"},
		{name: "trailing garbage", body: `{"id":"a","kind":"agent"} x`, status: 400, desc: "exactly one"},
		{name: "not json", body: `id=a`, status: 400, desc: "not valid JSON"},
		{name: "array", body: `[1]`, status: 400, desc: "must be a JSON object"},
		{name: "wrong type", body: `{"id":"a","kind":"agent","scopes":"x"}`, status: 400, desc: "field scopes"},
		{name: "bad duration", body: `{"id":"a","kind":"agent","access_token_ttl":"soon"}`, status: 400, desc: "invalid duration"},
		{name: "empty body", body: ``, status: 400, desc: "body is empty"},
		{name: "truncated", body: `{"id":"a"`, status: 400, desc: "truncated"},
		{name: "secret_hash refused", body: `{"id":"a","kind":"agent","secret_hash":"hmac-sha256$AAAA"}`, status: 400, desc: "secret_hash is not accepted"},
		{name: "form content type", body: `{"id":"a","kind":"agent"}`, ctype: "application/x-www-form-urlencoded", status: 415},
		{name: "too large", body: `{"id":"a","kind":"agent","purposes":["` + strings.Repeat("x", admin.MaxBodySize) + `"]}`, status: 413, desc: "larger than 65536"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.srv.URL+"/admin/clients", strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer "+adminToken)
			ct := tt.ctype
			if ct == "" {
				ct = "application/json; charset=utf-8"
			}
			req.Header.Set("Content-Type", ct)
			res, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body map[string]any
			r := resp{status: res.StatusCode}
			r.body = readAll(t, res)
			r.want(t, tt.status)
			body = r.json(t)
			if body["error"] != "invalid_request" {
				t.Errorf("error = %v, want invalid_request", body["error"])
			}
			if d, _ := body["error_description"].(string); !strings.Contains(d, tt.desc) {
				t.Errorf("error_description = %q, want it to contain %q", d, tt.desc)
			}
		})
	}
	if cs, _ := e.store.ListClients(t.Context()); len(cs) != 0 {
		t.Errorf("refused requests stored clients: %v", cs)
	}
}

func TestValidationErrorsListEveryProblem(t *testing.T) {
	e := newEnv(t)
	body := map[string]any{"id": "bad id", "kind": "robot", "grant_types": []string{"password"},
		"scopes": []string{"a b"}, "networks": []string{"10.0.0.0"}, "token_format": "paseto",
		"schedule": map[string]string{"days": "Funday"}, "access_token_ttl": "48h"}
	d := e.do("POST", "/admin/clients", body).want(t, http.StatusBadRequest).json(t)["error_description"].(string)
	for _, want := range []string{"id:", "kind:", "grant_types:", "scopes:", "networks:", "token_format:", "schedule:", "access_token_ttl:"} {
		if !strings.Contains(d, want) {
			t.Errorf("description %q lacks %q", d, want)
		}
	}
}

// Case 84: an update is validated whole; it cannot smuggle in a grant, drop
// authentication, or turn a client into something else half-way.
func TestCase84_UpdateRevalidatesWholeObject(t *testing.T) {
	e := newEnv(t)
	e.do("POST", "/admin/clients", agentBody("a1")).want(t, http.StatusCreated)
	k := agentBody("k1")
	k["jwks_uri"] = "https://agent.example/jwks"
	e.do("POST", "/admin/clients", k).want(t, http.StatusCreated)
	tests := []struct {
		name string
		id   string
		edit func(b map[string]any)
		desc string
	}{
		{name: "kind swap keeping grants", id: "a1", edit: func(b map[string]any) {
			b["kind"], b["introspect"] = "resource_server", []string{"x"}
		}, desc: "only introspects"},
		{name: "unknown grant added", id: "a1", edit: func(b map[string]any) {
			b["grant_types"] = []string{"client_credentials", "password"}
		}, desc: "grant_types"},
		{name: "key client drops its keys", id: "k1", edit: func(b map[string]any) {}, desc: "needs a secret, jwks or jwks_uri"},
		{name: "secret plus keys", id: "a1", edit: func(b map[string]any) {
			b["jwks_uri"], b["secret"] = "https://agent.example/jwks", "another-secret-0123456789abcdefghij"
		}, desc: "not several"},
		{name: "id change", id: "a1", edit: func(b map[string]any) { b["id"] = "a2" }, desc: "cannot change"},
		{name: "private key registered", id: "k1", edit: func(b map[string]any) {
			b["jwks"] = map[string]any{"keys": []any{map[string]any{"kty": "EC", "d": "x"}}}
		}, desc: "private key material"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := agentBody(tt.id)
			tt.edit(b)
			before, _ := e.store.GetClient(t.Context(), tt.id)
			d := e.do("PUT", "/admin/clients/"+tt.id, b).want(t, http.StatusBadRequest).json(t)
			if !strings.Contains(d["error_description"].(string), tt.desc) {
				t.Errorf("error_description = %q, want %q", d["error_description"], tt.desc)
			}
			after, _ := e.store.GetClient(t.Context(), tt.id)
			if !after.UpdatedAt.Equal(before.UpdatedAt) || after.Kind != before.Kind {
				t.Errorf("refused update changed the record: %+v", after)
			}
		})
	}
	r := e.do("PATCH", "/admin/clients/a1", `{"kind":"resource_server"}`).want(t, http.StatusMethodNotAllowed)
	if allow := r.header.Get("Allow"); allow != "GET, PUT, DELETE" {
		t.Errorf("Allow = %q", allow)
	}
}

// Case 85: reserved names and identifiers shaped like external subjects,
// URLs or addresses are refused as client IDs.
func TestCase85_ReservedClientIDs(t *testing.T) {
	e := newEnv(t)
	for _, id := range []string{"admin", "Root", "vigil", "system:serviceaccount:ci:builder", "spiffe://x/y", "bob@example.com", "-x"} {
		t.Run(id, func(t *testing.T) {
			e.do("POST", "/admin/clients", agentBody(id)).want(t, http.StatusBadRequest)
		})
	}
}

// Case 87: deleting a client ends its live sessions, revoking every token.
func TestCase87_DeleteClientEndsSessions(t *testing.T) {
	e := newEnv(t)
	e.do("POST", "/admin/clients", agentBody("a1")).want(t, http.StatusCreated)
	e.do("POST", "/admin/clients", agentBody("a2")).want(t, http.StatusCreated)
	e.seedSession("s1", "a1")
	e.seedSession("s2", "a1")
	e.seedSession("other", "a2")
	e.do("POST", "/admin/sessions/s2/terminate", nil).want(t, http.StatusOK)
	e.term.calls = nil

	r := e.do("DELETE", "/admin/clients/a1", nil).want(t, http.StatusOK).json(t)
	if got := r["terminated_sessions"].([]any); len(got) != 1 || got[0] != "s1" {
		t.Errorf("terminated_sessions = %v, want [s1]", got)
	}
	if len(e.term.calls) != 1 || !strings.HasPrefix(e.term.calls[0], "s1: ") {
		t.Errorf("terminator calls = %v", e.term.calls)
	}
	toks, _ := e.store.ListSessionTokens(t.Context(), "s1")
	for _, tok := range toks {
		if tok.Active(t0) {
			t.Errorf("token %s of a deleted client is still active", tok.ID)
		}
	}
	if s, _ := e.store.GetSession(t.Context(), "other"); s.Status != storage.SessionActive {
		t.Error("another client's session was ended")
	}
	audit, _ := e.store.ListAudit(t.Context(), storage.AuditFilter{ClientID: "a1"})
	if !slices.ContainsFunc(audit, func(a storage.AuditRecord) bool { return a.Outcome == "deleted" && a.Type == "admin" }) {
		t.Errorf("no audit record of the deletion: %+v", audit)
	}
}

func TestDeleteClientStoreDown(t *testing.T) {
	e := newEnv(t)
	e.do("POST", "/admin/clients", agentBody("a1")).want(t, http.StatusCreated)
	e.seedSession("s1", "a1")
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	r := e.do("DELETE", "/admin/clients/a1", nil)
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503 when storage is down; %s", r.status, r.body)
	}
}

func TestResources(t *testing.T) {
	e := newEnv(t)
	url1 := "https://tickets.example"
	e.do("POST", "/admin/resources", map[string]any{"audience": url1, "sensitivity": 2, "tenant": "acme"}).want(t, http.StatusCreated)
	e.do("POST", "/admin/resources", map[string]any{"audience": "kb-api", "sensitivity": 1}).want(t, http.StatusCreated)
	e.do("POST", "/admin/resources", map[string]any{"audience": "kb-api", "sensitivity": 1}).want(t, http.StatusConflict)
	e.do("POST", "/admin/resources", map[string]any{"audience": "x", "sensitivity": 7}).want(t, http.StatusBadRequest)

	q := "?audience=" + url.QueryEscape(url1)
	if r := e.do("GET", "/admin/resources"+q, nil).want(t, http.StatusOK).json(t); r["tenant"] != "acme" {
		t.Errorf("get by query = %v", r)
	}
	if r := e.do("GET", "/admin/resources/kb-api", nil).want(t, http.StatusOK).json(t); r["sensitivity"] != 1.0 {
		t.Errorf("get by path = %v", r)
	}
	list := e.do("GET", "/admin/resources", nil).want(t, http.StatusOK).json(t)["resources"].([]any)
	if len(list) != 2 {
		t.Errorf("list = %v", list)
	}
	e.now = t0.Add(time.Minute)
	upd := e.do("PUT", "/admin/resources"+q, map[string]any{"sensitivity": 3, "tactic": "collection"}).want(t, http.StatusOK).json(t)
	if upd["audience"] != url1 || upd["tenant"] != nil || upd["created_at"] != "2026-03-17T10:00:00Z" {
		t.Errorf("PUT replaced badly: %v", upd)
	}
	e.do("PUT", "/admin/resources/kb-api", map[string]any{"audience": "other", "sensitivity": 1}).want(t, http.StatusBadRequest)
	e.do("PUT", "/admin/resources/kb-api", map[string]any{"sensitivity": 0}).want(t, http.StatusBadRequest)
	e.do("PUT", "/admin/resources/missing", map[string]any{"sensitivity": 1}).want(t, http.StatusNotFound)
	e.do("PUT", "/admin/resources", map[string]any{"sensitivity": 1}).want(t, http.StatusBadRequest)
	e.do("DELETE", "/admin/resources"+q, nil).want(t, http.StatusNoContent)
	e.do("DELETE", "/admin/resources/kb-api", nil).want(t, http.StatusNoContent)
	e.do("DELETE", "/admin/resources/kb-api", nil).want(t, http.StatusNotFound)
	e.do("GET", "/admin/resources"+q, nil).want(t, http.StatusNotFound)
	audit, _ := e.store.ListAudit(t.Context(), storage.AuditFilter{})
	if len(audit) != 5 {
		t.Errorf("audit has %d records, want 5 (2 created, 1 updated, 2 deleted)", len(audit))
	}
}

func TestIssuers(t *testing.T) {
	e := newEnv(t)
	iss := map[string]any{"issuer": "https://kubernetes.example", "jwks_uri": "https://kubernetes.example/jwks",
		"audience": "vigil", "subjects": []map[string]string{{"subject": "system:serviceaccount:ci:*", "client_id": "ci-job"}}}
	e.do("POST", "/admin/issuers", iss).want(t, http.StatusCreated)
	e.do("POST", "/admin/issuers", iss).want(t, http.StatusConflict)
	q := "?issuer=" + url.QueryEscape("https://kubernetes.example")
	if r := e.do("GET", "/admin/issuers"+q, nil).want(t, http.StatusOK).json(t); r["audience"] != "vigil" {
		t.Errorf("get = %v", r)
	}
	delete(iss, "subjects")
	e.do("PUT", "/admin/issuers"+q, iss).want(t, http.StatusBadRequest)
	e.do("DELETE", "/admin/issuers"+q, nil).want(t, http.StatusNoContent)
	if r := e.do("GET", "/admin/issuers", nil).want(t, http.StatusOK).json(t); len(r["issuers"].([]any)) != 0 {
		t.Errorf("list after delete = %v", r)
	}
}

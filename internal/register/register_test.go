package register_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/limits"
	"github.com/vigil-auth/vigil/internal/register"
	"github.com/vigil-auth/vigil/internal/secret"
	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/memory"
)

const issuer = "https://vigil.example"

var t0 = time.Date(2026, 3, 17, 10, 0, 0, 0, time.UTC)

// testJWKS is a public P-256 key set.
const testJWKS = `{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","use":"sig","alg":"ES256","x":"oGZxXTpGBCihjrV6n7Ckrvwh7ohObHJV1c52r0l5CrA","y":"KwfNRvNM8ClVAO3O2MLDQBkLCHJkjLXKJk_7YdoEv4c"}]}`

// fakeVerifier accepts statements "valid.<payload>.sig" whose payload is
// base64url JSON, and jwks_uri values ending in /good.
type fakeVerifier struct{ claims map[string]any }

func (f fakeVerifier) VerifyIssuerJWT(_ context.Context, raw string, _ storage.Issuer, out any) error {
	if !strings.HasSuffix(raw, ".good") {
		return errors.New("bad signature")
	}
	b, _ := json.Marshal(f.claims)
	return json.Unmarshal(b, out)
}

func (fakeVerifier) CheckJWKS(jwks []byte) error {
	if !bytes.Contains(jwks, []byte(`"kty"`)) {
		return errors.New("no usable key")
	}
	return nil
}

func (fakeVerifier) CheckJWKSURI(_ context.Context, uri string) error {
	if !strings.HasSuffix(uri, "/good") {
		return errors.New("unreachable")
	}
	return nil
}

type terminator struct {
	mu  sync.Mutex
	ids []string
}

func (t *terminator) TerminateSession(_ context.Context, sid, _ string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ids = append(t.ids, sid)
	return nil
}

type env struct {
	store *memory.Store
	h     http.Handler
	term  *terminator
	now   time.Time
	v     *fakeVerifier
}

func newEnv(t *testing.T, p register.Policy) *env {
	t.Helper()
	hasher, err := secret.NewHasher(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{store: memory.New(), term: &terminator{}, now: t0, v: &fakeVerifier{}}
	h, err := register.New(issuer, p, register.Deps{Store: e.store, Hasher: hasher, Verifier: e.v, Sessions: e.term,
		Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	r := web.NewRouter()
	h.Mount(r)
	e.h = r
	return e
}

// initial stores an initial access token and returns its value.
func (e *env) initial(t *testing.T, raw string, mod func(*storage.InitialAccessToken)) string {
	t.Helper()
	it := storage.InitialAccessToken{ID: register.TokenID(raw), MaxUses: 1, ExpiresAt: t0.Add(time.Hour), CreatedAt: t0}
	if mod != nil {
		mod(&it)
	}
	if err := e.store.Update(context.Background(), func(w storage.Writer) error { return w.PutInitialToken(context.Background(), it) }); err != nil {
		t.Fatal(err)
	}
	return raw
}

func (e *env) do(method, path, token, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

func decode(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	return m
}

var policy = register.Policy{Kinds: []string{"agent", "service"}, Scopes: []string{"tickets.read", "tickets.write"},
	Audiences: []string{"https://tools.example/mcp"}, AuthMethods: []string{"private_key_jwt", "client_secret_basic"},
	StatementIssuers: []string{"https://publisher.example"}}

func TestRFC7591_3_2_1_RegisterPrivateKeyJWT(t *testing.T) {
	e := newEnv(t, policy)
	tok := e.initial(t, "viat_one", nil)
	w := e.do("POST", register.Path, tok, `{"client_name":"triage agent","token_endpoint_auth_method":"private_key_jwt",
		"grant_types":["client_credentials"],"scope":"tickets.read","jwks":`+testJWKS+`,"dpop_bound_access_tokens":true,
		"networks":["10.0.0.0/8"],"purposes":["ticket triage"],"unknown_member":"ignored"}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("register: %d %s", w.Code, w.Body)
	}
	got := decode(t, w)
	id, _ := got["client_id"].(string)
	if !strings.HasPrefix(id, register.ClientIDPrefix) || got["client_secret"] != nil || got["client_secret_expires_at"] != nil ||
		got["registration_access_token"] == nil || got["registration_client_uri"] != issuer+register.Path+"/"+id ||
		got["client_id_issued_at"] != float64(t0.Unix()) || got["scope"] != "tickets.read" || got["client_name"] != "triage agent" ||
		got["kind"] != "agent" || got["dpop_bound_access_tokens"] != true || got["unknown_member"] != nil ||
		fmt.Sprint(got["redirect_uris"]) != "[]" {
		t.Fatalf("client information response: %s", w.Body)
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Error("registration response is cacheable")
	}
	c, err := e.store.GetClient(context.Background(), id)
	if err != nil || c.Kind != "agent" || !c.DPoP || c.SecretHash != "" || string(c.JWKS) == "" ||
		c.Networks[0] != "10.0.0.0/8" || c.Purposes[0] != "ticket triage" || c.Audiences[0] != "https://tools.example/mcp" {
		t.Fatalf("stored client %+v, %v", c, err)
	}
	it, _ := e.store.GetInitialToken(context.Background(), register.TokenID(tok))
	if it.Uses != 1 {
		t.Errorf("initial token uses = %d, want 1", it.Uses)
	}
	// Single use: a second registration with it is refused.
	w = e.do("POST", register.Path, tok, `{"token_endpoint_auth_method":"private_key_jwt","jwks":`+testJWKS+`}`)
	if w.Code != http.StatusUnauthorized || decode(t, w)["error"] != "invalid_token" {
		t.Errorf("spent initial token: %d %s", w.Code, w.Body)
	}
	audit, _ := e.store.ListAudit(context.Background(), storage.AuditFilter{ClientID: id})
	if len(audit) != 1 || audit[0].Outcome != "registered" {
		t.Errorf("audit = %+v", audit)
	}
}

func TestRFC7591_RegisterSecretClient(t *testing.T) {
	e := newEnv(t, policy)
	w := e.do("POST", register.Path, e.initial(t, "viat_s", nil), `{"client_name":"svc","kind":"service"}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("register: %d %s", w.Code, w.Body)
	}
	got := decode(t, w)
	sec, _ := got["client_secret"].(string)
	if !strings.HasPrefix(sec, register.SecretPrefix) || got["client_secret_expires_at"] != float64(0) ||
		got["token_endpoint_auth_method"] != "client_secret_basic" || got["scope"] != "tickets.read tickets.write" ||
		got["grant_types"].([]any)[0] != "client_credentials" {
		t.Fatalf("response: %s", w.Body)
	}
	c, _ := e.store.GetClient(context.Background(), got["client_id"].(string))
	if c.SecretHash == "" || strings.Contains(c.SecretHash, sec) {
		t.Errorf("secret stored as %q", c.SecretHash)
	}
}

func TestRFC7591_3_2_2_Errors(t *testing.T) {
	tests := []struct {
		name, token, body string
		policy            *register.Policy
		mod               func(*storage.InitialAccessToken)
		wantStatus        int
		wantError         string
	}{
		{name: "no initial token", wantStatus: 401, wantError: "invalid_token", body: `{}`},
		{name: "unknown initial token", token: "viat_nope", wantStatus: 401, wantError: "invalid_token", body: `{}`},
		{name: "expired initial token", token: "-", wantStatus: 401, wantError: "invalid_token", body: `{}`,
			mod: func(it *storage.InitialAccessToken) { it.ExpiresAt = t0 }},
		{name: "revoked initial token", token: "-", wantStatus: 401, wantError: "invalid_token", body: `{}`,
			mod: func(it *storage.InitialAccessToken) { it.RevokedAt = t0 }},
		{name: "redirect uris", token: "-", wantStatus: 400, wantError: "invalid_redirect_uri",
			body: `{"redirect_uris":["https://app.example/cb"]}`},
		{name: "response types", token: "-", wantStatus: 400, wantError: "invalid_client_metadata",
			body: `{"response_types":["code"]}`},
		{name: "not json", token: "-", wantStatus: 400, wantError: "invalid_client_metadata", body: `{"scope":`},
		{name: "wrong member type", token: "-", wantStatus: 400, wantError: "invalid_client_metadata", body: `{"scope":7}`},
		{name: "repeated member", token: "-", wantStatus: 400, wantError: "invalid_client_metadata",
			body: `{"scope":"tickets.read","scope":"admin"}`},
		{name: "repeated nested member", token: "-", wantStatus: 400, wantError: "invalid_client_metadata",
			body: `{"schedule":{"days":"Mon-Fri","days":"Sat"}}`},
		{name: "scope outside policy", token: "-", wantStatus: 400, wantError: "invalid_client_metadata",
			body: `{"scope":"admin"}`},
		{name: "grant outside policy", token: "-", wantStatus: 400, wantError: "invalid_client_metadata",
			body: `{"grant_types":["refresh_token"]}`},
		{name: "authorization_code", token: "-", wantStatus: 400, wantError: "invalid_client_metadata",
			body: `{"grant_types":["authorization_code"]}`},
		{name: "resource server kind", token: "-", wantStatus: 400, wantError: "invalid_client_metadata",
			body: `{"kind":"resource_server"}`},
		{name: "audience outside policy", token: "-", wantStatus: 400, wantError: "invalid_client_metadata",
			body: `{"audiences":["https://other.example"]}`},
		{name: "auth method outside policy", token: "-", wantStatus: 400, wantError: "invalid_client_metadata",
			body: `{"token_endpoint_auth_method":"client_secret_post"}`},
		{name: "public client", token: "-", wantStatus: 400, wantError: "invalid_client_metadata",
			body: `{"token_endpoint_auth_method":"none"}`},
		{name: "private_key_jwt without keys", token: "-", wantStatus: 400, wantError: "invalid_client_metadata",
			body: `{"token_endpoint_auth_method":"private_key_jwt"}`},
		{name: "jwks and jwks_uri", token: "-", wantStatus: 400, wantError: "invalid_client_metadata",
			body: `{"jwks":` + testJWKS + `,"jwks_uri":"https://keys.example/good"}`},
		{name: "unusable jwks", token: "-", wantStatus: 400, wantError: "invalid_client_metadata",
			body: `{"jwks":{"keys":[]}}`},
		{name: "jwks_uri not https", token: "-", wantStatus: 400, wantError: "invalid_client_metadata",
			body: `{"jwks_uri":"http://keys.example/good"}`},
		{name: "jwks_uri unreachable", token: "-", wantStatus: 400, wantError: "invalid_client_metadata",
			body: `{"jwks_uri":"https://keys.example/bad"}`},
		{name: "client chooses its id", token: "-", wantStatus: 400, wantError: "invalid_client_metadata",
			body: `{"client_id":"admin"}`},
		{name: "bad network", token: "-", wantStatus: 400, wantError: "invalid_client_metadata",
			body: `{"networks":["nowhere"]}`},
		{name: "initial token narrows scopes", token: "-", wantStatus: 400, wantError: "invalid_client_metadata",
			body: `{"scope":"tickets.write"}`, mod: func(it *storage.InitialAccessToken) { it.Scopes = []string{"tickets.read"} }},
		{name: "statement from an unapproved issuer", token: "-", wantStatus: 400, wantError: "unapproved_software_statement",
			body: `{"software_statement":"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL2V2aWwuZXhhbXBsZSJ9.good"}`},
		{name: "statement not a jwt", token: "-", wantStatus: 400, wantError: "invalid_software_statement",
			body: `{"software_statement":"nope"}`},
		{name: "statement required", token: "-", wantStatus: 400, wantError: "unapproved_software_statement", body: `{}`,
			policy: &register.Policy{StatementIssuers: []string{"https://publisher.example"}, RequireStatement: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policy
			if tt.policy != nil {
				p = *tt.policy
			}
			e := newEnv(t, p)
			tok := tt.token
			if tok == "-" {
				tok = e.initial(t, "viat_t", tt.mod)
			}
			w := e.do("POST", register.Path, tok, tt.body)
			if w.Code != tt.wantStatus || decode(t, w)["error"] != tt.wantError {
				t.Fatalf("got %d %s, want %d %s", w.Code, w.Body, tt.wantStatus, tt.wantError)
			}
			if tt.wantStatus == 401 && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge")
			}
			if cs, _ := e.store.ListClients(context.Background()); len(cs) != 0 {
				t.Errorf("a refused registration created %d clients", len(cs))
			}
		})
	}
}

func TestRFC7591_OpenRegistration(t *testing.T) {
	p := policy
	p.Open = true
	e := newEnv(t, p)
	w := e.do("POST", register.Path, "", `{"jwks":`+testJWKS+`}`)
	if w.Code != http.StatusCreated || decode(t, w)["token_endpoint_auth_method"] != "private_key_jwt" {
		t.Fatalf("open registration: %d %s", w.Code, w.Body)
	}
	if w := e.do("POST", register.Path, "viat_forged", `{"jwks":`+testJWKS+`}`); w.Code != 401 {
		t.Errorf("a bad initial token on an open endpoint: %d, want 401", w.Code)
	}
}

func TestRFC7591_2_3_SoftwareStatement(t *testing.T) {
	e := newEnv(t, policy)
	ctx := context.Background()
	if err := e.store.Update(ctx, func(w storage.Writer) error {
		return w.PutIssuer(ctx, storage.Issuer{Issuer: "https://publisher.example", JWKS: json.RawMessage(testJWKS)})
	}); err != nil {
		t.Fatal(err)
	}
	// {"iss":"https://publisher.example"}
	stmt := "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL3B1Ymxpc2hlci5leGFtcGxlIn0."
	e.v.claims = map[string]any{"iss": "https://publisher.example", "software_id": "agent-kit", "scope": "tickets.read",
		"client_name": "Vetted Agent", "exp": t0.Add(time.Hour).Unix()}
	w := e.do("POST", register.Path, e.initial(t, "viat_st", nil),
		`{"software_statement":"`+stmt+`good","client_name":"my own name","scope":"tickets.write","jwks":`+testJWKS+`}`)
	got := decode(t, w)
	if w.Code != 201 || got["client_name"] != "Vetted Agent" || got["scope"] != "tickets.read" || got["software_id"] != "agent-kit" {
		t.Fatalf("statement values must take precedence: %d %s", w.Code, w.Body)
	}
	reg, _ := e.store.GetRegistration(ctx, got["client_id"].(string))
	if reg.StatementIssuer != "https://publisher.example" {
		t.Errorf("registration %+v", reg)
	}
	for name, tc := range map[string]struct {
		raw    string
		claims map[string]any
	}{
		"bad signature": {stmt + "bad", e.v.claims},
		"expired":       {stmt + "good", map[string]any{"iss": "https://publisher.example", "exp": t0.Add(-time.Hour).Unix()}},
		"expired past the clock leeway": {stmt + "good", map[string]any{"iss": "https://publisher.example",
			"exp": t0.Add(-limits.ClockLeeway - time.Second).Unix()}},
		"future iat": {stmt + "good", map[string]any{"iss": "https://publisher.example", "iat": t0.Add(time.Hour).Unix()}},
	} {
		e.v.claims = tc.claims
		w := e.do("POST", register.Path, e.initial(t, "viat_"+strings.ReplaceAll(name, " ", ""), nil),
			`{"software_statement":"`+tc.raw+`","jwks":`+testJWKS+`}`)
		if w.Code != 400 || decode(t, w)["error"] != "invalid_software_statement" {
			t.Errorf("%s: %d %s", name, w.Code, w.Body)
		}
	}
}

func TestRFC7592_ReadUpdateDelete(t *testing.T) {
	e := newEnv(t, policy)
	ctx := context.Background()
	w := e.do("POST", register.Path, e.initial(t, "viat_rud", nil), `{"client_name":"a","kind":"service"}`)
	reg := decode(t, w)
	id, rat, uri := reg["client_id"].(string), reg["registration_access_token"].(string), reg["registration_client_uri"].(string)
	path := strings.TrimPrefix(uri, issuer)
	secretValue := reg["client_secret"].(string)

	if w := e.do("GET", path, "", ""); w.Code != 401 {
		t.Errorf("read without token: %d", w.Code)
	}
	if w := e.do("GET", path, "vrat_wrong", ""); w.Code != 401 || decode(t, w)["error"] != "invalid_token" {
		t.Errorf("read with a wrong token: %d %s", w.Code, w.Body)
	}
	w = e.do("GET", path, rat, "")
	if got := decode(t, w); w.Code != 200 || got["client_id"] != id || got["client_name"] != "a" || got["client_secret"] != nil ||
		got["registration_access_token"] != rat {
		t.Fatalf("read: %d %s", w.Code, w.Body)
	}
	// Another client's token does not open this one.
	other := decode(t, e.do("POST", register.Path, e.initial(t, "viat_other", nil), `{"client_name":"b"}`))
	if w := e.do("GET", path, other["registration_access_token"].(string), ""); w.Code != 401 {
		t.Errorf("read with another client's token: %d", w.Code)
	}

	updates := []struct {
		name, body string
		want       int
		wantError  string
	}{
		{"client_id missing", `{"client_name":"x"}`, 400, "invalid_request"},
		{"registration_access_token sent", `{"client_id":"` + id + `","registration_access_token":"` + rat + `"}`, 400, "invalid_request"},
		{"client_id_issued_at sent", `{"client_id":"` + id + `","client_id_issued_at":1}`, 400, "invalid_request"},
		{"wrong secret", `{"client_id":"` + id + `","client_secret":"vcs_guess"}`, 400, "invalid_client_metadata"},
		{"scope outside policy", `{"client_id":"` + id + `","scope":"admin"}`, 400, "invalid_client_metadata"},
	}
	for _, u := range updates {
		if w := e.do("PUT", path, rat, u.body); w.Code != u.want || decode(t, w)["error"] != u.wantError {
			t.Errorf("update %s: %d %s", u.name, w.Code, w.Body)
		}
	}
	w = e.do("PUT", path, rat, `{"client_id":"`+id+`","client_secret":"`+secretValue+`","client_name":"renamed","kind":"service",
		"scope":"tickets.read","token_endpoint_auth_method":"client_secret_basic"}`)
	if got := decode(t, w); w.Code != 200 || got["client_name"] != "renamed" || got["scope"] != "tickets.read" || got["client_secret"] != nil {
		t.Fatalf("update: %d %s", w.Code, w.Body)
	}
	c, _ := e.store.GetClient(ctx, id)
	if len(c.Scopes) != 1 || c.SecretHash == "" {
		t.Errorf("updated client %+v", c)
	}
	// Delete terminates the client's live sessions.
	if err := e.store.Update(ctx, func(w storage.Writer) error {
		return w.CreateSession(ctx, storage.Session{ID: "s1", ClientID: id, Status: storage.SessionActive, CreatedAt: t0,
			ExpiresAt: t0.Add(time.Hour)})
	}); err != nil {
		t.Fatal(err)
	}
	if w := e.do("DELETE", path, rat, ""); w.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	if _, err := e.store.GetClient(ctx, id); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("client after delete: %v", err)
	}
	if len(e.term.ids) != 1 || e.term.ids[0] != "s1" {
		t.Errorf("terminated sessions %v, want [s1]", e.term.ids)
	}
	if w := e.do("GET", path, rat, ""); w.Code != 401 {
		t.Errorf("read after delete: %d, want 401", w.Code)
	}
}

func TestRFC7592_ClientDeletedByAdmin(t *testing.T) {
	e := newEnv(t, policy)
	ctx := context.Background()
	reg := decode(t, e.do("POST", register.Path, e.initial(t, "viat_x", nil), `{"client_name":"a"}`))
	id := reg["client_id"].(string)
	_ = e.store.Update(ctx, func(w storage.Writer) error { return w.DeleteClient(ctx, id) })
	w := e.do("GET", register.Path+"/"+id, reg["registration_access_token"].(string), "")
	if w.Code != 401 {
		t.Fatalf("read of a deleted client: %d, want 401 (RFC 7592 §2.1)", w.Code)
	}
	if _, err := e.store.GetRegistration(ctx, id); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("registration of a deleted client kept: %v", err)
	}
}

func TestInitialToken_MultiUseConcurrent(t *testing.T) {
	e := newEnv(t, policy)
	tok := e.initial(t, "viat_multi", func(it *storage.InitialAccessToken) { it.MaxUses = 3 })
	var wg sync.WaitGroup
	codes := make(chan int, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- e.do("POST", register.Path, tok, `{"client_name":"c"}`).Code
		}()
	}
	wg.Wait()
	close(codes)
	created := 0
	for c := range codes {
		if c == 201 {
			created++
		}
	}
	if created != 3 {
		t.Errorf("%d registrations with a 3-use token, want 3", created)
	}
}

func TestPolicy_Validate(t *testing.T) {
	for _, p := range []register.Policy{
		{Kinds: []string{"resource_server"}},
		{GrantTypes: []string{"authorization_code"}},
		{AuthMethods: []string{"none"}},
		{Scopes: []string{"a b"}},
		{RequireStatement: true},
	} {
		if err := p.WithDefaults().Validate(); err == nil {
			t.Errorf("policy %+v accepted", p)
		}
	}
}

// TestRFC7592_UpdateKeepsAdminSettings: what an admin set on a registered
// client's record survives the client's own update.
func TestRFC7592_UpdateKeepsAdminSettings(t *testing.T) {
	e := newEnv(t, policy)
	ctx := context.Background()
	reg := decode(t, e.do("POST", register.Path, e.initial(t, "viat_keep", nil), `{"client_name":"a","kind":"service"}`))
	id := reg["client_id"].(string)
	if err := e.store.Update(ctx, func(w storage.Writer) error {
		c, err := w.GetClient(ctx, id)
		if err != nil {
			return err
		}
		c.AccessTokenTTL, c.Disabled = storage.Duration(time.Minute), true
		return w.PutClient(ctx, c)
	}); err != nil {
		t.Fatal(err)
	}
	w := e.do("PUT", register.Path+"/"+id, reg["registration_access_token"].(string),
		`{"client_id":"`+id+`","kind":"service","scope":"tickets.read","jwks":`+testJWKS+`}`)
	if w.Code != 200 {
		t.Fatalf("update: %d %s", w.Code, w.Body)
	}
	c, _ := e.store.GetClient(ctx, id)
	if c.AccessTokenTTL.D() != time.Minute || !c.Disabled || c.SecretHash != "" || len(c.JWKS) == 0 || len(c.Scopes) != 1 {
		t.Errorf("updated client %+v", c)
	}
}

// TestRFC7591_2_MemberNamesAreExact: a member in another case is an
// unknown member, ignored, not the member encoding/json would take it for;
// generated IDs are in canonical form.
func TestRFC7591_2_MemberNamesAreExact(t *testing.T) {
	e := newEnv(t, policy)
	w := e.do("POST", register.Path, e.initial(t, "viat_case", nil), `{"SCOPE":"admin","Kind":"service"}`)
	got := decode(t, w)
	if w.Code != 201 || got["scope"] != "tickets.read tickets.write" || got["kind"] != "agent" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if id := got["client_id"].(string); storage.CanonicalID(id) != id || storage.ValidateClientID(id) != nil {
		t.Errorf("generated id %q is not canonical", id)
	}
}

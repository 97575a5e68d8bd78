package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	vconfig "github.com/pb33f/libopenapi-validator/config"

	"github.com/vigil-auth/vigil/internal/admin"
	"github.com/vigil-auth/vigil/internal/secret"
	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/memory"
)

// describedOps returns "METHOD /path" for every operation the description has.
func describedOps(t *testing.T) map[string]map[string]bool {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(admin.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	ops := map[string]map[string]bool{}
	for path, item := range doc.Paths {
		for method, op := range item {
			statuses := map[string]bool{}
			for code := range op.Responses {
				statuses[code] = true
			}
			ops[strings.ToUpper(method)+" "+path] = statuses
		}
	}
	return ops
}

// newValidator returns a validator of requests and responses against the
// description, with format assertions (date-time, uri) on.
func newValidator(t *testing.T) validator.Validator {
	t.Helper()
	doc, err := libopenapi.NewDocument(admin.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc, vconfig.WithFormatAssertions())
	if len(errs) > 0 {
		t.Fatalf("description: %v", errs)
	}
	return v
}

func TestOpenAPI_DocumentIsValid(t *testing.T) {
	v := newValidator(t)
	if ok, errs := v.ValidateDocument(); !ok {
		for _, e := range errs {
			t.Errorf("%s: %s", e.Message, e.Reason)
		}
	}
	var head struct {
		OpenAPI string `json:"openapi"`
	}
	if err := json.Unmarshal(admin.OpenAPI(), &head); err != nil || head.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, %v; want 3.1.0", head.OpenAPI, err)
	}
}

// openAPIPath turns a router template into the description's form:
// "/admin/resources/{key:.+}" becomes "/admin/resources/{key}".
var muxVar = regexp.MustCompile(`\{([a-z]+):[^}]*\}`)

func openAPIPath(tmpl string) string { return muxVar.ReplaceAllString(tmpl, "{$1}") }

// probeMethods are the methods tried on every route.
var probeMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// TestOpenAPI_EveryRouteDescribed walks the router the admin API mounts
// itself on and asks each route, with a valid credential, which methods
// it serves (anything but 405). The set must equal the description's
// operations exactly.
func TestOpenAPI_EveryRouteDescribed(t *testing.T) {
	w := newWorld(t)
	served := map[string]bool{}
	err := w.router.Walk(func(tmpl string, methods []string) error {
		if tmpl == "/admin" || tmpl == "/admin/{rest:.*}" {
			return nil // every other path: 401, or 404 for an administrator
		}
		if len(methods) > 0 {
			return fmt.Errorf("%s is registered for %v: the admin API dispatches methods itself", tmpl, methods)
		}
		path := openAPIPath(tmpl)
		concrete := strings.NewReplacer("{id}", "x", "{sid}", "x", "{key}", "x").Replace(path)
		for _, m := range probeMethods {
			if r := w.do(m, concrete, nil, adminToken); r.status != http.StatusMethodNotAllowed {
				served[m+" "+path] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	described := describedOps(t)
	for op := range served {
		if described[op] == nil {
			t.Errorf("%s is served but not described", op)
		}
	}
	for op := range described {
		if !served[op] {
			t.Errorf("%s is described but not served", op)
		}
	}
	if len(served) < 30 {
		t.Errorf("only %d operations served; the walk found too little", len(served))
	}
}

// world is an admin API with every collaborator, on a real router.
type world struct {
	t       *testing.T
	router  *web.Router
	srv     *httptest.Server
	store   *backupStore
	reload  *fakeReloader
	lastIAT string // id of the last initial access token created
}

func newWorld(t *testing.T) *world {
	t.Helper()
	h, err := secret.NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, store: &backupStore{memory.New()}, reload: &fakeReloader{}}
	now := func() time.Time { return t0 }
	d := admin.Deps{Store: w.store, Hasher: h, Now: now,
		Sessions: &fakeTerminator{store: w.store, now: now}, Keys: &fakeKeys{store: w.store},
		Signals: fakeSignaler{w.store}, Tokens: fakeRevoker{w.store}, Policy: &fakePolicy{}, Reload: w.reload,
		Credentials: admin.Credentials{admin.TokenCredential("auditor", admin.RoleReadOnly, readOnlyToken)}}
	w.router = web.NewRouter()
	admin.New(adminToken, d).Mount(w.router)
	w.srv = httptest.NewServer(w.router)
	t.Cleanup(w.srv.Close)
	return w
}

// bareWorld is an admin API with only its required collaborators: the
// optional features answer 404.
func bareWorld(t *testing.T) *world {
	t.Helper()
	h, err := secret.NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, store: &backupStore{memory.New()}, router: web.NewRouter()}
	admin.New(adminToken, admin.Deps{Store: w.store.Store, Hasher: h}).Mount(w.router)
	w.srv = httptest.NewServer(w.router)
	t.Cleanup(w.srv.Close)
	return w
}

// exchange is one request and its answer, kept for validation.
type exchange struct {
	req    *http.Request
	body   []byte // the request body
	status int
	header http.Header
	resp   []byte
}

func (w *world) do(method, path string, body []byte, token string) exchange {
	w.t.Helper()
	req, err := http.NewRequest(method, w.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := w.srv.Client().Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	return exchange{req: req, body: body, status: res.StatusCode, header: res.Header, resp: b}
}

// backupStore is the memory store with an online backup, as bolt has.
type backupStore struct{ *memory.Store }

func (backupStore) Backup(w io.Writer) (int64, error) {
	n, err := w.Write([]byte("bolt database bytes"))
	return int64(n), err
}

// fakeSignaler answers for a stored session, and ErrNotFound otherwise.
type fakeSignaler struct{ store storage.Store }

func (f fakeSignaler) Signal(ctx context.Context, sid, _ string, _ risk.Signal) (map[string]risk.Decision, error) {
	if _, err := f.store.GetSession(ctx, sid); err != nil {
		return nil, err
	}
	return map[string]risk.Decision{sid: {Level: risk.LevelHigh, Score: 97, Action: risk.StepUp}}, nil
}

// fakeRevoker revokes one stored token.
type fakeRevoker struct{ store storage.Store }

func (f fakeRevoker) RevokeToken(ctx context.Context, id string) error {
	return f.store.Update(ctx, func(w storage.Writer) error {
		tok, err := w.GetToken(ctx, id)
		if err != nil {
			return err
		}
		tok.RevokedAt = t0
		return w.PutToken(ctx, tok)
	})
}

// fakePolicy is the default policy with a switch.
type fakePolicy struct{ on atomic.Bool }

func (f *fakePolicy) Policy() risk.Policy   { return risk.DefaultPolicy() }
func (f *fakePolicy) ReportOnly() bool      { return f.on.Load() }
func (f *fakePolicy) SetReportOnly(on bool) { f.on.Store(on) }

// TestOpenAPI_Served checks that the description is served as it is kept,
// without a credential, to GET only, and only where the API is enabled.
func TestOpenAPI_Served(t *testing.T) {
	w := newWorld(t)
	ex := w.do("GET", admin.OpenAPIPath, nil, "")
	if ex.status != http.StatusOK || !bytes.Equal(ex.resp, admin.OpenAPI()) {
		t.Fatalf("GET without a credential: %d, %d bytes; want 200 and the description", ex.status, len(ex.resp))
	}
	if ct := ex.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	for _, tok := range []string{"", adminToken} {
		if ex := w.do("POST", admin.OpenAPIPath, []byte(`{}`), tok); ex.status != http.StatusMethodNotAllowed || ex.header.Get("Allow") != "GET" {
			t.Errorf("POST (token %t): %d, Allow %q; want 405, GET", tok != "", ex.status, ex.header.Get("Allow"))
		}
	}
	if ex := w.do("GET", "/admin/openapi.yaml", nil, ""); ex.status != http.StatusUnauthorized {
		t.Errorf("a neighbouring path without a credential: %d, want 401", ex.status)
	}
	r := web.NewRouter()
	admin.New("", admin.Deps{Store: memory.New()}).Mount(r)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", admin.OpenAPIPath, nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("with the admin API disabled: %d, want 404", rec.Code)
	}
}

// TestOpenAPI_ValidatorCatchesDrift makes sure the validation above can
// fail: answers that break the description in status, content type or
// body are reported.
func TestOpenAPI_ValidatorCatchesDrift(t *testing.T) {
	v := newValidator(t)
	tests := []struct {
		name, ct, body string
		status         int
	}{
		{"undescribed status", "application/json", `{"error":"teapot"}`, http.StatusTeapot},
		{"wrong content type", "text/plain", `{"clients":[]}`, http.StatusOK},
		{"missing required member", "application/json", `{"clients":[{"id":"a1"}]}`, http.StatusOK},
		{"undescribed member", "application/json", `{"clients":[],"total":0}`, http.StatusOK},
		{"secret hash leaks", "application/json", `{"clients":[{"id":"a1","kind":"agent","secret_hash":"x"}]}`, http.StatusOK},
		{"error without its code", "application/json", `{"error_description":"no"}`, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/admin/clients", nil)
			res := &http.Response{StatusCode: tt.status, Header: http.Header{"Content-Type": {tt.ct}},
				Body: io.NopCloser(strings.NewReader(tt.body)), Request: req}
			if ok, _ := v.ValidateHttpResponse(req, res); ok {
				t.Error("validated; want a failure")
			}
		})
	}
}

// TestOpenAPI_NoBooleanSchemas keeps the description readable by client
// generators: JSON Schema allows true and false as schemas, but several
// generators (ogen among them) refuse them; {"not": {}} says "never" to
// every tool.
func TestOpenAPI_NoBooleanSchemas(t *testing.T) {
	var doc any
	if err := json.Unmarshal(admin.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if _, isBool := c.(bool); isBool && (strings.HasSuffix(path, "/properties") || k == "items" || k == "not") {
					t.Errorf("%s/%s is a boolean schema", path, k)
				}
				walk(path+"/"+k, c)
			}
		case []any:
			for i, c := range x {
				walk(fmt.Sprintf("%s/%d", path, i), c)
			}
		}
	}
	walk("", doc)
}

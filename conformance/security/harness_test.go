package security

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/authz"
	"github.com/vigil-auth/vigil/internal/secret"
	"github.com/vigil-auth/vigil/internal/server"
	"github.com/vigil-auth/vigil/internal/server/servertest"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/bolt"
	"github.com/vigil-auth/vigil/storage/memory"
)

// Endpoints and protocol identifiers.
const (
	pathToken      = "/oauth2/token"
	pathIntrospect = "/oauth2/introspect"
	pathRevoke     = "/oauth2/revoke"
	pathRevalidate = "/oauth2/revalidate"

	grantExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	typeAccess    = "urn:ietf:params:oauth:token-type:access_token"
	typeJWT       = "urn:ietf:params:oauth:token-type:jwt"
	assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

	rs1 = "https://rs1.example"
	rs2 = "https://rs2.example"

	workloadIssuer = "https://workload.example"
	adminToken     = "vat_security-suite-admin-token-0123456789abcdef"
)

// clock is the server's controllable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// Fault modes of faultStore.
const (
	faultNone   int32 = iota
	faultWrites       // every Update fails before it runs (a full disk, a read-only file)
	faultCommit       // every Update runs, then fails to commit and rolls back
	faultAll          // reads fail too (the backend is gone)
)

// errInjected is the failure faultStore reports, as a backend would.
var errInjected = fmt.Errorf("injected fault: %w", storage.ErrUnavailable)

// faultStore is a storage.Store that fails on demand.
type faultStore struct {
	storage.Store
	mode atomic.Int32
}

func (f *faultStore) set(mode int32) { f.mode.Store(mode) }

func (f *faultStore) Update(ctx context.Context, fn func(storage.Writer) error) error {
	switch f.mode.Load() {
	case faultWrites, faultAll:
		return errInjected
	case faultCommit:
		err := f.Store.Update(ctx, func(w storage.Writer) error {
			if err := fn(w); err != nil {
				return err
			}
			return errInjected // roll back what fn wrote
		})
		return err
	}
	return f.Store.Update(ctx, fn)
}

func (f *faultStore) readErr() error {
	if f.mode.Load() == faultAll {
		return errInjected
	}
	return nil
}

func read1[T any](f *faultStore, get func() (T, error)) (T, error) {
	if err := f.readErr(); err != nil {
		var zero T
		return zero, err
	}
	return get()
}

func (f *faultStore) GetClient(ctx context.Context, id string) (storage.Client, error) {
	return read1(f, func() (storage.Client, error) { return f.Store.GetClient(ctx, id) })
}

func (f *faultStore) GetResource(ctx context.Context, a string) (storage.Resource, error) {
	return read1(f, func() (storage.Resource, error) { return f.Store.GetResource(ctx, a) })
}

func (f *faultStore) GetIssuer(ctx context.Context, i string) (storage.Issuer, error) {
	return read1(f, func() (storage.Issuer, error) { return f.Store.GetIssuer(ctx, i) })
}

func (f *faultStore) GetSession(ctx context.Context, id string) (storage.Session, error) {
	return read1(f, func() (storage.Session, error) { return f.Store.GetSession(ctx, id) })
}

func (f *faultStore) GetToken(ctx context.Context, id string) (storage.Token, error) {
	return read1(f, func() (storage.Token, error) { return f.Store.GetToken(ctx, id) })
}

func (f *faultStore) ListSessionTokens(ctx context.Context, sid string) ([]storage.Token, error) {
	return read1(f, func() ([]storage.Token, error) { return f.Store.ListSessionTokens(ctx, sid) })
}

func (f *faultStore) ListSessions(ctx context.Context, sf storage.SessionFilter) ([]storage.Session, error) {
	return read1(f, func() ([]storage.Session, error) { return f.Store.ListSessions(ctx, sf) })
}

func (f *faultStore) ListAudit(ctx context.Context, af storage.AuditFilter) ([]storage.AuditRecord, error) {
	return read1(f, func() ([]storage.AuditRecord, error) { return f.Store.ListAudit(ctx, af) })
}

// lockedBuffer collects the server's log output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// env is one Vigil under test and the credentials of its clients.
type env struct {
	url       string
	issuer    string
	clock     *clock
	faults    *faultStore
	base      storage.Store
	dbPath    string
	handler   http.Handler
	hasher    *secret.Hasher
	logs      *lockedBuffer
	secrets   map[string]string
	keys      map[string]*ecdsa.PrivateKey // private_key_jwt keys by client id
	issuerKey *ecdsa.PrivateKey
	http      *http.Client
}

// envOptions select the backend and the optional parts of the registry.
type envOptions struct {
	memory       bool // the memory store instead of a bbolt file
	reportOnly   bool // the risk engine advises but never refuses
	shortSecrets bool // register clients with short (slow-hash) secrets
	noGrace      bool // refresh_grace 0 instead of the default
}

type envOpt func(*envOptions)

func withMemory() envOpt       { return func(o *envOptions) { o.memory = true } }
func withReportOnly() envOpt   { return func(o *envOptions) { o.reportOnly = true } }
func withShortSecrets() envOpt { return func(o *envOptions) { o.shortSecrets = true } }
func withNoGrace() envOpt      { return func(o *envOptions) { o.noGrace = true } }

// newEnv starts the real server assembly with the suite's clients.
func newEnv(t *testing.T, opts ...envOpt) *env {
	t.Helper()
	var o envOptions
	for _, opt := range opts {
		opt(&o)
	}
	e := &env{clock: &clock{now: time.Now().Truncate(time.Second)}, logs: &lockedBuffer{},
		secrets: map[string]string{}, keys: map[string]*ecdsa.PrivateKey{}, http: &http.Client{Timeout: 30 * time.Second}}
	e.base = e.openStore(t, o.memory)
	e.faults = &faultStore{Store: e.base}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sopts := []server.Option{server.WithStore(e.faults), server.WithClock(e.clock.Now), server.WithLogger(log),
		server.WithGetenv(servertest.Env(adminToken))}
	if o.reportOnly {
		p := risk.DefaultPolicy()
		p.ReportOnly = true
		rsk, err := risk.New(p)
		if err != nil {
			t.Fatal(err)
		}
		sopts = append(sopts, server.WithRisk(rsk))
	}
	settings := servertest.Settings()
	if o.noGrace {
		settings.RefreshGrace = 0
	}
	srv := servertest.Start(t, settings, sopts...)
	e.hasher = srv.Hasher()
	e.register(t, o.shortSecrets)
	e.url, e.issuer, e.handler = srv.URL, srv.URL, srv.Handler()
	return e
}

func (e *env) openStore(t *testing.T, mem bool) storage.Store {
	if mem {
		return memory.New()
	}
	e.dbPath = filepath.Join(t.TempDir(), "vigil.db")
	st, err := bolt.Open(e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func newECKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// client is a registration of the suite.
type client struct {
	id, kind, secret string
	grants           []string
	scopes, auds     []string
	mayAct           []string
	dpop, jwtFormat  bool
	jwks             bool // private_key_jwt with a generated key
	introspect       []string
}

var (
	allGrants = []string{"client_credentials", "refresh_token", grantExchange}
	ccAndEx   = []string{"client_credentials", grantExchange}
)

func registry(short bool) []client {
	actorScopes := []string{"tickets.read", "kb.read"}
	cs := []client{
		{id: "agent", kind: "agent", grants: allGrants, scopes: []string{"tickets.read", "tickets.write", "kb.read"},
			auds: []string{rs1, rs2}, mayAct: []string{"actor1", "actor2", "actor3", "actor4"}},
		{id: "actor1", kind: "agent", grants: ccAndEx, scopes: actorScopes, auds: []string{rs1, rs2}},
		{id: "actor2", kind: "agent", grants: ccAndEx, scopes: actorScopes, auds: []string{rs1, rs2}},
		{id: "actor3", kind: "agent", grants: ccAndEx, scopes: actorScopes, auds: []string{rs1, rs2}},
		{id: "actor4", kind: "agent", grants: ccAndEx, scopes: actorScopes, auds: []string{rs1, rs2}},
		{id: "other", kind: "service", grants: allGrants, scopes: []string{"tickets.read"}, auds: []string{rs1}},
		{id: "jwtsvc", kind: "service", grants: allGrants, scopes: []string{"tickets.read"}, auds: []string{rs1}, jwtFormat: true},
		{id: "pkjwt", kind: "workload", grants: allGrants, scopes: []string{"tickets.read"}, auds: []string{rs1}, jwks: true},
		{id: "dpop", kind: "agent", grants: allGrants, scopes: []string{"tickets.read"}, auds: []string{rs1}, dpop: true},
		{id: "rs1", kind: storage.KindResourceServer, introspect: []string{rs1}},
		{id: "rs2", kind: storage.KindResourceServer, introspect: []string{rs2}},
	}
	if short {
		cs = append(cs,
			client{id: "short1", kind: "service", secret: "pw-short-1", grants: []string{"client_credentials"}, scopes: []string{"tickets.read"}, auds: []string{rs1}},
			client{id: "short2", kind: "service", secret: "pw-short-2", grants: []string{"client_credentials"}, scopes: []string{"tickets.read"}, auds: []string{rs1}})
	}
	return cs
}

// register writes the suite's clients, resources and trusted issuer.
func (e *env) register(t *testing.T, short bool) {
	t.Helper()
	ctx := context.Background()
	e.issuerKey = newECKey(t)
	now := e.clock.Now()
	err := e.base.Update(ctx, func(w storage.Writer) error {
		for _, c := range registry(short) {
			rec, err := e.record(t, c)
			if err != nil {
				return err
			}
			rec.CreatedAt, rec.UpdatedAt = now, now
			if err := w.PutClient(ctx, rec); err != nil {
				return err
			}
		}
		for i, aud := range []string{rs1, rs2} {
			if err := w.PutResource(ctx, storage.Resource{Audience: aud, Sensitivity: i + 1, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		return w.PutIssuer(ctx, storage.Issuer{Issuer: workloadIssuer, JWKS: jwksOf(e.issuerKey, "wl-1"),
			Algorithms: []string{"ES256"}, Audience: "vigil", Scopes: []string{"tickets.read"}, Audiences: []string{rs1},
			Subjects: []storage.SubjectMapping{{Subject: "system:serviceaccount:ci:*", ClientID: "pkjwt"}}, CreatedAt: now, UpdatedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) record(t *testing.T, c client) (storage.Client, error) {
	rec := storage.Client{ID: c.id, Kind: c.kind, GrantTypes: c.grants, Scopes: c.scopes, Audiences: c.auds,
		MayAct: c.mayAct, DPoP: c.dpop, Introspect: c.introspect}
	if c.jwtFormat {
		rec.TokenFormat = "jwt"
	}
	if c.jwks {
		k := newECKey(t)
		e.keys[c.id] = k
		rec.JWKS = jwksOf(k, c.id+"-key")
		return rec, nil
	}
	sec := c.secret
	if sec == "" {
		sec = secret.Generate("vcs_")
	}
	e.secrets[c.id] = sec
	rec.SecretHash = e.hasher.Hash(sec)
	return rec, nil
}

// result is one HTTP answer.
type result struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r result) str(k string) string { s, _ := r.body[k].(string); return s }

func (r result) active() bool { return r.status == 200 && r.body["active"] == true }

// reqOpt changes an outgoing request.
type reqOpt func(*http.Request)

func basic(id, sec string) reqOpt {
	return func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(sec)) }
}

func header(k, v string) reqOpt { return func(r *http.Request) { r.Header.Add(k, v) } }

func from(addr string) reqOpt { return func(r *http.Request) { r.RemoteAddr = addr } }

func (e *env) as(id string) reqOpt { return basic(id, e.secrets[id]) }

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func newRequest(t testing.TB, target, path string, body io.Reader, opts ...reqOpt) *http.Request {
	req, err := http.NewRequest(http.MethodPost, target+path, body)
	if err != nil {
		panic(err) // only a malformed test URL gets here
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, o := range opts {
		o(req)
	}
	return req
}

// post sends a form POST over HTTP.
func (e *env) post(t testing.TB, path string, f url.Values, opts ...reqOpt) result {
	t.Helper()
	return e.postBody(t, path, f.Encode(), opts...)
}

func (e *env) postBody(t testing.TB, path, body string, opts ...reqOpt) result {
	t.Helper()
	resp, err := e.http.Do(newRequest(t, e.url, path, strings.NewReader(body), opts...))
	if err != nil {
		// Errorf, not Fatal: post also runs on goroutines of concurrency tests.
		t.Errorf("POST %s: %v", path, err)
		return result{}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return toResult(resp.StatusCode, resp.Header, raw)
}

// serve hands a request straight to the server's handler, so that it can
// come from any address (the from option).
func (e *env) serve(t testing.TB, path string, f url.Values, opts ...reqOpt) result {
	t.Helper()
	req := newRequest(t, "http://vigil.test", path, strings.NewReader(f.Encode()), opts...)
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	return toResult(rec.Code, rec.Header(), rec.Body.Bytes())
}

func toResult(status int, h http.Header, raw []byte) result {
	r := result{status: status, header: h, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// admin sends an admin API request.
func (e *env) admin(t testing.TB, method, path string, body any) result {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.http.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return result{}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return toResult(resp.StatusCode, resp.Header, raw)
}

// cc runs client_credentials for id and fails the test on error.
func (e *env) cc(t testing.TB, id string, kv ...string) result {
	t.Helper()
	r := e.post(t, pathToken, form(append([]string{"grant_type", "client_credentials"}, kv...)...), e.as(id))
	if r.status != 200 {
		t.Fatalf("client_credentials for %s: %d %s", id, r.status, r.raw)
	}
	return r
}

func (e *env) refresh(t testing.TB, id, rt string, kv ...string) result {
	t.Helper()
	return e.post(t, pathToken, form(append([]string{"grant_type", "refresh_token", "refresh_token", rt}, kv...)...), e.as(id))
}

func (e *env) exchange(t testing.TB, caller string, kv ...string) result {
	t.Helper()
	return e.post(t, pathToken, form(append([]string{"grant_type", grantExchange}, kv...)...), e.as(caller))
}

// delegate has actor exchange subject for a token acting on its behalf.
func (e *env) delegate(t testing.TB, actor, subject string, kv ...string) result {
	t.Helper()
	own := e.cc(t, actor).str("access_token")
	return e.exchange(t, actor, append([]string{"subject_token", subject, "subject_token_type", typeAccess,
		"actor_token", own, "actor_token_type", typeAccess}, kv...)...)
}

func (e *env) introspect(t testing.TB, rs, token string, kv ...string) result {
	t.Helper()
	return e.post(t, pathIntrospect, form(append([]string{"token", token}, kv...)...), e.as(rs))
}

func (e *env) revoke(t testing.TB, id, token string) result {
	t.Helper()
	return e.post(t, pathRevoke, form("token", token), e.as(id))
}

// wantError checks an OAuth error answer.
func wantError(t testing.TB, r result, status int, code string) {
	t.Helper()
	if r.status != status || r.str("error") != code {
		t.Fatalf("got %d %s, want %d %s", r.status, r.raw, status, code)
	}
}

// wantRefused checks that r is a 4xx OAuth error (no token issued).
func wantRefused(t testing.TB, r result) {
	t.Helper()
	if r.status < 400 || r.status >= 500 || r.str("error") == "" || r.str("access_token") != "" {
		t.Fatalf("want a 4xx refusal, got %d %s", r.status, r.raw)
	}
}

func wantInactive(t testing.TB, r result) {
	t.Helper()
	if r.status != 200 || strings.TrimSpace(string(r.raw)) != `{"active":false}` {
		t.Fatalf("got %d %s, want exactly {\"active\":false}", r.status, r.raw)
	}
}

func wantActive(t testing.TB, r result) {
	t.Helper()
	if !r.active() {
		t.Fatalf("want active, got %d %s", r.status, r.raw)
	}
}

// token reads a token's record through the store, by its raw value.
func (e *env) token(t testing.TB, raw string) storage.Token {
	t.Helper()
	tok, err := e.base.GetToken(context.Background(), authz.TokenID(raw))
	if err != nil {
		t.Fatalf("token record: %v", err)
	}
	return tok
}

// audit lists audit records through the store.
func (e *env) audit(t testing.TB, f storage.AuditFilter) []storage.AuditRecord {
	t.Helper()
	recs, err := e.base.ListAudit(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// editClient changes a registration in the store.
func (e *env) editClient(t testing.TB, id string, change func(*storage.Client)) {
	t.Helper()
	ctx := context.Background()
	err := e.base.Update(ctx, func(w storage.Writer) error {
		c, err := w.GetClient(ctx, id)
		if err != nil {
			return err
		}
		change(&c)
		return w.PutClient(ctx, c)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// both runs f against each storage backend.
func both(t *testing.T, f func(t *testing.T, mem bool)) {
	for _, mem := range []bool{false, true} {
		name := "bolt"
		if mem {
			name = "memory"
		}
		t.Run(name, func(t *testing.T) { f(t, mem) })
	}
}

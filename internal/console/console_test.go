package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/admin"
	"github.com/vigil-auth/vigil/internal/console"
	"github.com/vigil-auth/vigil/internal/secret"
	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/memory"
)

const (
	adminToken    = "vat_console-admin-token-0123456789abcdefghijk"
	readOnlyToken = "vat_console-read-only-0123456789abcdefghijkl"
)

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

// policy is a PolicyControl over the default policy.
type policy struct {
	mu sync.Mutex
	on bool
}

func (p *policy) Policy() risk.Policy          { return risk.DefaultPolicy() }
func (p *policy) ReportOnly() bool             { p.mu.Lock(); defer p.mu.Unlock(); return p.on }
func (p *policy) SetReportOnly(on bool)        { p.mu.Lock(); defer p.mu.Unlock(); p.on = on }
func (p *policy) Check([]byte) (string, error) { return "policy ok", nil }

// revoker revokes single tokens in the store, as authz does.
type revoker struct{ store storage.Store }

func (f revoker) RevokeToken(ctx context.Context, id string) error {
	return f.store.Update(ctx, func(w storage.Writer) error {
		tok, err := w.GetToken(ctx, id)
		if err != nil {
			return err
		}
		tok.RevokedAt = t0
		return w.PutToken(ctx, tok)
	})
}

// signaler records the signals it receives.
type signaler struct {
	mu  sync.Mutex
	got []risk.Signal
	sid []string
}

func (f *signaler) Signal(_ context.Context, sid, _ string, sig risk.Signal) (map[string]risk.Decision, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got, f.sid = append(f.got, sig), append(f.sid, sid)
	return map[string]risk.Decision{sid: {Level: "high", Score: 99, Action: "step_up"}}, nil
}

type env struct {
	t       testing.TB
	srv     *httptest.Server
	store   *memory.Store
	pol     *policy
	signals *signaler
	now     time.Time
	mu      sync.Mutex
}

func (e *env) clock() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now }

func (e *env) advance(d time.Duration) { e.mu.Lock(); defer e.mu.Unlock(); e.now = e.now.Add(d) }

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvConfig(t, console.Config{IdleTimeout: 10 * time.Minute})
}

func newEnvConfig(t *testing.T, cfg console.Config, opts ...func(*console.Deps)) *env {
	t.Helper()
	h, err := secret.NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: memory.New(), pol: &policy{}, signals: &signaler{}, now: t0}
	api := admin.New(adminToken, admin.Deps{Store: e.store, Hasher: h, Sessions: terminator{e.store}, Policy: e.pol, Now: e.clock,
		Tokens: revoker{e.store}, Signals: e.signals,
		Credentials: admin.Credentials{admin.TokenCredential("auditor", admin.RoleReadOnly, readOnlyToken)}})
	d := console.Deps{Store: e.store, Admin: api.Internal(), Auth: api.Credentials(), Policy: e.pol, Now: e.clock}
	for _, o := range opts {
		o(&d)
	}
	c, err := console.New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	r := web.NewRouter()
	api.Mount(r)
	c.Mount(r)
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)
	ctx := t.Context()
	err = e.store.Update(ctx, func(w storage.Writer) error {
		if err := w.PutClient(ctx, storage.Client{ID: "agent-1", Kind: storage.KindAgent}); err != nil {
			return err
		}
		if err := w.CreateSession(ctx, storage.Session{ID: "ses_1", ClientID: "agent-1", Subject: "agent-1",
			CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), Status: storage.SessionActive}); err != nil {
			return err
		}
		for i, sc := range []int{10, 40, 70} {
			ev := storage.Event{SessionID: "ses_1", At: t0.Add(time.Duration(i) * time.Minute), Type: "exchange", ClientID: "agent-1",
				Score: sc, Level: []string{"none", "medium", "high"}[i], Action: "allow",
				Reasons: []storage.Reason{{Code: "scope.escalation_attempt", Points: 30, Evidence: "asked <b>admin</b>"}}}
			if err := w.AppendEvent(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// browser is a client with a cookie jar that does not follow redirects.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values, hdr map[string]string) page {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.srv.URL+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return page{status: res.StatusCode, header: res.Header, body: string(raw)}
}

func (b *browser) get(path string) page { return b.do(http.MethodGet, path, nil, nil) }

func (b *browser) post(path string, form url.Values) page {
	return b.do(http.MethodPost, path, form, nil)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t testing.TB, p page) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF field in the page (status %d)", p.status)
	}
	return m[1]
}

// signIn signs b in with token and returns the session's CSRF token.
func (b *browser) signIn(token string) string {
	t := b.e.t
	t.Helper()
	lp := b.get("/console/login")
	res := b.post("/console/login", url.Values{"csrf": {csrfOf(t, lp)}, "token": {token}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/overview" {
		t.Fatalf("sign-in: status %d location %q", res.status, res.header.Get("Location"))
	}
	return csrfOf(t, b.get("/console/sessions/ses_1"))
}

func TestSignInSetsAStrictSessionCookie(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	lp := b.get("/console/login")
	res := b.post("/console/login", url.Values{"csrf": {csrfOf(t, lp)}, "token": {adminToken}})
	var ck string
	for _, v := range res.header.Values("Set-Cookie") {
		if strings.HasPrefix(v, "vigil_console=") {
			ck = v
		}
	}
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/console"} {
		if !strings.Contains(ck, want) {
			t.Errorf("session cookie %q lacks %s", ck, want)
		}
	}
	if strings.Contains(ck, "Secure") {
		t.Errorf("session cookie %q is Secure on a plain-http console", ck)
	}
	if p := b.get("/console/overview"); p.status != http.StatusOK || !strings.Contains(p.body, "admin") {
		t.Fatalf("overview after sign-in: status %d", p.status)
	}
}

func TestSignInRefusals(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		form   func(csrf string) url.Values
		status int
	}{
		{"wrong credential", func(c string) url.Values { return url.Values{"csrf": {c}, "token": {"vat_wrong"}} }, http.StatusUnauthorized},
		{"empty credential", func(c string) url.Values { return url.Values{"csrf": {c}} }, http.StatusUnauthorized},
		{"no login token", func(string) url.Values { return url.Values{"token": {adminToken}} }, http.StatusForbidden},
		{"wrong login token", func(string) url.Values { return url.Values{"csrf": {"forged"}, "token": {adminToken}} }, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser()
			res := b.post("/console/login", tt.form(csrfOf(t, b.get("/console/login"))))
			if res.status != tt.status {
				t.Fatalf("status %d, want %d", res.status, tt.status)
			}
			if p := b.get("/console/overview"); p.status != http.StatusSeeOther {
				t.Fatalf("overview without a session: status %d, want a redirect to sign in", p.status)
			}
		})
	}
}

func TestPagesNeedASession(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for _, p := range []string{"/console/overview", "/console/sessions", "/console/sessions/ses_1", "/console/audit", "/console/policy", "/console/clients"} {
		res := b.get(p)
		if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/console/login") {
			t.Errorf("GET %s: status %d location %q; want a redirect to sign in", p, res.status, res.header.Get("Location"))
		}
	}
	if res := b.post("/console/sessions/ses_1/terminate", url.Values{"csrf": {"x"}}); res.status != http.StatusUnauthorized {
		t.Errorf("POST terminate without a session: status %d, want 401", res.status)
	}
	e.assertActive("ses_1")
}

func (e *env) assertActive(sid string) {
	e.t.Helper()
	s, err := e.store.GetSession(e.t.Context(), sid)
	if err != nil || s.Status != storage.SessionActive {
		e.t.Fatalf("session %s = %+v, %v; want active", sid, s, err)
	}
}

func TestEveryPageRendersWithSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn(adminToken)
	for _, p := range []string{"/console/overview", "/console/sessions", "/console/sessions?level=high&q=escalation",
		"/console/sessions/ses_1", "/console/clients", "/console/clients/agent-1", "/console/resources", "/console/issuers",
		"/console/audit", "/console/policy"} {
		res := b.get(p)
		if res.status != http.StatusOK {
			t.Errorf("GET %s: status %d", p, res.status)
			continue
		}
		csp := res.header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %s", p, csp, want)
			}
		}
		if strings.Contains(res.body, "<b>admin</b>") {
			t.Errorf("GET %s: evidence was not escaped", p)
		}
	}
}

func TestSessionPageShowsChartAndReasons(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn(adminToken)
	p := b.get("/console/sessions/ses_1")
	for _, want := range []string{`id="score-chart"`, `class="threshold th-high"`, "scope.escalation_attempt",
		"asked &lt;b&gt;admin&lt;/b&gt;", `id="terminate-form"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("session page lacks %s", want)
		}
	}
	if n := strings.Count(p.body, `class="score-point`); n != 3 {
		t.Errorf("chart has %d points, want 3", n)
	}
	list := b.get("/console/sessions?level=high")
	if !strings.Contains(list.body, "/console/sessions/ses_1") {
		t.Error("level=high filter does not list the high session")
	}
	if list := b.get("/console/sessions?level=low"); strings.Contains(list.body, "/console/sessions/ses_1") {
		t.Error("level=low filter lists the high session")
	}
	if list := b.get("/console/sessions?q=nothing-matches"); strings.Contains(list.body, "/console/sessions/ses_1") {
		t.Error("free text that matches nothing lists the session")
	}
}

func TestTerminateNeedsCSRFAndSameOrigin(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn(adminToken)
	tests := []struct {
		name string
		form url.Values
		hdr  map[string]string
	}{
		{"no CSRF token", url.Values{"reason": {"x"}}, nil},
		{"wrong CSRF token", url.Values{"csrf": {csrf + "x"}}, nil},
		{"cross-site fetch", url.Values{"csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"foreign origin", url.Values{"csrf": {csrf}}, map[string]string{"Origin": "https://evil.example"}},
	}
	for _, tt := range tests {
		if res := b.do(http.MethodPost, "/console/sessions/ses_1/terminate", tt.form, tt.hdr); res.status != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", tt.name, res.status)
		}
		e.assertActive("ses_1")
	}
	other := e.browser()
	otherCSRF := other.signIn(adminToken)
	if res := b.post("/console/sessions/ses_1/terminate", url.Values{"csrf": {otherCSRF}}); res.status != http.StatusForbidden {
		t.Errorf("another session's CSRF token: status %d, want 403", res.status)
	}
	e.assertActive("ses_1")
	res := b.do(http.MethodPost, "/console/sessions/ses_1/terminate", url.Values{"csrf": {csrf}, "reason": {"stolen key"}},
		map[string]string{"Sec-Fetch-Site": "same-origin"})
	if res.status != http.StatusSeeOther {
		t.Fatalf("terminate: status %d body %s", res.status, res.body)
	}
	s, _ := e.store.GetSession(t.Context(), "ses_1")
	if s.Status != storage.SessionTerminated || s.Reason != "stolen key" {
		t.Fatalf("session after terminate = %+v", s)
	}
	if p := b.get("/console/sessions/ses_1?done=terminated"); strings.Contains(p.body, `id="terminate-form"`) ||
		!strings.Contains(p.body, `id="terminated-note"`) {
		t.Error("a terminated session still offers termination")
	}
	recs, _ := e.store.ListAudit(t.Context(), storage.AuditFilter{SessionID: "ses_1"})
	if n := len(recs); n == 0 || recs[n-1].Actor != "admin" || recs[n-1].Reason != "console" {
		t.Fatalf("audit = %+v; want a record by admin via the console", recs)
	}
}

func TestReadOnlyAdministratorCannotAct(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn(readOnlyToken)
	p := b.get("/console/sessions/ses_1")
	if strings.Contains(p.body, `id="terminate-form"`) || !strings.Contains(p.body, `id="read-only-note"`) {
		t.Error("a read-only administrator is offered the actions")
	}
	for _, path := range []string{"/console/sessions/ses_1/terminate", "/console/sessions/ses_1/signal"} {
		if res := b.post(path, url.Values{"csrf": {csrf}, "type": {"session-revoked"}}); res.status != http.StatusForbidden {
			t.Errorf("POST %s: status %d, want 403", path, res.status)
		}
	}
	if res := b.post("/console/clients/agent-1", url.Values{"csrf": {csrf}, "op": {"delete"}}); res.status != http.StatusForbidden {
		t.Errorf("delete client: status %d, want 403", res.status)
	}
	if res := b.post("/console/policy/mode", url.Values{"csrf": {csrf}, "report_only": {"true"}, "confirm": {"yes"}}); res.status != http.StatusForbidden {
		t.Errorf("policy mode: status %d, want 403", res.status)
	}
	e.assertActive("ses_1")
	if _, err := e.store.GetClient(t.Context(), "agent-1"); err != nil {
		t.Fatalf("client deleted by a read-only administrator: %v", err)
	}
	if e.pol.ReportOnly() {
		t.Fatal("a read-only administrator switched the policy mode")
	}
}

func TestIdleTimeoutAndSignOut(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn(adminToken)
	e.advance(9 * time.Minute)
	// An automatic refresh does not count as activity.
	if p := b.get("/console/sessions?refresh=1&auto=1"); p.status != http.StatusOK {
		t.Fatalf("auto refresh: status %d", p.status)
	}
	e.advance(2 * time.Minute)
	p := b.get("/console/overview")
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/login?expired=1&next=%2Fconsole%2Foverview" {
		t.Fatalf("after 11 idle minutes: status %d location %q; want the sign-in page", p.status, p.header.Get("Location"))
	}

	csrf := b.signIn(adminToken)
	e.advance(9 * time.Minute)
	if p := b.get("/console/overview"); p.status != http.StatusOK {
		t.Fatalf("after 9 minutes: status %d", p.status)
	}
	e.advance(9 * time.Minute)
	if p := b.get("/console/overview"); p.status != http.StatusOK {
		t.Fatalf("activity did not extend the session: status %d", p.status)
	}
	if res := b.post("/console/logout", url.Values{"csrf": {csrf}}); res.status != http.StatusSeeOther {
		t.Fatalf("sign out: status %d", res.status)
	}
	if p := b.get("/console/overview"); p.status != http.StatusSeeOther {
		t.Fatalf("after sign-out: status %d, want a redirect", p.status)
	}
}

func TestPolicyModeNeedsConfirmation(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn(adminToken)
	p := b.post("/console/policy/mode", url.Values{"csrf": {csrf}, "report_only": {"true"}})
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="confirm" value="yes"`) || e.pol.ReportOnly() {
		t.Fatalf("unconfirmed switch: status %d, report-only %v", p.status, e.pol.ReportOnly())
	}
	if p := b.post("/console/policy/mode", url.Values{"csrf": {csrf}, "report_only": {"true"}, "confirm": {"yes"}}); p.status != http.StatusSeeOther {
		t.Fatalf("confirmed switch: status %d %s", p.status, p.body)
	}
	if !e.pol.ReportOnly() {
		t.Fatal("confirmed switch did not turn report-only on")
	}
	recs, _ := e.store.ListAudit(t.Context(), storage.AuditFilter{})
	if n := len(recs); n == 0 || recs[n-1].Detail != "report_only=true" || recs[n-1].Actor != "admin" {
		t.Fatalf("audit = %+v; want the switch recorded with its actor", recs)
	}
}

func TestRecordEditUsesTheAPIValidation(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn(adminToken)
	p := b.post("/console/resources", url.Values{"csrf": {csrf}, "json": {`{"audience":"not a url","sensitivity":9}`}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "resource:") {
		t.Fatalf("invalid resource: status %d; want the API's 400 shown", p.status)
	}
	p = b.post("/console/resources", url.Values{"csrf": {csrf}, "json": {`{"audience":"https://api.example","sensitivity":2}`}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("valid resource: status %d %s", p.status, p.body)
	}
	if r, err := e.store.GetResource(t.Context(), "https://api.example"); err != nil || r.Sensitivity != 2 {
		t.Fatalf("stored resource = %+v, %v", r, err)
	}
	// Deleting asks first; confirmed, it deletes.
	page := "/console/resource?audience=" + url.QueryEscape("https://api.example")
	p = b.post(page, url.Values{"csrf": {csrf}, "op": {"delete"}})
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="confirm" value="yes"`) || !strings.Contains(p.body, "Yes, delete the resource") {
		t.Fatalf("unconfirmed delete: status %d; want the confirmation", p.status)
	}
	if _, err := e.store.GetResource(t.Context(), "https://api.example"); err != nil {
		t.Fatalf("an unconfirmed delete deleted: %v", err)
	}
	if p := b.post(page, url.Values{"csrf": {csrf}, "op": {"delete"}, "confirm": {"yes"}}); p.status != http.StatusSeeOther {
		t.Fatalf("confirmed delete: status %d %s", p.status, p.body)
	}
	if _, err := e.store.GetResource(t.Context(), "https://api.example"); err == nil {
		t.Fatal("a confirmed delete left the resource")
	}
}

package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/console"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

func TestSessionCookieIsSecureBehindTLS(t *testing.T) {
	e := newEnvConfig(t, console.Config{Secure: true})
	b := e.browser()
	lp := b.get("/console/login")
	for _, v := range lp.header.Values("Set-Cookie") {
		if strings.HasPrefix(v, "vigil_console_login=") && !strings.Contains(v, "Secure") {
			t.Errorf("login cookie %q is not Secure", v)
		}
	}
	res := b.post("/console/login", url.Values{"csrf": {csrfOf(t, lp)}, "token": {adminToken}})
	found := false
	for _, v := range res.header.Values("Set-Cookie") {
		if strings.HasPrefix(v, "vigil_console=") {
			found = true
			for _, want := range []string{"Secure", "HttpOnly", "SameSite=Strict"} {
				if !strings.Contains(v, want) {
					t.Errorf("session cookie %q lacks %s", v, want)
				}
			}
		}
	}
	if !found {
		t.Fatalf("sign-in set no session cookie (status %d)", res.status)
	}
}

// seedTokens gives ses_1 a token tree: an access token, exchanged for a
// DPoP-bound one acting for agent-1, and a refresh token whose use minted
// a second access token.
func (e *env) seedTokens() {
	e.t.Helper()
	ctx := e.t.Context()
	exp := t0.Add(time.Hour)
	toks := []storage.Token{
		{ID: "tok_root", Kind: storage.AccessToken, Format: "opaque", ClientID: "agent-1", Subject: "user-1", SessionID: "ses_1",
			Scopes: []string{"tickets:read"}, MayAct: []string{"agent-1"}, IssuedAt: t0, ExpiresAt: exp},
		{ID: "tok_exchanged", Kind: storage.AccessToken, Format: "jwt", ClientID: "agent-1", Subject: "user-1", SessionID: "ses_1",
			ParentID: "tok_root", Audiences: []string{"https://tickets.example"}, Actors: []string{"agent-1", "planner-7"},
			JKT: "dpop-thumbprint-0123456789", IssuedAt: t0, ExpiresAt: exp},
		{ID: "tok_refresh", Kind: storage.RefreshToken, Format: "opaque", ClientID: "agent-1", Subject: "user-1", SessionID: "ses_1",
			FamilyID: "fam_1", IssuedAt: t0, ExpiresAt: exp},
		{ID: "tok_refreshed", Kind: storage.AccessToken, Format: "opaque", ClientID: "agent-1", Subject: "user-1", SessionID: "ses_1",
			ParentID: "tok_refresh", FamilyID: "fam_1", IssuedAt: t0, ExpiresAt: exp},
	}
	err := e.store.Update(ctx, func(w storage.Writer) error {
		for _, tok := range toks {
			if err := w.CreateToken(ctx, tok); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// treeItem returns the token tree's entry of the token with id.
func treeItem(t *testing.T, body, id string) string {
	t.Helper()
	tree := body[strings.Index(body, `id="token-tree"`):]
	for _, li := range strings.Split(tree, "<li ")[1:] {
		if strings.Contains(li, `title="`+id+`"`) && strings.Index(li, `title="`+id+`"`) < strings.Index(li, "</div>") {
			return li
		}
	}
	t.Fatalf("no token %s in the tree", id)
	return ""
}

func TestTokenTreeShowsParentsExchangesActorsAndDPoP(t *testing.T) {
	e := newEnv(t)
	e.seedTokens()
	b := e.browser()
	b.signIn(adminToken)
	p := b.get("/console/sessions/ses_1")
	if p.status != http.StatusOK {
		t.Fatalf("session page: status %d", p.status)
	}
	tests := []struct {
		id    string
		depth string
		want  []string
		not   []string
	}{
		{"tok_root", "depth-0", []string{"may act: agent-1", "bearer"}, []string{"exchanged from", "refreshed from"}},
		{"tok_exchanged", "depth-1", []string{"exchanged from", `title="tok_root"`, "act chain: agent-1 → planner-7",
			"DPoP-bound: <span class=\"mono\">dpop-thumbprint-0123456789</span>", "audiences: https://tickets.example"}, []string{"bearer"}},
		{"tok_refresh", "depth-0", []string{"refresh_token", "refresh family"}, []string{"exchanged from"}},
		{"tok_refreshed", "depth-1", []string{"refreshed from", `title="tok_refresh"`}, []string{"exchanged from"}},
	}
	for _, tt := range tests {
		li := treeItem(t, p.body, tt.id)
		if !strings.HasPrefix(li, `class="`+tt.depth+`"`) {
			t.Errorf("%s: not at %s: %.60s", tt.id, tt.depth, li)
		}
		for _, w := range tt.want {
			if !strings.Contains(li, w) {
				t.Errorf("%s lacks %q", tt.id, w)
			}
		}
		for _, w := range tt.not {
			if strings.Contains(li, w) {
				t.Errorf("%s shows %q", tt.id, w)
			}
		}
	}
	// Each child follows its parent.
	if strings.Index(p.body, `title="tok_exchanged"`) < strings.Index(p.body, `title="tok_root"`) {
		t.Error("the exchanged token is listed before its parent")
	}
}

func TestRevokeOneTokenThroughTheConsole(t *testing.T) {
	e := newEnv(t)
	e.seedTokens()
	b := e.browser()
	csrf := b.signIn(adminToken)
	res := b.post("/console/sessions/ses_1/revoke", url.Values{"csrf": {csrf}, "token": {"tok_exchanged"}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/sessions/ses_1?done=revoked" {
		t.Fatalf("revoke: status %d location %q body %s", res.status, res.header.Get("Location"), res.body)
	}
	for id, revoked := range map[string]bool{"tok_exchanged": true, "tok_root": false, "tok_refresh": false} {
		tok, err := e.store.GetToken(t.Context(), id)
		if err != nil || tok.RevokedAt.IsZero() != !revoked {
			t.Errorf("token %s: revoked at %v (%v); want revoked %v", id, tok.RevokedAt, err, revoked)
		}
	}
	e.assertActive("ses_1")
	recs, _ := e.store.ListAudit(t.Context(), storage.AuditFilter{SessionID: "ses_1"})
	if n := len(recs); n == 0 || recs[n-1].Actor != "admin" || recs[n-1].Outcome != "revoked" || !strings.Contains(recs[n-1].Detail, "tok_exchanged") {
		t.Fatalf("audit = %+v; want the revocation of tok_exchanged by admin", recs)
	}
	p := b.get("/console/sessions/ses_1?done=revoked")
	if li := treeItem(t, p.body, "tok_exchanged"); !strings.Contains(li, ">revoked<") || strings.Contains(li, "Revoke access_token") {
		t.Errorf("the revoked token is not shown revoked, or still offers revocation")
	}
	if res := b.post("/console/sessions/ses_1/revoke", url.Values{"csrf": {csrf}, "token": {"tok_missing"}}); res.status != http.StatusNotFound ||
		!strings.Contains(res.body, `id="page-error"`) {
		t.Errorf("revoking an unknown token: status %d; want the API's 404 shown on the page", res.status)
	}
}

func TestSendASignalThroughTheConsole(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn(adminToken)
	res := b.post("/console/sessions/ses_1/signal", url.Values{"csrf": {csrf}, "type": {"risk-level-change"}, "level": {"high"},
		"reason": {"vendor alert"}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/sessions/ses_1?done=signal" {
		t.Fatalf("signal: status %d location %q body %s", res.status, res.header.Get("Location"), res.body)
	}
	e.signals.mu.Lock()
	got, sids := e.signals.got, e.signals.sid
	e.signals.mu.Unlock()
	if len(got) != 1 || got[0].Type != "risk-level-change" || got[0].Level != "high" || sids[0] != "ses_1" {
		t.Fatalf("signals received = %+v for %v", got, sids)
	}
	recs, _ := e.store.ListAudit(t.Context(), storage.AuditFilter{SessionID: "ses_1"})
	if n := len(recs); n == 0 || recs[n-1].Actor != "admin" || recs[n-1].Outcome != "signal risk-level-change" || recs[n-1].Reason != "vendor alert" {
		t.Fatalf("audit = %+v; want the signal by admin", recs)
	}
	// The API's validation holds: an unknown type is refused and said so.
	res = b.post("/console/sessions/ses_1/signal", url.Values{"csrf": {csrf}, "type": {"made-up"}})
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, `id="page-error"`) {
		t.Fatalf("unknown signal type: status %d; want the API's 400 shown", res.status)
	}
	if len(e.signals.got) != 1 {
		t.Fatal("a refused signal reached the engine")
	}
}

// seedServiceSessions adds n sessions of a service client, one a minute
// from t0+1h, every third one denied once.
func (e *env) seedServiceSessions(n int) {
	e.t.Helper()
	ctx := e.t.Context()
	err := e.store.Update(ctx, func(w storage.Writer) error {
		if err := w.PutClient(ctx, storage.Client{ID: "svc-1", Kind: storage.KindService}); err != nil {
			return err
		}
		for i := range n {
			at := t0.Add(time.Hour + time.Duration(i)*time.Minute)
			sid := fmt.Sprintf("ses_svc_%02d", i)
			if err := w.CreateSession(ctx, storage.Session{ID: sid, ClientID: "svc-1", Subject: "svc-1",
				CreatedAt: at, ExpiresAt: at.Add(2 * time.Hour), Status: storage.SessionActive}); err != nil {
				return err
			}
			ev := storage.Event{SessionID: sid, At: at, Type: "token", ClientID: "svc-1", Level: "none", Action: "allow"}
			if i%3 == 0 {
				ev.Score, ev.Level, ev.Action = 60, "medium", "deny"
				ev.Reasons = []storage.Reason{{Code: "net.new_network", Points: 5, Evidence: "198.51.100.7 is new"}}
			}
			if err := w.AppendEvent(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

var sessionLink = regexp.MustCompile(`<a href="/console/sessions/(ses_[A-Za-z0-9_]+)" class="mono"`)

func listed(body string) []string {
	var out []string
	for _, m := range sessionLink.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestSessionListFiltersAndPages(t *testing.T) {
	e := newEnv(t)
	e.advance(3 * time.Hour)
	e.seedServiceSessions(30)
	b := e.browser()
	b.signIn(adminToken)
	tests := []struct {
		query string
		n     int
		first string // the newest listed, "" for none
	}{
		{"", 25, "ses_svc_29"},
		{"page=2", 6, "ses_svc_04"},
		{"kind=agent", 1, "ses_1"},
		{"kind=service", 25, "ses_svc_29"},
		{"client=svc-1&action=deny", 10, "ses_svc_27"},
		{"action=deny&level=medium&page=1", 10, "ses_svc_27"},
		{"level=high", 1, "ses_1"},
		{"from=" + url.QueryEscape(t0.Add(time.Hour+10*time.Minute).Format("2006-01-02T15:04")) +
			"&to=" + url.QueryEscape(t0.Add(time.Hour+14*time.Minute).Format(time.RFC3339)), 5, "ses_svc_14"},
		{"q=198.51.100.7", 10, "ses_svc_27"},
		{"q=ses_svc_07", 1, "ses_svc_07"},
		{"status=terminated", 0, ""},
		{"kind=service&q=escalation", 0, ""},
	}
	for _, tt := range tests {
		p := b.get("/console/sessions?" + tt.query)
		if p.status != http.StatusOK {
			t.Errorf("%s: status %d", tt.query, p.status)
			continue
		}
		got := listed(p.body)
		if len(got) != tt.n || (tt.first != "" && got[0] != tt.first) {
			t.Errorf("%s: listed %d %v; want %d, newest %s", tt.query, len(got), got, tt.n, tt.first)
		}
	}
	p := b.get("/console/sessions")
	if !strings.Contains(p.body, `rel="next" href="/console/sessions?page=2"`) {
		t.Error("the first page has no link to the second")
	}
	p = b.get("/console/sessions?page=2")
	if !strings.Contains(p.body, `rel="prev"`) || strings.Contains(p.body, `rel="next"`) {
		t.Error("the last page links back and not forward")
	}
	// The filters keep their values and paging keeps the filters.
	p = b.get("/console/sessions?kind=service")
	if !strings.Contains(p.body, `href="/console/sessions?kind=service&amp;page=2"`) {
		t.Error("the next page of a filtered list drops the filter")
	}
	if p := b.get("/console/sessions?from=yesterday"); p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="page-error"`) {
		t.Errorf("a malformed time: status %d; want 400 with the error shown", p.status)
	}
	// The auto-refresh checkbox is there, checked when asked for.
	if p := b.get("/console/sessions?refresh=1"); !regexp.MustCompile(`name="refresh" type="checkbox" value="1" checked data-autorefresh="\d+"`).MatchString(p.body) {
		t.Error("refresh=1 does not check the auto-refresh box")
	}
}

func TestAuditLogNewestFirstWithFilters(t *testing.T) {
	e := newEnv(t)
	e.seedTokens()
	b := e.browser()
	csrf := b.signIn(adminToken)
	e.advance(time.Minute)
	b.post("/console/sessions/ses_1/signal", url.Values{"csrf": {csrf}, "type": {"credential-change"}})
	e.advance(time.Minute)
	b.post("/console/sessions/ses_1/revoke", url.Values{"csrf": {csrf}, "token": {"tok_root"}})
	e.advance(time.Minute)
	b.post("/console/sessions/ses_1/terminate", url.Values{"csrf": {csrf}, "reason": {"done"}})
	ro := e.browser()
	ro.signIn(readOnlyToken)

	outcomes := regexp.MustCompile(`<td class="actor">([^<]*)</td><td>[^<]*</td>\s*<td>(?:<a[^>]*>[^<]*</a>)?</td>\s*<td>([^<]*)</td>`)
	rows := func(q string) [][2]string {
		p := ro.get("/console/audit?" + q)
		if p.status != http.StatusOK {
			t.Fatalf("audit %s: status %d", q, p.status)
		}
		var out [][2]string
		for _, m := range outcomes.FindAllStringSubmatch(p.body, -1) {
			out = append(out, [2]string{m[1], m[2]})
		}
		return out
	}
	all := rows("sid=ses_1&type=admin")
	want := [][2]string{{"admin", "terminated"}, {"admin", "revoked"}, {"admin", "signal credential-change"}}
	if fmt.Sprint(all) != fmt.Sprint(want) {
		t.Fatalf("admin records of ses_1, newest first = %v; want %v", all, want)
	}
	if got := rows("sid=ses_1&actor=auditor"); len(got) != 0 {
		t.Errorf("actor=auditor lists %v; the read-only administrator did nothing", got)
	}
	if got := rows("sid=ses_1&q=signal"); len(got) != 1 || got[0][1] != "signal credential-change" {
		t.Errorf("q=signal lists %v", got)
	}
	if got := rows("client=nobody"); len(got) != 0 {
		t.Errorf("client=nobody lists %v", got)
	}
}

func TestOverviewCharts(t *testing.T) {
	e := newEnv(t)
	e.seedServiceSessions(6) // two denied (medium), four allowed (none), from t0+1h
	e.advance(time.Hour + 10*time.Minute)
	b := e.browser()
	csrf := b.signIn(adminToken)
	b.post("/console/sessions/ses_svc_05/terminate", url.Values{"csrf": {csrf}, "reason": {"test"}})
	p := b.get("/console/overview")
	if p.status != http.StatusOK {
		t.Fatalf("overview: status %d", p.status)
	}
	for _, want := range []string{
		`id="live-by-level"`, `id="decisions"`, `id="top-reasons"`, `id="terminations"`,
		// live: five service sessions (ses_svc_00 and 03 medium); ses_1 has expired
		"<title>none: 3</title>", "<title>medium: 2</title>", "<title>high: 0</title>",
		"<title>net.new_network: 2</title>", "<title>scope.escalation_attempt: 3</title>",
		// decisions over the last 30 minutes (ses_1's are older)
		"allow 4, step_up 0, deny 2, terminate 0",
		`href="/console/sessions/ses_svc_05"`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("overview lacks %s", want)
		}
	}
}

func TestAuditLogPages(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	err := e.store.Update(ctx, func(w storage.Writer) error {
		for i := range 60 {
			rec := storage.AuditRecord{At: t0.Add(time.Duration(i) * time.Second), Type: "issue", ClientID: "agent-1",
				Outcome: "issued", Detail: fmt.Sprintf("record-%02d", i)}
			if err := w.AppendAudit(ctx, rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.advance(time.Minute)
	b := e.browser()
	b.signIn(adminToken)
	detail := regexp.MustCompile(`<td>(record-\d\d)</td></tr>`)
	p := b.get("/console/audit?type=issue")
	rows := detail.FindAllStringSubmatch(p.body, -1)
	if len(rows) != 50 || rows[0][1] != "record-59" || rows[49][1] != "record-10" {
		t.Fatalf("first page: %d rows from %v; want 50, record-59 first", len(rows), rows[:min(len(rows), 1)])
	}
	next := regexp.MustCompile(`rel="next" href="([^"]+)"`).FindStringSubmatch(p.body)
	if next == nil {
		t.Fatal("no link to older records")
	}
	p = b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	rows = detail.FindAllStringSubmatch(p.body, -1)
	if len(rows) != 10 || rows[0][1] != "record-09" || !strings.Contains(p.body, `rel="prev"`) {
		t.Fatalf("second page (%s): %d rows; want the 10 oldest", next[1], len(rows))
	}
}

func TestSignInAndOutAreAudited(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	lp := b.get("/console/login")
	if res := b.post("/console/login", url.Values{"csrf": {csrfOf(t, lp)}, "token": {"vat_wrong"}}); res.status != http.StatusUnauthorized {
		t.Fatalf("wrong credential: status %d", res.status)
	}
	csrf := b.signIn(adminToken)
	ro := e.browser()
	ro.signIn(readOnlyToken)
	if res := b.post("/console/logout", url.Values{"csrf": {csrf}}); res.status != http.StatusSeeOther {
		t.Fatalf("sign out: status %d", res.status)
	}
	recs, err := e.store.ListAudit(t.Context(), storage.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		if r.Type == "admin" {
			got = append(got, r.Actor+" "+r.Outcome+" ("+r.Detail+", "+r.Reason+")")
		}
	}
	want := []string{"admin signed in (role admin, console)", "auditor signed in (role read-only, console)", "admin signed out (role admin, console)"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("audit = %q; want %q (a refused sign-in is not audited)", got, want)
	}
}

func TestAuditLogShowsTheNewestWhenCapped(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	const n = 10_050 // more than the page reads
	err := e.store.Update(ctx, func(w storage.Writer) error {
		for i := range n {
			rec := storage.AuditRecord{At: t0.Add(time.Duration(i) * time.Millisecond), Type: "issue", ClientID: "agent-1",
				Outcome: "issued", Detail: fmt.Sprintf("record-%05d", i)}
			if err := w.AppendAudit(ctx, rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.advance(time.Minute)
	b := e.browser()
	b.signIn(adminToken)
	p := b.get("/console/audit?type=issue")
	rows := regexp.MustCompile(`<td>(record-\d+)</td></tr>`).FindAllStringSubmatch(p.body, -1)
	if len(rows) == 0 || rows[0][1] != fmt.Sprintf("record-%05d", n-1) {
		t.Fatalf("first row %v; want the newest record, record-%05d", rows[:min(len(rows), 1)], n-1)
	}
}

func TestSignInLeadsToThePageAskedFor(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	res := b.get("/console/sessions/ses_1?done=x")
	want := "/console/login?next=%2Fconsole%2Fsessions%2Fses_1%3Fdone%3Dx"
	if res.status != http.StatusSeeOther || res.header.Get("Location") != want {
		t.Fatalf("a page without a session: status %d location %q; want %q", res.status, res.header.Get("Location"), want)
	}
	lp := b.get(want)
	if !strings.Contains(lp.body, `name="next" value="/console/sessions/ses_1?done=x"`) {
		t.Fatal("the sign-in form does not carry the page asked for")
	}
	// A wrong credential keeps it; the right one leads there.
	res = b.post("/console/login", url.Values{"csrf": {csrfOf(t, lp)}, "token": {"vat_wrong"}, "next": {"/console/sessions/ses_1?done=x"}})
	if !strings.Contains(res.body, `name="next" value="/console/sessions/ses_1?done=x"`) {
		t.Error("a refused sign-in drops the page asked for")
	}
	res = b.post("/console/login", url.Values{"csrf": {csrfOf(t, res)}, "token": {adminToken}, "next": {"/console/sessions/ses_1?done=x"}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/sessions/ses_1?done=x" {
		t.Fatalf("sign-in: status %d location %q; want the page asked for", res.status, res.header.Get("Location"))
	}
	// Automatic refreshes do not ask to come back (the administrator was away).
	ro := e.browser()
	if res := ro.get("/console/sessions?refresh=1&auto=1"); res.header.Get("Location") != "/console/login" {
		t.Errorf("auto refresh without a session: location %q", res.header.Get("Location"))
	}
	// Only a page of the console: never another site, nor the sign-in page.
	for _, next := range []string{"https://evil.example/console/x", "//evil.example/console/x", "/\\evil.example", "/console/../admin/clients",
		"/console/login?next=/console/x", "/admin/sessions", "javascript:alert(1)", "/console/x\r\nSet-Cookie: a=b", "/consolex"} {
		c := e.browser()
		lp := c.get("/console/login")
		res := c.post("/console/login", url.Values{"csrf": {csrfOf(t, lp)}, "token": {adminToken}, "next": {next}})
		if res.header.Get("Location") != "/console/overview" {
			t.Errorf("next=%q: location %q; want the overview", next, res.header.Get("Location"))
		}
	}
}

func TestSessionIDFindsAnOldSession(t *testing.T) {
	e := newEnv(t)
	e.seedServiceSessions(1000) // newer than ses_1: the list scans them only
	b := e.browser()
	b.signIn(adminToken)
	if got := listed(b.get("/console/sessions?q=escalation").body); len(got) != 0 {
		t.Fatalf("q=escalation lists %v; ses_1 is beyond the newest 1000", got)
	}
	for _, q := range []string{"q=ses_1", "q=ses_1&client=agent-1", "q=ses_1&status=active"} {
		if got := listed(b.get("/console/sessions?" + q).body); len(got) != 1 || got[0] != "ses_1" {
			t.Errorf("%s lists %v; want ses_1", q, got)
		}
	}
	for _, q := range []string{"q=ses_1&client=svc-1", "q=ses_1&status=terminated", "q=ses_1&level=low"} {
		if got := listed(b.get("/console/sessions?" + q).body); len(got) != 0 {
			t.Errorf("%s lists %v; want nothing", q, got)
		}
	}
}

// TestTimeRangeReachesEverySession checks that the creation-time range is
// the store's filter: with 1000 newer sessions, a range, a deep page or the
// "older" link reaches ses_1, created before all of them.
func TestTimeRangeReachesEverySession(t *testing.T) {
	e := newEnv(t)
	e.seedServiceSessions(1000)
	b := e.browser()
	b.signIn(adminToken)
	minute := func(d time.Duration) string { return url.QueryEscape(t0.Add(d).Format("2006-01-02T15:04")) }
	for _, q := range []string{
		"to=" + minute(time.Minute),
		"from=" + minute(0) + "&to=" + minute(time.Minute),
		"level=high&to=" + minute(30*time.Minute),
		"q=escalation&to=" + minute(30*time.Minute),
		"client=agent-1&action=allow&from=" + minute(-time.Hour),
	} {
		p := b.get("/console/sessions?" + q)
		if got := listed(p.body); len(got) != 1 || got[0] != "ses_1" {
			t.Errorf("%s lists %v; want ses_1", q, got)
		}
		if strings.Contains(p.body, `id="session-older"`) {
			t.Errorf("%s: a range of one session offers older ones", q)
		}
	}
	if got := listed(b.get("/console/sessions?from=" + minute(time.Hour+998*time.Minute)).body); len(got) != 2 ||
		got[0] != "ses_svc_999" || got[1] != "ses_svc_998" {
		t.Errorf("from the 999th session lists %v", got)
	}

	// With no timeline filter the store pages: 1001 sessions make 41 pages.
	p := b.get("/console/sessions?page=41")
	if got := listed(p.body); len(got) != 1 || got[0] != "ses_1" {
		t.Errorf("page 41 lists %v; want ses_1", got)
	}
	if strings.Contains(p.body, `rel="next"`) || !strings.Contains(p.body, `rel="prev" href="/console/sessions?page=40"`) {
		t.Error("page 41 is the last and links back")
	}
	p = b.get("/console/sessions?page=40")
	if got := listed(p.body); len(got) != 25 || got[0] != "ses_svc_24" || !strings.Contains(p.body, `rel="next" href="/console/sessions?page=41"`) {
		t.Errorf("page 40 lists %d from %v and must link to page 41", len(got), got)
	}
	if !strings.Contains(p.body, "976–1000 of more than 1000 matching sessions.") {
		t.Error("page 40 does not say which sessions it shows")
	}
	if !strings.Contains(b.get("/console/sessions?page=41").body, "1001–1001 of 1001 matching sessions.") {
		t.Error("page 41 does not count the sessions")
	}
	if !strings.Contains(b.get("/console/sessions?client=agent-1").body, "1–1 of 1 matching sessions.") {
		t.Error("one client's list does not count its sessions")
	}

	// A timeline filter looks at the newest 1000 and links to the older ones.
	p = b.get("/console/sessions?level=high")
	if got := listed(p.body); len(got) != 0 {
		t.Errorf("level=high lists %v among the newest 1000", got)
	}
	older := regexp.MustCompile(`<a href="(/console/sessions\?[^"]+)">Filter the older ones</a>`).FindStringSubmatch(p.body)
	if older == nil {
		t.Fatal("no link to the older sessions")
	}
	link := strings.ReplaceAll(older[1], "&amp;", "&")
	if want := "to=" + url.QueryEscape(t0.Add(time.Hour).Format("2006-01-02T15:04:05.000")); !strings.Contains(link, want) {
		t.Errorf("older link %s; want %s (the oldest looked at, inclusive)", link, want)
	}
	if got := listed(b.get(link).body); len(got) != 1 || got[0] != "ses_1" {
		t.Errorf("the older link lists %v; want ses_1", got)
	}
}

// liveCounts is a risk engine's live-session counters.
type liveCounts map[risk.Level]int

func (l liveCounts) LiveSessions(lv risk.Level) int { return l[lv] }

// TestOverviewBeyondItsScan checks what the overview says with more
// sessions than it reads: live sessions by level come from the risk
// engine's counters when it has them, and the page says which charts are
// partial.
func TestOverviewBeyondItsScan(t *testing.T) {
	live := liveCounts{risk.LevelNone: 700, risk.LevelHigh: 3}
	for _, tt := range []struct {
		name string
		opts []func(*console.Deps)
		want []string
		not  []string
	}{
		{"from the store", nil,
			[]string{"Live sessions: 500 (among the newest 500 sessions).",
				"read from the newest 500 sessions only: there are more, so they may be partial"},
			[]string{"counted by the risk engine"}},
		{"from the risk engine", []func(*console.Deps){func(d *console.Deps) { d.Live = live }},
			[]string{"Live sessions: 703, counted by the risk engine.", "<title>none: 700</title>", "<title>high: 3</title>",
				`href="/console/sessions?status=active&amp;level=high">high: 3</a>`,
				"read from the newest 500 sessions only: there are more, so they may be partial"},
			[]string{"among the newest 500 sessions)", "cluster member"}},
		{"from one cluster member's engine", []func(*console.Deps){func(d *console.Deps) { d.Live, d.LivePartial = live, true }},
			[]string{"Live sessions: 703, counted by the risk engine of this instance (each cluster member counts the sessions it judges)."},
			nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnvConfig(t, console.Config{IdleTimeout: 10 * time.Minute}, tt.opts...)
			e.seedServiceSessions(600)
			e.advance(time.Hour)
			b := e.browser()
			b.signIn(adminToken)
			p := b.get("/console/overview")
			for _, w := range tt.want {
				if !strings.Contains(p.body, w) {
					t.Errorf("overview lacks %q", w)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(p.body, w) {
					t.Errorf("overview says %q", w)
				}
			}
		})
	}
}

// TestHugePageNumbers asks the paged lists for pages whose first row's
// offset does not fit an int: an empty page, not a failure.
func TestHugePageNumbers(t *testing.T) {
	e := newEnv(t)
	e.seedServiceSessions(3)
	b := e.browser()
	b.signIn(adminToken)
	for _, path := range []string{"/console/sessions", "/console/sessions?kind=service&", "/console/audit"} {
		for _, page := range []string{"368934881474191034", "9223372036854775807"} {
			sep := "?"
			if strings.Contains(path, "?") {
				sep = ""
			}
			if p := b.get(path + sep + "page=" + page); p.status != http.StatusOK {
				t.Errorf("%s page %s: status %d", path, page, p.status)
			}
		}
	}
}

package console

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/storage"
)

// Session list limits.
const (
	// scanLimit is how many of the newest sessions (of the chosen client
	// and status) the list filters; the page says when it was reached.
	scanLimit = 1000
	pageSize  = 25
)

// summary is one row of the sessions list.
type summary struct {
	storage.Session
	Kind    string
	Live    bool
	Score   int
	Peak    int
	Level   string
	Action  string   // the latest decided action
	Actions []string // every action decided in the session
	Reasons []string // distinct reason codes
	Events  []storage.Event
	LastAt  time.Time
}

// summarize reads s's timeline.
func (c *Console) summarize(ctx context.Context, s storage.Session, kinds map[string]string, now time.Time) (summary, error) {
	evs, err := c.d.Store.ListEvents(ctx, s.ID)
	if err != nil {
		return summary{}, err
	}
	sm := summary{Session: s, Kind: kinds[s.ClientID], Live: s.Active(now), Events: evs, LastAt: s.CreatedAt}
	for _, ev := range evs {
		sm.LastAt = ev.At
		if judged(ev) {
			sm.Score, sm.Level = ev.Score, ev.Level
			sm.Peak = max(sm.Peak, ev.Score)
		}
		if ev.Action != "" {
			sm.Action = ev.Action
			if !slices.Contains(sm.Actions, ev.Action) {
				sm.Actions = append(sm.Actions, ev.Action)
			}
		}
		for _, rs := range ev.Reasons {
			if !slices.Contains(sm.Reasons, rs.Code) {
				sm.Reasons = append(sm.Reasons, rs.Code)
			}
		}
	}
	return sm, nil
}

// judged reports whether ev carries a score of the risk engine: an
// administrator's termination is recorded as a critical decision with no
// score, and moves neither the score nor the level.
func judged(ev storage.Event) bool {
	return ev.Level != "" && !(ev.Type == "terminate" && ev.Score == 0)
}

// sessionFilter is the sessions list's query.
type sessionFilter struct {
	Client, Kind, Level, Action, Status, Q string
	From, To                               string // datetime-local or RFC 3339, on the creation time
	Page                                   int
	Auto                                   bool
	from, to                               time.Time
}

// maxPage is the highest page number a list accepts (a higher one shows
// as maxPage): far beyond any list, and low enough that a page's offset
// always fits an int.
const maxPage = 1 << 20

// pageOf returns the page number q asks for: 1 when absent or not a
// positive number, at most maxPage.
func pageOf(q url.Values) int {
	p, err := strconv.Atoi(q.Get("page"))
	if err != nil || p < 1 {
		return 1
	}
	return min(p, maxPage)
}

func parseSessionFilter(q url.Values) (sessionFilter, error) {
	f := sessionFilter{Client: q.Get("client"), Kind: q.Get("kind"), Level: q.Get("level"), Action: q.Get("action"),
		Status: q.Get("status"), Q: strings.TrimSpace(q.Get("q")), From: q.Get("from"), To: q.Get("to"),
		Page: pageOf(q), Auto: q.Get("refresh") == "1"}
	var err error
	if f.from, err = parseTime(f.From); err != nil {
		return f, fmt.Errorf("from: %w", err)
	}
	if f.to, err = parseTime(f.To); err != nil {
		return f, fmt.Errorf("to: %w", err)
	}
	if f.Status != "" && f.Status != storage.SessionActive && f.Status != storage.SessionTerminated {
		return f, fmt.Errorf("status must be %s or %s", storage.SessionActive, storage.SessionTerminated)
	}
	return f, nil
}

// parseTime reads an HTML datetime-local value (taken as UTC) or RFC 3339.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time such as 2026-01-02T15:04", s)
}

func (f sessionFilter) match(s summary) bool {
	switch {
	case f.Kind != "" && s.Kind != f.Kind,
		f.Level != "" && s.Level != f.Level,
		f.Action != "" && !slices.Contains(s.Actions, f.Action),
		!f.from.IsZero() && s.CreatedAt.Before(f.from),
		!f.to.IsZero() && s.CreatedAt.After(f.to):
		return false
	}
	return f.Q == "" || s.matchesText(strings.ToLower(f.Q))
}

// matchesText looks for q in the session's identifiers and timeline.
func (s summary) matchesText(q string) bool {
	fields := []string{s.ID, s.ClientID, s.Subject, s.Origin, s.Reason, s.Issuer, s.JKT}
	fields = append(fields, s.Reasons...)
	for _, ev := range s.Events {
		fields = append(fields, ev.Type, ev.Detail)
		for _, r := range ev.Reasons {
			fields = append(fields, r.Evidence)
		}
	}
	for _, v := range fields {
		if strings.Contains(strings.ToLower(v), q) {
			return true
		}
	}
	return false
}

// query returns f as a query string with page p.
func (f sessionFilter) query(p int) string {
	v := url.Values{}
	for k, x := range map[string]string{"client": f.Client, "kind": f.Kind, "level": f.Level, "action": f.Action,
		"status": f.Status, "q": f.Q, "from": f.From, "to": f.To} {
		if x != "" {
			v.Set(k, x)
		}
	}
	if f.Auto {
		v.Set("refresh", "1")
	}
	if p > 1 {
		v.Set("page", strconv.Itoa(p))
	}
	return v.Encode()
}

// clientKinds maps client ids to kinds.
func (c *Console) clientKinds(ctx context.Context) (map[string]string, []storage.Client, error) {
	cs, err := c.d.Store.ListClients(ctx)
	if err != nil {
		return nil, nil, err
	}
	m := make(map[string]string, len(cs))
	for _, cl := range cs {
		m[cl.ID] = cl.Kind
	}
	return m, cs, nil
}

// sessionList answers GET /console/sessions.
func (c *Console) sessionList(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	f, ferr := parseSessionFilter(r.URL.Query())
	kinds, clients, err := c.clientKinds(ctx)
	if err != nil {
		c.fail(w, r, s, http.StatusServiceUnavailable, "The store cannot be read: "+err.Error())
		return
	}
	data := map[string]any{"F": f, "Clients": clients, "Kinds": storage.Kinds,
		"Levels": []string{"none", "low", "medium", "high", "critical"}, "Actions": actionNames}
	if ferr != nil {
		data["Error"] = ferr.Error()
		c.render(w, r, http.StatusBadRequest, "sessions", s, data, titled("Sessions"))
		return
	}
	// The client, status and creation-time range are the store's filter,
	// so they reach every session; the others need each session's
	// timeline and are applied here.
	sf := storage.SessionFilter{ClientID: f.Client, Status: f.Status, CreatedFrom: f.from, CreatedTo: f.to}
	var rows []summary
	var total, start, end int
	if f.storeOnly() {
		rows, total, err = c.storePage(ctx, sf, f.Page, kinds)
		start = (f.Page - 1) * pageSize
		end = start + len(rows)
		data["Counted"] = max(scanLimit, f.Page*pageSize)
	} else {
		rows, err = c.scanSessions(ctx, sf, f, kinds, data)
		total = len(rows)
		start = min((f.Page-1)*pageSize, total)
		end = min(start+pageSize, total)
		rows = rows[start:end]
	}
	if err != nil {
		c.fail(w, r, s, http.StatusServiceUnavailable, "The store cannot be read: "+err.Error())
		return
	}
	data["Rows"], data["Total"] = rows, total
	data["First"], data["Last"] = start+1, start+len(rows)
	if f.Page > 1 {
		data["Prev"] = pageLink("/sessions", f.query(f.Page-1))
	}
	if end < total || (total < 0 && len(rows) == pageSize) {
		data["Next"] = pageLink("/sessions", f.query(f.Page+1))
	}
	c.render(w, r, http.StatusOK, "sessions", s, data, titled("Sessions"), nav("sessions"))
}

// storeOnly reports whether the store's filter is the whole of f, so the
// list can be paged by the store.
func (f sessionFilter) storeOnly() bool {
	return f.Kind == "" && f.Level == "" && f.Action == "" && f.Q == ""
}

// storePage reads page p of the sessions matching sf and summarizes only
// them. It reads at least scanLimit+1 sessions (records only, not their
// timelines) so it can count them up to scanLimit: total is their number,
// or -1 when there are more than max(scanLimit, p*pageSize).
func (c *Console) storePage(ctx context.Context, sf storage.SessionFilter, p int, kinds map[string]string) (rows []summary, total int, err error) {
	counted := max(scanLimit, p*pageSize)
	sf.Limit = counted + 1
	ss, err := c.d.Store.ListSessions(ctx, sf)
	if err != nil {
		return nil, 0, err
	}
	now := c.d.Now()
	for _, x := range ss[min((p-1)*pageSize, len(ss)):min(p*pageSize, len(ss))] {
		sm, err := c.summarize(ctx, x, kinds, now)
		if err != nil {
			return nil, 0, err
		}
		rows = append(rows, sm)
	}
	if total = len(ss); total > counted {
		total = -1
	}
	return rows, total, nil
}

// scanSessions filters the newest scanLimit sessions matching sf by the
// rest of f. When there are more, data gets Capped, Scanned and Older, a
// link to the same filters on the sessions created at or before the oldest
// one scanned.
func (c *Console) scanSessions(ctx context.Context, sf storage.SessionFilter, f sessionFilter, kinds map[string]string, data map[string]any) ([]summary, error) {
	sf.Limit = scanLimit
	ss, err := c.d.Store.ListSessions(ctx, sf)
	if err != nil {
		return nil, err
	}
	if len(ss) == scanLimit {
		data["Capped"], data["Scanned"] = true, scanLimit
		older := f
		older.To = ceilMilli(ss[len(ss)-1].CreatedAt).Format("2006-01-02T15:04:05.000")
		data["Older"] = pageLink("/sessions", older.query(1))
		if f.Q != "" {
			// A session id finds its session however old it is.
			x, err := c.d.Store.GetSession(ctx, f.Q)
			if err == nil && (f.Client == "" || x.ClientID == f.Client) && (f.Status == "" || x.Status == f.Status) &&
				sf.MatchesCreated(x.CreatedAt) && !slices.ContainsFunc(ss, func(y storage.Session) bool { return y.ID == x.ID }) {
				ss = append(ss, x)
			}
		}
	}
	now := c.d.Now()
	var rows []summary
	for _, x := range ss {
		sm, err := c.summarize(ctx, x, kinds, now)
		if err != nil {
			return nil, err
		}
		if f.match(sm) {
			rows = append(rows, sm)
		}
	}
	return rows, nil
}

// ceilMilli rounds t up to a whole millisecond, the finest time the
// "Created to" field shows, so a range ending there includes t.
func ceilMilli(t time.Time) time.Time {
	if r := t.Truncate(time.Millisecond); !r.Equal(t) {
		return r.Add(time.Millisecond).UTC()
	}
	return t.UTC()
}

// pageLink is the console path with query q, as a link for the pages: a
// query string put after a "?" in a template would be escaped whole (its
// "=" and "&" too), so the pages get the whole link, built here from
// url.Values.Encode.
func pageLink(path, q string) template.URL {
	return template.URL(Prefix + path + "?" + q) //nolint:gosec // a console path and an encoded query
}

// actionNames are the actions a decision can take.
var actionNames = []string{"allow", "step_up", "deny", "terminate"}

// tokenNode is one token in the session's token tree.
type tokenNode struct {
	storage.Token
	Depth    int
	Live     bool
	Children int
	// Via says how the token came from its parent: "exchange" (the parent
	// was the subject token of a token exchange), "refresh" (the parent is
	// the refresh token whose use minted it) or "" (no parent here).
	Via string
}

// derivation says how t came from its parent p.
func derivation(t, p storage.Token) string {
	if p.Kind == storage.RefreshToken && t.FamilyID != "" && t.FamilyID == p.FamilyID {
		return "refresh"
	}
	return "exchange"
}

// tokenTree orders a session's tokens depth-first from their roots (tokens
// without a parent in the session), each after its parent.
func tokenTree(toks []storage.Token, now time.Time) []tokenNode {
	byParent := map[string][]storage.Token{}
	ids := map[string]bool{}
	for _, t := range toks {
		ids[t.ID] = true
	}
	var roots []storage.Token
	for _, t := range toks {
		if t.ParentID == "" || !ids[t.ParentID] {
			roots = append(roots, t)
		} else {
			byParent[t.ParentID] = append(byParent[t.ParentID], t)
		}
	}
	var out []tokenNode
	var walk func(t storage.Token, via string, depth int)
	walk = func(t storage.Token, via string, depth int) {
		if depth > 32 {
			return
		}
		out = append(out, tokenNode{Token: t, Depth: depth, Live: t.Active(now), Children: len(byParent[t.ID]), Via: via})
		for _, ch := range byParent[t.ID] {
			walk(ch, derivation(ch, t), depth+1)
		}
	}
	for _, t := range roots {
		walk(t, "", 0)
	}
	return out
}

// reasonView is a reason rendered generically: its code and points, and
// every other field it carries, by name.
type reasonView struct {
	Code   string
	Points any
	Fields [][2]string
}

func reasonViews(rs []storage.Reason) []reasonView {
	out := make([]reasonView, 0, len(rs))
	for _, r := range rs {
		var m map[string]any
		b, _ := json.Marshal(r)
		_ = json.Unmarshal(b, &m)
		v := reasonView{Code: r.Code, Points: m["points"]}
		keys := make([]string, 0, len(m))
		for k := range m {
			if k != "code" && k != "points" {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			v.Fields = append(v.Fields, [2]string{k, fmt.Sprint(m[k])})
		}
		out = append(out, v)
	}
	return out
}

// eventView is one row of the timeline.
type eventView struct {
	storage.Event
	Reasons []reasonView
}

// sessionPage answers GET /console/sessions/{sid}.
func (c *Console) sessionPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.showSession(w, r, s, http.StatusOK, "")
}

func (c *Console) showSession(w http.ResponseWriter, r *http.Request, s *session, status int, errMsg string) {
	ctx := r.Context()
	sid := web.Var(r, "sid")
	sess, err := c.d.Store.GetSession(ctx, sid)
	if err != nil {
		c.fail(w, r, s, http.StatusNotFound, "No session "+sid+".")
		return
	}
	kinds, _, err := c.clientKinds(ctx)
	if err != nil {
		c.fail(w, r, s, http.StatusServiceUnavailable, "The store cannot be read: "+err.Error())
		return
	}
	now := c.d.Now()
	sm, err := c.summarize(ctx, sess, kinds, now)
	if err != nil {
		c.fail(w, r, s, http.StatusServiceUnavailable, "The store cannot be read: "+err.Error())
		return
	}
	toks, err := c.d.Store.ListSessionTokens(ctx, sid)
	if err != nil {
		c.fail(w, r, s, http.StatusServiceUnavailable, "The store cannot be read: "+err.Error())
		return
	}
	evs := make([]eventView, 0, len(sm.Events))
	for _, ev := range sm.Events {
		evs = append(evs, eventView{Event: ev, Reasons: reasonViews(ev.Reasons)})
	}
	data := map[string]any{"S": sm, "Events": evs, "Tokens": tokenTree(toks, now),
		"Chart": scoreChart(sm.Events, c.thresholds()), "Error": errMsg,
		"SignalTypes": []string{"credential-change", "session-revoked", "risk-level-change"}}
	c.render(w, r, status, "session", s, data, titled("Session "+short(sid)), nav("sessions"))
}

func short(s string) string {
	if len(s) <= 12 {
		return s
	}
	return s[:12] + "…"
}

// act runs one change through the admin API for the session page: on
// success back to the page with notice done, else the page with the API's
// refusal.
func (c *Console) act(w http.ResponseWriter, r *http.Request, s *session, method, path string, body any, done string) {
	if !s.principal.Role.CanChange() {
		c.showSession(w, r, s, http.StatusForbidden, "Your role is read-only: you cannot change anything.")
		return
	}
	var b []byte
	if body != nil {
		b = jsonBody(body)
	}
	if err := c.call(r.Context(), s, method, path, b, nil); err != nil {
		c.showSession(w, r, s, statusOf(err), err.Error())
		return
	}
	http.Redirect(w, r, Prefix+"/sessions/"+url.PathEscape(web.Var(r, "sid"))+"?done="+done, http.StatusSeeOther)
}

// terminate answers POST /console/sessions/{sid}/terminate.
func (c *Console) terminate(w http.ResponseWriter, r *http.Request, s *session) {
	sid := web.Var(r, "sid")
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" {
		reason = "terminated by an administrator in the console"
	}
	c.act(w, r, s, http.MethodPost, "/admin/sessions/"+url.PathEscape(sid)+"/terminate", map[string]string{"reason": reason}, "terminated")
}

// revoke answers POST /console/sessions/{sid}/revoke (form field token:
// the token's id).
func (c *Console) revoke(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PostFormValue("token")
	c.act(w, r, s, http.MethodPost, "/admin/tokens/"+url.PathEscape(id)+"/revoke", nil, "revoked")
}

// signal answers POST /console/sessions/{sid}/signal.
func (c *Console) signal(w http.ResponseWriter, r *http.Request, s *session) {
	body := map[string]string{"sid": web.Var(r, "sid"), "type": r.PostFormValue("type")}
	if lvl := r.PostFormValue("level"); lvl != "" && body["type"] == "risk-level-change" {
		body["level"] = lvl
	}
	if rs := strings.TrimSpace(r.PostFormValue("reason")); rs != "" {
		body["reason"] = rs
	}
	c.act(w, r, s, http.MethodPost, "/admin/signals", body, "signal")
}

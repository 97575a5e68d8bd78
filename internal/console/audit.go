package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// Audit page limits: the newest auditScan records since the chosen time
// are read, filtered, and shown newest first, auditPage a page.
const (
	auditScan = 10_000
	auditPage = 50
)

// auditPage answers GET /console/audit?client=&sid=&type=&actor=&q=&since=&page=.
func (c *Console) auditPage(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	f := map[string]string{"client": q.Get("client"), "sid": q.Get("sid"), "type": q.Get("type"),
		"actor": q.Get("actor"), "q": strings.TrimSpace(q.Get("q")), "since": q.Get("since")}
	if f["since"] == "" {
		f["since"] = "24h"
	}
	page := pageOf(q)
	data := map[string]any{"F": f, "Types": []string{"issue", "exchange", "refresh", "refuse", "revoke", "terminate", "decision", "admin"}}
	since, err := parseSince(f["since"], c.d.Now())
	if err != nil {
		data["Error"] = "since: " + err.Error()
		c.render(w, r, http.StatusBadRequest, "audit", s, data, titled("Audit log"), nav("audit"))
		return
	}
	recs, err := c.d.Store.ListAudit(r.Context(), storage.AuditFilter{ClientID: f["client"], SessionID: f["sid"], Since: since,
		Limit: auditScan, Newest: true})
	if err != nil {
		c.fail(w, r, s, http.StatusServiceUnavailable, "The store cannot be read: "+err.Error())
		return
	}
	var rows []storage.AuditRecord
	for _, rec := range recs { // newest first
		if auditMatch(rec, f) {
			rows = append(rows, rec)
		}
	}
	start := min((page-1)*auditPage, len(rows))
	end := min(start+auditPage, len(rows))
	data["Rows"], data["Total"], data["First"], data["Last"] = rows[start:end], len(rows), start+1, end
	data["Capped"] = len(recs) == auditScan
	link := func(p int) string {
		v := url.Values{}
		for k, x := range f {
			if x != "" {
				v.Set(k, x)
			}
		}
		v.Set("page", strconv.Itoa(p))
		return v.Encode()
	}
	if page > 1 {
		data["Prev"] = pageLink("/audit", link(page-1))
	}
	if end < len(rows) {
		data["Next"] = pageLink("/audit", link(page+1))
	}
	c.render(w, r, http.StatusOK, "audit", s, data, titled("Audit log"), nav("audit"))
}

func auditMatch(rec storage.AuditRecord, f map[string]string) bool {
	if f["type"] != "" && rec.Type != f["type"] || f["actor"] != "" && rec.Actor != f["actor"] {
		return false
	}
	if q := strings.ToLower(f["q"]); q != "" {
		for _, v := range []string{rec.ClientID, rec.SessionID, rec.Outcome, rec.Reason, rec.Detail, rec.Actor, rec.Type} {
			if strings.Contains(strings.ToLower(v), q) {
				return true
			}
		}
		return false
	}
	return true
}

// parseSince reads an RFC 3339 time, a datetime-local value, or a
// duration before now (24h).
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return parseTime(s)
}

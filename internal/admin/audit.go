package admin

import (
	"net/http"
	"strconv"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// Audit query limits.
const (
	DefaultAuditLimit = 100
	MaxAuditLimit     = 10_000
)

// AuditOutput is the answer of GET /admin/audit.
type AuditOutput struct {
	Records []storage.AuditRecord `json:"records"`
}

// listAudit answers GET /admin/audit?client=&sid=&since=&limit=&order=: the
// audit records of a client and/or a session, oldest first (newest first
// with order=newest), from since (an RFC 3339 time, or a duration such as
// 1h meaning that long ago) on. To read further, ask again with since set
// to the last record's time (records of that very instant come again;
// their seq tells them apart).
func (a *API) listAudit(w http.ResponseWriter, r *http.Request) {
	f, err := auditFilter(r, a.d.Now())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	recs, err := a.d.Store.ListAudit(r.Context(), f)
	if err != nil {
		a.fail(w, r, storeErr(err, "audit log"))
		return
	}
	if recs == nil {
		recs = []storage.AuditRecord{}
	}
	writeJSON(w, http.StatusOK, AuditOutput{Records: recs})
}

// auditFilter reads the query of GET /admin/audit.
func auditFilter(r *http.Request, now time.Time) (storage.AuditFilter, error) {
	q := r.URL.Query()
	f := storage.AuditFilter{ClientID: q.Get("client"), SessionID: q.Get("sid"), Limit: DefaultAuditLimit}
	if s := q.Get("since"); s != "" {
		t, err := parseSince(s, now)
		if err != nil {
			return f, badRequest("since must be an RFC 3339 time or a duration such as 1h")
		}
		f.Since = t
	}
	switch q.Get("order") {
	case "", "oldest":
	case "newest":
		f.Newest = true
	default:
		return f, badRequest("order must be oldest or newest")
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxAuditLimit {
			return f, badRequest("limit must be a number from 1 to %d", MaxAuditLimit)
		}
		f.Limit = n
	}
	return f, nil
}

// parseSince reads an RFC 3339 time, or a positive duration before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, strconv.ErrSyntax
	}
	return now.Add(-d), nil
}

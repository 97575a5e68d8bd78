package admin

import (
	"net/http"
	"strconv"
	"time"

	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/storage"
)

// Session list limits.
const (
	DefaultSessionLimit = 100
	MaxSessionLimit     = 1000
)

// MaxReasonLength bounds the reason given for a termination.
const MaxReasonLength = 512

// SessionOutput is a session as the API returns it, with whether it is
// live now (active and not expired).
type SessionOutput struct {
	storage.Session
	Live bool `json:"live"`
}

// SessionDetail is a session with its tokens (never their values, which
// are not stored) and its risk timeline.
type SessionDetail struct {
	Session SessionOutput   `json:"session"`
	Tokens  []storage.Token `json:"tokens"`
	Events  []storage.Event `json:"events"`
}

// listSessions answers GET
// /admin/sessions?client=&status=&created_from=&created_to=&limit=, newest
// first. created_from and created_to bound the creation time, both
// inclusive, each an RFC 3339 time or a duration meaning that long ago; to
// read further back, ask again with created_to just before the oldest
// session returned.
func (a *API) listSessions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := storage.SessionFilter{ClientID: q.Get("client"), Status: q.Get("status"), Limit: DefaultSessionLimit}
	if f.Status != "" && f.Status != storage.SessionActive && f.Status != storage.SessionTerminated {
		a.fail(w, r, badRequest("status must be %s or %s", storage.SessionActive, storage.SessionTerminated))
		return
	}
	for _, b := range []struct {
		name string
		to   *time.Time
	}{{"created_from", &f.CreatedFrom}, {"created_to", &f.CreatedTo}} {
		if s := q.Get(b.name); s != "" {
			t, err := parseSince(s, a.d.Now())
			if err != nil {
				a.fail(w, r, badRequest("%s must be an RFC 3339 time or a duration such as 1h", b.name))
				return
			}
			*b.to = t
		}
	}
	if !f.CreatedFrom.IsZero() && !f.CreatedTo.IsZero() && f.CreatedTo.Before(f.CreatedFrom) {
		a.fail(w, r, badRequest("created_to is before created_from"))
		return
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxSessionLimit {
			a.fail(w, r, badRequest("limit must be a number from 1 to %d", MaxSessionLimit))
			return
		}
		f.Limit = n
	}
	ss, err := a.d.Store.ListSessions(r.Context(), f)
	if err != nil {
		a.fail(w, r, storeErr(err, "sessions"))
		return
	}
	now := a.d.Now()
	out := make([]SessionOutput, 0, len(ss))
	for _, s := range ss {
		out = append(out, SessionOutput{Session: s, Live: s.Active(now)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
}

// getSession answers GET /admin/sessions/{sid}.
func (a *API) getSession(w http.ResponseWriter, r *http.Request) {
	sid := web.Var(r, "sid")
	ctx := r.Context()
	s, err := a.d.Store.GetSession(ctx, sid)
	if err != nil {
		a.fail(w, r, storeErr(err, "session "+sid))
		return
	}
	toks, err := a.d.Store.ListSessionTokens(ctx, sid)
	if err != nil {
		a.fail(w, r, storeErr(err, "tokens of session "+sid))
		return
	}
	evs, err := a.d.Store.ListEvents(ctx, sid)
	if err != nil {
		a.fail(w, r, storeErr(err, "events of session "+sid))
		return
	}
	if toks == nil {
		toks = []storage.Token{}
	}
	if evs == nil {
		evs = []storage.Event{}
	}
	writeJSON(w, http.StatusOK, SessionDetail{Session: SessionOutput{Session: s, Live: s.Active(a.d.Now())}, Tokens: toks, Events: evs})
}

// terminateRequest is the optional body of POST .../terminate.
type terminateRequest struct {
	Reason string `json:"reason"`
}

// terminateSession answers POST /admin/sessions/{sid}/terminate: the
// session ends and every token in it is revoked. Ending an ended session
// succeeds.
func (a *API) terminateSession(w http.ResponseWriter, r *http.Request) {
	sid := web.Var(r, "sid")
	req := terminateRequest{Reason: "terminated by an administrator"}
	if r.ContentLength != 0 {
		if err := decodeBody(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if len(req.Reason) > MaxReasonLength {
		a.fail(w, r, badRequest("reason is longer than %d bytes", MaxReasonLength))
		return
	}
	ctx := r.Context()
	if a.d.Sessions == nil {
		a.fail(w, r, errNoTerminator)
		return
	}
	if err := a.d.Sessions.TerminateSession(ctx, sid, req.Reason); err != nil {
		a.fail(w, r, storeErr(err, "session "+sid))
		return
	}
	s, err := a.d.Store.GetSession(ctx, sid)
	if err == nil {
		err = a.d.Store.Update(ctx, func(wr storage.Writer) error {
			return a.auditIn(ctx, wr, storage.AuditRecord{ClientID: s.ClientID, SessionID: sid,
				Outcome: "terminated", Detail: req.Reason})
		})
	}
	if err != nil {
		a.fail(w, r, storeErr(err, "session "+sid))
		return
	}
	a.d.Log.InfoContext(ctx, "admin: session terminated", "session", sid, "client_id", s.ClientID)
	writeJSON(w, http.StatusOK, map[string]any{"session": SessionOutput{Session: s, Live: s.Active(a.d.Now())}})
}

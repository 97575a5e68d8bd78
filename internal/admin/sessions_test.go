package admin_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/admin"
	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/memory"
)

func TestSessions(t *testing.T) {
	e := newEnv(t)
	e.seedSession("s1", "a1")
	e.seedSession("s2", "a1")
	e.seedSession("s3", "a2")
	count := func(path string) int {
		t.Helper()
		return len(e.do("GET", path, nil).want(t, http.StatusOK).json(t)["sessions"].([]any))
	}
	if n := count("/admin/sessions"); n != 3 {
		t.Errorf("all sessions = %d", n)
	}
	if n := count("/admin/sessions?client=a1"); n != 2 {
		t.Errorf("sessions of a1 = %d", n)
	}
	if n := count("/admin/sessions?limit=1"); n != 1 {
		t.Errorf("limit=1 gave %d", n)
	}
	for _, bad := range []string{"?status=gone", "?limit=0", "?limit=x", "?limit=100000"} {
		e.do("GET", "/admin/sessions"+bad, nil).want(t, http.StatusBadRequest)
	}
	for _, bad := range []string{"?created_from=x", "?created_to=-1h", "?created_from=2026-03-17T10:00:00Z&created_to=2026-03-17T09:00:00Z"} {
		e.do("GET", "/admin/sessions"+bad, nil).want(t, http.StatusBadRequest)
	}

	d := e.do("GET", "/admin/sessions/s1", nil).want(t, http.StatusOK).json(t)
	sess := d["session"].(map[string]any)
	if sess["sid"] != "s1" || sess["live"] != true {
		t.Errorf("session = %v", sess)
	}
	if toks := d["tokens"].([]any); len(toks) != 2 {
		t.Errorf("tokens = %v", toks)
	}
	if evs := d["events"].([]any); len(evs) != 1 || evs[0].(map[string]any)["score"] != 12.0 {
		t.Errorf("events = %v", evs)
	}
	e.do("GET", "/admin/sessions/nope", nil).want(t, http.StatusNotFound)

	r := e.do("POST", "/admin/sessions/s1/terminate", map[string]string{"reason": "incident 42"}).want(t, http.StatusOK).json(t)
	if s := r["session"].(map[string]any); s["status"] != "terminated" || s["live"] != false {
		t.Errorf("terminate answer = %v", r)
	}
	if e.term.calls[0] != "s1: incident 42" {
		t.Errorf("terminator calls = %v", e.term.calls)
	}
	if n := count("/admin/sessions?status=terminated"); n != 1 {
		t.Errorf("terminated sessions = %d", n)
	}
	e.do("POST", "/admin/sessions/s2/terminate", nil).want(t, http.StatusOK)
	e.do("POST", "/admin/sessions/nope/terminate", nil).want(t, http.StatusNotFound)
	e.do("POST", "/admin/sessions/s3/terminate", map[string]string{"why": "x"}).want(t, http.StatusBadRequest)
	audit, _ := e.store.ListAudit(t.Context(), storage.AuditFilter{SessionID: "s1"})
	if len(audit) != 1 || audit[0].Outcome != "terminated" || audit[0].Detail != "incident 42" {
		t.Errorf("audit = %+v", audit)
	}
}

func TestKeys(t *testing.T) {
	e := newEnv(t)
	if ks := e.do("GET", "/admin/keys", nil).want(t, http.StatusOK).json(t)["keys"].([]any); len(ks) != 0 {
		t.Errorf("keys = %v", ks)
	}
	r := e.do("POST", "/admin/keys/rotate", nil).want(t, http.StatusOK)
	if e.keys.n != 1 || strings.Contains(string(r.body), "sealed") || strings.Contains(string(r.body), "private") {
		t.Errorf("rotate: n=%d body=%s", e.keys.n, r.body)
	}
	k := r.json(t)["keys"].([]any)[0].(map[string]any)
	if k["kid"] != "k1" || k["active"] != true {
		t.Errorf("key = %v", k)
	}

	rt := web.NewRouter()
	admin.New(adminToken, admin.Deps{Store: memory.New()}).Mount(rt)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/admin/keys/rotate", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	rt.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound {
		t.Errorf("rotate without a key manager = %d, want 404", rec.Code)
	}
}

func TestStorageUnavailable(t *testing.T) {
	e := newEnv(t)
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/admin/clients", "/admin/resources", "/admin/sessions", "/admin/clients/x"} {
		r := e.do("GET", p, nil)
		if r.status != http.StatusServiceUnavailable || r.json(t)["error"] != "temporarily_unavailable" {
			t.Errorf("GET %s on a closed store = %d %s", p, r.status, r.body)
		}
	}
	if !errors.Is(e.store.Update(t.Context(), func(storage.Writer) error { return nil }), storage.ErrUnavailable) {
		t.Fatal("closed memory store still writes")
	}
}

func TestNoTerminatorFailsClosed(t *testing.T) {
	store := memory.New()
	e := &env{t: t, store: store, now: t0}
	e.seedSession("s1", "a1")
	rt := web.NewRouter()
	admin.New(adminToken, admin.Deps{Store: store, Now: func() time.Time { return t0 }}).Mount(rt)
	for _, p := range []string{"/admin/sessions/s1/terminate"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", p, nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		rt.ServeHTTP(rec, req)
		if rec.Code != http.StatusInternalServerError {
			t.Errorf("POST %s without a terminator = %d, want 500", p, rec.Code)
		}
	}
	if s, _ := store.GetSession(t.Context(), "s1"); s.Status != storage.SessionActive {
		t.Errorf("session changed: %+v", s)
	}
}

// TestSessionsCreatedRange pages back through sessions by creation time,
// past the limit of one answer, with times and durations.
func TestSessionsCreatedRange(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	err := e.store.Update(ctx, func(w storage.Writer) error {
		for i := range 5 {
			at := t0.Add(-time.Duration(i) * time.Hour)
			s := storage.Session{ID: fmt.Sprintf("s%d", i), ClientID: "a1", Subject: "a1", CreatedAt: at,
				ExpiresAt: at.Add(time.Hour), Status: storage.SessionActive}
			if err := w.CreateSession(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	list := func(q string) (sids []string, oldest string) {
		t.Helper()
		for _, x := range e.do("GET", "/admin/sessions?"+q, nil).want(t, http.StatusOK).json(t)["sessions"].([]any) {
			s := x.(map[string]any)
			sids = append(sids, s["sid"].(string))
			oldest = s["created_at"].(string)
		}
		return sids, oldest
	}
	tests := []struct{ q, want string }{
		{"created_from=2026-03-17T08:00:00Z", "s0 s1 s2"},
		{"created_to=2026-03-17T08:00:00Z", "s2 s3 s4"},
		{"created_from=2026-03-17T07:00:00Z&created_to=2026-03-17T09:00:00Z", "s1 s2 s3"},
		{"created_from=90m", "s0 s1"},
		{"created_to=3h", "s3 s4"},
		{"created_from=2026-03-17T09:30:00Z&created_to=2026-03-17T09:59:59Z", ""},
		{"client=a2&created_from=5h", ""},
	}
	for _, tt := range tests {
		got, _ := list(tt.q)
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%s: got %v, want %s", tt.q, got, tt.want)
		}
	}

	// Paging back: each answer's oldest session, minus a nanosecond, is the next created_to.
	var all []string
	q := "limit=2"
	for range 4 {
		got, oldest := list(q)
		if len(got) == 0 {
			break
		}
		all = append(all, got...)
		o, err := time.Parse(time.RFC3339Nano, oldest)
		if err != nil {
			t.Fatal(err)
		}
		q = "limit=2&created_to=" + url.QueryEscape(o.Add(-time.Nanosecond).Format(time.RFC3339Nano))
	}
	if strings.Join(all, " ") != "s0 s1 s2 s3 s4" {
		t.Errorf("paged back through %v", all)
	}
}

package admin_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
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

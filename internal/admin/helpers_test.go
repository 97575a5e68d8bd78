package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/admin"
	"github.com/vigil-auth/vigil/internal/secret"
	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/memory"
)

const adminToken = "vat_test-admin-token-0123456789abcdefghijklmnopq"

var t0 = time.Date(2026, 3, 17, 10, 0, 0, 0, time.UTC)

// fakeTerminator ends sessions the way authz does, in the store: the
// session is marked terminated and its tokens revoked.
type fakeTerminator struct {
	store storage.Store
	now   func() time.Time
	mu    sync.Mutex
	calls []string // "sid: reason"
}

func (f *fakeTerminator) TerminateSession(ctx context.Context, sid, reason string) error {
	f.mu.Lock()
	f.calls = append(f.calls, sid+": "+reason)
	f.mu.Unlock()
	return f.store.Update(ctx, func(w storage.Writer) error {
		s, err := w.GetSession(ctx, sid)
		if err != nil {
			return err
		}
		s.Status, s.TerminatedAt, s.Reason = storage.SessionTerminated, f.now(), reason
		if err := w.PutSession(ctx, s); err != nil {
			return err
		}
		toks, err := w.ListSessionTokens(ctx, sid)
		if err != nil {
			return err
		}
		for _, t := range toks {
			t.RevokedAt = f.now()
			if err := w.PutToken(ctx, t); err != nil {
				return err
			}
		}
		return nil
	})
}

// fakeKeys counts rotations and writes a key like keys.Manager would.
type fakeKeys struct {
	store storage.Store
	n     int
}

func (f *fakeKeys) Rotate(ctx context.Context) error {
	f.n++
	return f.store.Update(ctx, func(w storage.Writer) error {
		return w.PutKey(ctx, storage.Key{ID: "k" + string(rune('0'+f.n)), Alg: "ES256", Private: []byte("sealed"),
			Public: []byte(`{}`), CreatedAt: t0})
	})
}

type env struct {
	t      *testing.T
	srv    *httptest.Server
	store  *memory.Store
	hasher *secret.Hasher
	term   *fakeTerminator
	keys   *fakeKeys
	now    time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	h, err := secret.NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: memory.New(), hasher: h, now: t0}
	clock := func() time.Time { return e.now }
	e.term = &fakeTerminator{store: e.store, now: clock}
	e.keys = &fakeKeys{store: e.store}
	api := admin.New(adminToken, admin.Deps{Store: e.store, Hasher: h, Sessions: e.term, Keys: e.keys, Now: clock})
	r := web.NewRouter()
	api.Mount(r)
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)
	return e
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// do sends a request with the admin token. body may be nil, a string (sent
// as is) or any value (sent as JSON).
func (e *env) do(method, path string, body any) resp {
	e.t.Helper()
	return e.doAuth(method, path, body, "Bearer "+adminToken)
}

func (e *env) doAuth(method, path string, body any, auth string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// want fails the test unless r has the given status.
func (r resp) want(t *testing.T, status int) resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	return r
}

// seedSession stores an active session of client with one access and one
// refresh token and one event.
func (e *env) seedSession(sid, client string) {
	e.t.Helper()
	ctx := e.t.Context()
	err := e.store.Update(ctx, func(w storage.Writer) error {
		s := storage.Session{ID: sid, ClientID: client, Subject: client, CreatedAt: t0,
			ExpiresAt: t0.Add(time.Hour), Status: storage.SessionActive}
		if err := w.CreateSession(ctx, s); err != nil {
			return err
		}
		for _, k := range []string{storage.AccessToken, storage.RefreshToken} {
			tok := storage.Token{ID: sid + "-" + k, Kind: k, Format: "opaque", ClientID: client, Subject: client,
				SessionID: sid, IssuedAt: t0, NotBefore: t0, ExpiresAt: t0.Add(time.Hour)}
			if err := w.CreateToken(ctx, tok); err != nil {
				return err
			}
		}
		return w.AppendEvent(ctx, storage.Event{SessionID: sid, At: t0, Type: "token", ClientID: client,
			Score: 12, Level: "low", Action: "allow", Reasons: []storage.Reason{{Code: "new.audience", Points: 12}}})
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

func agentBody(id string) map[string]any {
	return map[string]any{
		"id": id, "kind": "agent",
		"grant_types": []string{"client_credentials", "refresh_token"},
		"scopes":      []string{"tickets:read"}, "audiences": []string{"https://tickets.example"},
		"access_token_ttl": "15m",
	}
}

func readAll(t *testing.T, res *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

package console_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/admin"
	"github.com/vigil-auth/vigil/internal/console"
	"github.com/vigil-auth/vigil/internal/secret"
	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/bolt"
	"github.com/vigil-auth/vigil/storage/memory"
)

// BenchmarkPages times the pages that read many sessions (the sessions
// list filters the newest 1000 with their timelines; the overview reads the
// newest 500) on a store holding 1000 sessions of 6 events each.
func BenchmarkPages(b *testing.B) {
	stores := map[string]func(b *testing.B) storage.Store{
		"memory": func(*testing.B) storage.Store { return memory.New() },
		"bolt": func(b *testing.B) storage.Store {
			s, err := bolt.Open(filepath.Join(b.TempDir(), "vigil.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		},
	}
	for _, name := range []string{"memory", "bolt"} {
		store := stores[name](b)
		seed(b, store, 1000, 6)
		h, _ := secret.NewHasher([]byte("0123456789abcdef0123456789abcdef"))
		api := admin.New(adminToken, admin.Deps{Store: store, Hasher: h, Sessions: terminator{store}})
		c, err := console.New(console.Config{}, console.Deps{Store: store, Admin: api.Internal(), Auth: api.Credentials()})
		if err != nil {
			b.Fatal(err)
		}
		r := web.NewRouter()
		c.Mount(r)
		srv := httptest.NewServer(r)
		e := &env{t: b, srv: srv, now: time.Now()}
		br := e.browser()
		lp := br.get("/console/login")
		csrf := csrfField.FindStringSubmatch(lp.body)[1]
		br.post("/console/login", map[string][]string{"csrf": {csrf}, "token": {adminToken}})
		for _, page := range []string{"/console/sessions?q=nothing-matches", "/console/sessions", "/console/overview"} {
			b.Run(name+page, func(b *testing.B) {
				for b.Loop() {
					if p := br.get(page); p.status != http.StatusOK {
						b.Fatalf("status %d", p.status)
					}
				}
			})
		}
		srv.Close()
	}
}

func seed(b *testing.B, store storage.Store, sessions, events int) {
	ctx := b.Context()
	now := time.Now()
	for i := range sessions {
		err := store.Update(ctx, func(w storage.Writer) error {
			sid := fmt.Sprintf("ses_%05d", i)
			if err := w.CreateSession(ctx, storage.Session{ID: sid, ClientID: "agent-1", Subject: "agent-1",
				CreatedAt: now.Add(-time.Duration(sessions-i) * time.Second), ExpiresAt: now.Add(time.Hour), Status: storage.SessionActive}); err != nil {
				return err
			}
			for j := range events {
				if err := w.AppendEvent(ctx, storage.Event{SessionID: sid, At: now.Add(-time.Duration(events-j) * time.Second),
					Type: "exchange", ClientID: "agent-1", Score: j * 10, Level: "low", Action: "allow",
					Reasons: []storage.Reason{{Code: "net.new_network", Points: 3, Evidence: "10.0.0.1 is new"}}}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

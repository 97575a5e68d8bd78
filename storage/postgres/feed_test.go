package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/postgres/pgtest"
)

func openPair(t *testing.T) (*Store, *Store, string) {
	t.Helper()
	u := pgtest.Fresh(t)
	a, err := Open(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err := Open(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b, u
}

func putClient(t *testing.T, s *Store, c storage.Client) {
	t.Helper()
	if err := s.Update(t.Context(), func(w storage.Writer) error { return w.PutClient(t.Context(), c) }); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// TestFeedInvalidatesOtherInstances: a registration cached on one instance
// is dropped when another changes it, with or without notifications.
func TestFeedInvalidatesOtherInstances(t *testing.T) {
	for _, listen := range []bool{true, false} {
		a, b, _ := openPair(t)
		a.Feed().SetListen(listen)
		var seen []Change
		got := make(chan Change, 16)
		a.Feed().Subscribe(func(c Change) { got <- c })
		putClient(t, b, storage.Client{ID: "c1", Kind: storage.KindService})
		if c, err := a.GetClient(t.Context(), "c1"); err != nil || c.Disabled {
			t.Fatalf("GetClient = %+v, %v", c, err)
		}
		putClient(t, b, storage.Client{ID: "c1", Kind: storage.KindService, Disabled: true})
		ok := waitFor(2*time.Second, func() bool {
			c, err := a.GetClient(t.Context(), "c1")
			return err == nil && c.Disabled
		})
		if !ok {
			t.Fatalf("listen=%v: the other instance still answers from its cache", listen)
		}
		// Subscribers run after the cache has dropped the entry, so the
		// change may reach them a moment after the read above.
		heard := waitFor(2*time.Second, func() bool {
			for len(got) > 0 {
				seen = append(seen, <-got)
			}
			n := 0 // both writes of c1 must come round
			for _, c := range seen {
				if c.Kind == KindClient && c.Key == "c1" {
					n++
				}
			}
			return n >= 2
		})
		if !heard {
			t.Errorf("listen=%v: subscriber saw %+v", listen, seen)
		}
	}
}

// TestStaleFeedReadsThrough: once the feed stops, the cache no longer
// answers, so a change the cache never heard of is read from the database.
func TestStaleFeedReadsThrough(t *testing.T) {
	a, _, _ := openPair(t)
	putClient(t, a, storage.Client{ID: "c1", Kind: storage.KindService})
	if err := a.Feed().Wait(t.Context()); err != nil { // the write's own change has come round
		t.Fatal(err)
	}
	if _, err := a.GetClient(t.Context(), "c1"); err != nil {
		t.Fatal(err)
	}
	if !a.Feed().Fresh() {
		t.Fatal("a running feed is not fresh")
	}
	if lag := a.Feed().Lag(); lag < 0 || lag > time.Second {
		t.Fatalf("a running feed lags %v", lag)
	}
	// A change that bypasses the feed: only a read-through can see it.
	if _, err := a.pool.Exec(t.Context(), `UPDATE clients SET doc = $1 WHERE id = 'c1'`,
		[]byte(`{"id":"c1","kind":"service","disabled":true}`)); err != nil {
		t.Fatal(err)
	}
	if c, _ := a.GetClient(t.Context(), "c1"); c.Disabled {
		t.Fatal("the cache did not answer while fresh: the test would prove nothing")
	}
	a.feed.stop()
	if !waitFor(time.Second, func() bool { return !a.Feed().Fresh() }) {
		t.Fatal("a stopped feed stays fresh")
	}
	if lag := a.Feed().Lag(); lag <= FreshFor {
		t.Fatalf("a stale feed lags only %v", lag)
	}
	if c, err := a.GetClient(context.Background(), "c1"); err != nil || !c.Disabled {
		t.Fatalf("with a stale feed GetClient = %+v, %v; want the database's record", c, err)
	}
}

func TestListenParam(t *testing.T) {
	tests := []struct {
		in, out string
		on      bool
	}{
		{"postgres://h/db", "postgres://h/db", true},
		{"postgres://h/db?vigil_listen=off&sslmode=disable", "postgres://h/db?sslmode=disable", false},
		{"postgres://h/db?vigil_listen=on", "postgres://h/db", true},
		{"host=h dbname=db", "host=h dbname=db", true},
	}
	for _, tt := range tests {
		if out, on := listenParam(tt.in); out != tt.out || on != tt.on {
			t.Errorf("listenParam(%q) = %q, %v; want %q, %v", tt.in, out, on, tt.out, tt.on)
		}
	}
}

// TestUnstorableKeys: keys a text column cannot hold are simply not found
// (health checks and hostile client ids use them), never an outage.
func TestUnstorableKeys(t *testing.T) {
	a, _, _ := openPair(t)
	for _, key := range []string{"\x00health", "bad\xffutf8"} {
		if _, err := a.GetClient(t.Context(), key); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("GetClient(%q) = %v, want ErrNotFound", key, err)
		}
		if _, err := a.GetToken(t.Context(), key); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("GetToken(%q) = %v, want ErrNotFound", key, err)
		}
	}
}

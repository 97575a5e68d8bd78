package ssf

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/keys"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/bolt"
	"github.com/vigil-auth/vigil/storage/memory"
	"github.com/vigil-auth/vigil/storage/postgres"
	"github.com/vigil-auth/vigil/storage/postgres/pgtest"
)

// BenchmarkPush measures push delivery end to end: b.N session-revoked SETs
// queued on one stream, then signed with a real ES256 key, POSTed to a
// local receiver answering 202 and removed from the outbox, in order. It
// reports SETs per second of delivery (queueing excluded).
func BenchmarkPush(b *testing.B) {
	b.Run("memory", func(b *testing.B) { benchPush(b, memory.New()) })
	b.Run("bolt", func(b *testing.B) {
		st, err := bolt.Open(filepath.Join(b.TempDir(), "vigil.db"))
		if err != nil {
			b.Fatal(err)
		}
		benchPush(b, st)
	})
	// PostgreSQL when a server answers (pgtest); skipped otherwise.
	b.Run("postgres", func(b *testing.B) {
		st, err := postgres.Open(b.Context(), pgtest.Fresh(b))
		if err != nil {
			b.Fatal(err)
		}
		benchPush(b, st)
	})
}

func benchPush(b *testing.B, store storage.Store) {
	defer store.Close()
	ctx := context.Background()
	kek := make([]byte, keys.KEKSize)
	_, _ = rand.Read(kek)
	km, err := keys.Open(ctx, store, kek, keys.Config{})
	if err != nil {
		b.Fatal(err)
	}
	var got atomic.Int64
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer rcv.Close()
	tx, err := NewTransmitter(Config{Issuer: testIssuer}, store, km, func(s string) string { return s })
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	err = store.Update(ctx, func(w storage.Writer) error {
		if err := w.CreateSession(ctx, storage.Session{ID: "s1", ClientID: "agent", Status: storage.SessionActive,
			CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			return err
		}
		return w.PutStream(ctx, storage.Stream{ID: "st", ClientID: "rp", Audience: []string{"rp"}, Method: storage.DeliveryPush,
			EndpointURL: rcv.URL, Status: storage.StreamEnabled, AllSubjects: true, EventsDelivered: Transmitted})
	})
	if err != nil {
		b.Fatal(err)
	}
	sess, _ := store.GetSession(ctx, "s1")
	for queued := 0; queued < b.N; {
		n := min(500, b.N-queued)
		err := store.Update(ctx, func(w storage.Writer) error {
			for range n {
				if err := tx.SessionRevoked(ctx, w, sess, "admin", "bench"); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		queued += n
	}
	b.ResetTimer()
	start := time.Now()
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { tx.Run(rctx); close(done) }()
	for got.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	for {
		es, _ := store.ListOutbox(ctx, "st", 1)
		if len(es) == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	<-done
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "SETs/s")
}

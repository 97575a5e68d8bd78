package storetest

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// BenchFunc returns a new, empty store for a benchmark. Benchmark closes it.
type BenchFunc func(b *testing.B) storage.Store

// Benchmark measures the hot paths every backend serves: token lookups
// (introspection) and the Update that issues a grant (one session and two
// tokens), alone and from many goroutines so that group commit shows.
// Update benchmarks report "updates/s".
func Benchmark(b *testing.B, newStore BenchFunc) {
	fresh := func(b *testing.B) storage.Store {
		s := newStore(b)
		b.Cleanup(func() { s.Close() })
		return s
	}
	b.Run("GetToken", func(b *testing.B) { benchGetToken(b, fresh(b), false) })
	b.Run("GetTokenParallel", func(b *testing.B) { benchGetToken(b, fresh(b), true) })
	b.Run("GetClient", func(b *testing.B) { benchGetClient(b, fresh(b)) })
	b.Run("UpdateGrant/serial", func(b *testing.B) { benchUpdateGrant(b, fresh(b), 0) })
	for _, p := range []int{1, 8, 64} {
		b.Run("UpdateGrant/parallel-"+strconv.Itoa(p), func(b *testing.B) { benchUpdateGrant(b, fresh(b), p) })
	}
	b.Run("ListSessionsRange", func(b *testing.B) { benchListSessionsRange(b, fresh(b)) })
}

// benchListSessionsRange lists one old hour (100 sessions) of
// benchSessions sessions created 36 s apart: a backend that walks its
// creation-time index reads that hour only.
func benchListSessionsRange(b *testing.B, s storage.Store) {
	const benchSessions = 50_000
	err := s.Update(b.Context(), func(w storage.Writer) error {
		for i := range benchSessions {
			c := "c" + strconv.Itoa(i%10)
			if err := w.CreateSession(b.Context(), newSession("s"+strconv.Itoa(i), c, at(time.Duration(i)*36*time.Second))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatalf("seed: %v", err)
	}
	f := storage.SessionFilter{CreatedFrom: at(10 * time.Hour), CreatedTo: at(11*time.Hour - time.Nanosecond)}
	b.ReportAllocs()
	for b.Loop() {
		ss, err := s.ListSessions(b.Context(), f)
		if err != nil || len(ss) != 100 {
			b.Fatalf("listed %d sessions: %v", len(ss), err)
		}
	}
}

const benchTokens = 10_000

// seedTokens stores a session with benchTokens tokens and returns their IDs.
func seedTokens(b *testing.B, s storage.Store) []string {
	ids := make([]string, benchTokens)
	err := s.Update(b.Context(), func(w storage.Writer) error {
		if err := w.CreateSession(b.Context(), newSession("s1", "c1", t0)); err != nil {
			return err
		}
		for i := range ids {
			ids[i] = "tok-" + strconv.Itoa(i)
			if err := w.CreateToken(b.Context(), newToken(ids[i], "s1", t0)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatalf("seed: %v", err)
	}
	return ids
}

func benchGetToken(b *testing.B, s storage.Store, parallel bool) {
	ids := seedTokens(b, s)
	ctx := b.Context()
	b.ReportAllocs()
	if !parallel {
		i := 0
		for b.Loop() {
			if _, err := s.GetToken(ctx, ids[i%len(ids)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
		return
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.GetToken(ctx, ids[i%len(ids)]); err != nil {
				b.Error(err)
				return
			}
			i += 7
		}
	})
}

func benchGetClient(b *testing.B, s storage.Store) {
	if err := s.Update(b.Context(), func(w storage.Writer) error { return w.PutClient(b.Context(), newClient("c1")) }); err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.GetClient(ctx, "c1"); err != nil {
			b.Fatal(err)
		}
	}
}

// benchUpdateGrant runs Updates that each create a session and two tokens:
// from one goroutine when parallelism is 0, else from parallelism ×
// GOMAXPROCS goroutines.
func benchUpdateGrant(b *testing.B, s storage.Store, parallelism int) {
	var seq atomic.Int64
	ctx := b.Context()
	grant := func() error {
		id := "g" + strconv.FormatInt(seq.Add(1), 10)
		return s.Update(ctx, func(w storage.Writer) error { return writeGrant(ctx, w, id) })
	}
	b.ReportAllocs()
	start := time.Now()
	if parallelism == 0 {
		for b.Loop() {
			if err := grant(); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		b.SetParallelism(parallelism)
		b.ResetTimer()
		start = time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := grant(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.ReportMetric(float64(seq.Load())/time.Since(start).Seconds(), "updates/s")
}

// writeGrant writes what issuing one grant writes: a session, an access
// token and a refresh token.
func writeGrant(ctx context.Context, w storage.Writer, id string) error {
	sess := newSession(id, "c1", t0)
	access := newToken(id+"-at", id, t0)
	refresh := newToken(id+"-rt", id, t0)
	refresh.Kind = storage.RefreshToken
	return errorsJoin(w.CreateSession(ctx, sess), w.CreateToken(ctx, access), w.CreateToken(ctx, refresh))
}

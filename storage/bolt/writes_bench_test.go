package bolt

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// issueWrites is what a client_credentials request writes: a session, its
// access token, a timeline event and an audit record.
func issueWrites(ctx context.Context, w storage.Writer, now time.Time, sid, client string) error {
	err := w.CreateSession(ctx, storage.Session{ID: sid, ClientID: client, Subject: client, CreatedAt: now,
		ExpiresAt: now.Add(15 * time.Minute), Status: storage.SessionActive})
	if err == nil {
		err = w.CreateToken(ctx, storage.Token{ID: randomID(32), Kind: storage.AccessToken, Format: "opaque",
			ClientID: client, Subject: client, SessionID: sid, Scopes: []string{"read", "write"},
			Audiences: []string{"https://rs.example"}, IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(15 * time.Minute)})
	}
	if err == nil {
		err = w.AppendEvent(ctx, storage.Event{SessionID: sid, At: now, Type: "token", ClientID: client,
			Detail: "scope=read write aud=https://rs.example", Score: 3, Level: "none", Action: "allow",
			Reasons: []storage.Reason{{Code: "net.new_network", Points: 3, Evidence: "127.0.0.0/24 new for the client"}}})
	}
	if err == nil {
		err = w.AppendAudit(ctx, storage.AuditRecord{At: now, Type: "issue", ClientID: client, SessionID: sid,
			Outcome: "issued", Detail: "access_token scope=read write"})
	}
	return err
}

// exchangeWrites is what a token exchange writes: the session (extended),
// the exchanged token, a timeline event and an audit record.
func exchangeWrites(ctx context.Context, w storage.Writer, now time.Time, sid, client string) error {
	s, err := w.GetSession(ctx, sid)
	if err == nil {
		err = w.PutSession(ctx, s)
	}
	if err == nil {
		err = w.CreateToken(ctx, storage.Token{ID: randomID(32), Kind: storage.AccessToken, Format: "opaque",
			ClientID: client, Subject: client, SessionID: sid, ParentID: randomID(32), Scopes: []string{"read"},
			Audiences: []string{"https://rs.example"}, IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(5 * time.Minute)})
	}
	if err == nil {
		err = w.AppendEvent(ctx, storage.Event{SessionID: sid, At: now, Type: "exchange", ClientID: client,
			Detail: "scope=read aud=https://rs.example", Score: 3, Level: "none", Action: "allow"})
	}
	if err == nil {
		err = w.AppendAudit(ctx, storage.AuditRecord{At: now, Type: "exchange", ClientID: client, SessionID: sid,
			Outcome: "issued", Detail: "access_token scope=read"})
	}
	return err
}

// BenchmarkRequestWrites replays, durably and from 32 goroutines, the
// writes of client_credentials requests (each opening a session) and then
// of token exchanges over the sessions they opened, and reports what a
// commit's cost is made of: pages written per request and requests per
// commit. Run it with -benchtime 20000x for the figures in
// docs/PERFORMANCE.md.
func BenchmarkRequestWrites(b *testing.B) {
	ctx := context.Background()
	s := openT(b)
	var opened []string
	var mu sync.Mutex
	run := func(b *testing.B, next func(i int) (sid string, fn writes)) {
		st0 := s.db.Stats()
		_, _, c0 := s.TxCounts()
		var n atomic.Int64
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := int(n.Add(1) - 1)
				sid, fn := next(i)
				client := fmt.Sprint("c", i%16)
				if err := s.Update(ctx, func(w storage.Writer) error { return fn(ctx, w, time.Now(), sid, client) }); err != nil {
					b.Error(err)
					return
				}
			}
		})
		st1 := s.db.Stats()
		_, _, c1 := s.TxCounts()
		d := st1.TxStats.Sub(&st0.TxStats)
		b.ReportMetric(float64(d.GetWrite())/float64(b.N), "pages/op")
		b.ReportMetric(float64(b.N)/float64(max(c1-c0, 1)), "ops/commit")
	}
	b.Run("issue", func(b *testing.B) {
		run(b, func(int) (string, writes) {
			sid := "ses_" + randomID(16)
			mu.Lock()
			opened = append(opened, sid)
			mu.Unlock()
			return sid, issueWrites
		})
	})
	b.Run("exchange", func(b *testing.B) {
		if len(opened) == 0 {
			b.Skip("run with the issue sub-benchmark")
		}
		run(b, func(i int) (string, writes) { return opened[i%len(opened)], exchangeWrites })
	})
}

// writes is one request's writes.
type writes func(ctx context.Context, w storage.Writer, now time.Time, sid, client string) error

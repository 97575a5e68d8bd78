package server

import (
	"context"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/memory"
)

func TestRiskJournalRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	eng, _, err := NewRiskEngine(risk.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for i := range 12 { // clean sessions teach the client's baseline
		at := start.Add(time.Duration(i) * 6 * time.Hour)
		sid := "s" + string(rune('a'+i))
		eng.Observe(risk.Event{Op: risk.OpToken, At: at, SessionID: sid, ClientID: "job"})
		eng.Observe(risk.Event{Op: risk.OpExchange, At: at.Add(time.Second), SessionID: sid, ClientID: "job",
			Audience: "api", Resource: risk.ResourceProfile{Sensitivity: 1}, Tool: "t.get"})
	}
	end := start.Add(10 * 24 * time.Hour)
	newRiskJournal(eng, dir).save(end, nil, log)
	want := eng.Snapshot()
	if len(want.Clients) == 0 {
		t.Fatal("nothing learned: the test would prove nothing")
	}

	store := memory.New()
	err = store.Update(ctx, func(w storage.Writer) error {
		return w.CreateSession(ctx, storage.Session{ID: "live", ClientID: "job", Status: storage.SessionActive,
			CreatedAt: end, ExpiresAt: end.Add(time.Hour), Facts: []storage.Fact{{Code: risk.FactRefreshReuse, Points: 100, At: end}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	fresh, _, _ := NewRiskEngine(risk.DefaultPolicy())
	if err := newRiskJournal(fresh, dir).restore(ctx, store, log); err != nil {
		t.Fatal(err)
	}
	if got := fresh.Snapshot(); !reflect.DeepEqual(got, want) {
		t.Fatalf("restored snapshot differs:\n got %+v\nwant %+v", got, want)
	}
	d, ok := fresh.Peek("live", end.Add(time.Minute), 1)
	if !ok || d.Score < 85 {
		t.Fatalf("restored session lost its sticky fact: %+v %v", d, ok)
	}
}

package server

import (
	"context"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/risk"
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

	fresh, _, _ := NewRiskEngine(risk.DefaultPolicy())
	if err := newRiskJournal(fresh, dir).restore(ctx, log); err != nil {
		t.Fatal(err)
	}
	if got := fresh.Snapshot(); !reflect.DeepEqual(got, want) {
		t.Fatalf("restored snapshot differs:\n got %+v\nwant %+v", got, want)
	}
}

package server

import (
	"context"
	"log/slog"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage/postgres"
	"github.com/vigil-auth/vigil/storage/postgres/pgtest"
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

// TestSharedJournalHandsClientsOver: on PostgreSQL an owner writes the
// rows of the clients it owns (and only those), and an instance taking a
// client over reads back exactly what the owner learned.
func TestSharedJournalHandsClientsOver(t *testing.T) {
	ctx := t.Context()
	log := slog.New(slog.DiscardHandler)
	pg, err := postgres.Open(ctx, pgtest.Fresh(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	owner, _, _ := NewRiskEngine(risk.DefaultPolicy())
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, client := range []string{"job", "other"} {
		for i := range 12 {
			at := start.Add(time.Duration(i) * 6 * time.Hour)
			sid := client + string(rune('a'+i))
			owner.Observe(risk.Event{Op: risk.OpToken, At: at, SessionID: sid, ClientID: client})
			owner.Observe(risk.Event{Op: risk.OpExchange, At: at.Add(time.Second), SessionID: sid, ClientID: client,
				Audience: "api", Resource: risk.ResourceProfile{Sensitivity: 1}, Tool: "t.get"})
		}
	}
	j := &riskJournal{eng: owner, clients: pg, shared: pg}
	j.save(start.Add(10*24*time.Hour), func(id string) bool { return id == "job" }, log)
	rows, err := pg.ClientState(ctx)
	if err != nil || len(rows) != 1 || rows["job"] == nil {
		t.Fatalf("rows after the owner saved: %d %v; want only the owned client's", len(rows), err)
	}

	heir, _, _ := NewRiskEngine(risk.DefaultPolicy())
	(&riskJournal{eng: heir, clients: pg}).adopt(ctx, func(id string) bool { return id == "job" }, log)
	want := owner.Snapshot().Clients
	got := heir.Snapshot().Clients
	if len(got) != 1 || got[0].ClientID != "job" || !reflect.DeepEqual(got[0], want[slices.IndexFunc(want, func(c risk.ClientSnapshot) bool { return c.ClientID == "job" })]) {
		t.Fatalf("taken over %+v\nwant the owner's job %+v", got, want)
	}
	if got[0].Baseline.Sessions == 0 {
		t.Fatal("nothing learned: the test would prove nothing")
	}
}

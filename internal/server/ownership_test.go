package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/cluster"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/memory"
	"github.com/vigil-auth/vigil/storage/postgres"
	"github.com/vigil-auth/vigil/storage/postgres/pgtest"
)

// fakeLeaser grants job to holder "me" while free is set, and counts asks.
type fakeLeaser struct {
	free bool
	err  error
	asks int
}

func (f *fakeLeaser) Lease(_ context.Context, _, holder string, _ time.Duration) (bool, error) {
	f.asks++
	return f.free && holder == "me", f.err
}

func TestLeaseCacheAsksAtMostEveryThirdOfTheTTL(t *testing.T) {
	now := time.Unix(1000, 0)
	f := &fakeLeaser{free: true}
	c := &leaseCache{store: f, holder: "me", ttl: 6 * time.Second, now: func() time.Time { return now }, jobs: map[string]leaseState{}}
	steps := []struct {
		advance time.Duration
		free    bool
		err     error
		held    bool
		asks    int
	}{
		{0, true, nil, true, 1},
		{time.Second, false, nil, true, 1},                // within ttl/3: the cached answer
		{time.Second, false, nil, false, 2},               // asked again: taken by another
		{time.Second, true, nil, false, 2},                // cached refusal
		{time.Second, true, errors.New("down"), false, 3}, // a failing store holds nothing
		{2 * time.Second, true, nil, true, 4},
	}
	for i, st := range steps {
		now = now.Add(st.advance)
		f.free, f.err = st.free, st.err
		if got := c.holds(t.Context(), "job"); got != st.held || f.asks != st.asks {
			t.Fatalf("step %d: holds = %v after %d asks, want %v after %d", i, got, f.asks, st.held, st.asks)
		}
	}
}

// fixedJudge answers every event with d.
type fixedJudge struct{ d risk.Decision }

func (f fixedJudge) Observe(risk.Event) risk.Decision { return f.d }

// TestOwnersEngineRehydratesAndItsDenialStays: the engine behind a
// cluster router loads a session's durable facts on its first event, and
// the denial of a session whose state could not be read stays enforced on
// the instance that answers, even in report-only mode.
func TestOwnersEngineRehydratesAndItsDenialStays(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	mem := memory.New()
	err := mem.Update(ctx, func(w storage.Writer) error {
		return w.CreateSession(ctx, storage.Session{ID: "reused", ClientID: "job", Status: storage.SessionActive,
			CreatedAt: at, ExpiresAt: at.Add(time.Hour), Facts: []storage.Fact{{Code: risk.FactRefreshReuse, Points: 100, At: at}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	eng, _, err := NewRiskEngine(risk.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	store := &failingReads{Store: mem}
	in := &Instance{State: &State{store: store}, risk: eng, log: slog.New(slog.DiscardHandler)}
	owner := in.ownersEngine()
	ev := risk.Event{Op: risk.OpIntrospect, At: at.Add(time.Minute), SessionID: "reused", ClientID: "job"}
	if d := owner.Observe(ev); d.Action != risk.Terminate && d.Action != risk.Deny {
		t.Fatalf("a session with a hard fact in storage was judged %s", d.Action)
	}

	store.down = true
	ev.SessionID = "unknown-to-the-engine"
	denied := owner.Observe(ev)
	p := newPolicySwitch(fixedJudge{denied}, nil)
	p.SetReportOnly(true)
	if d := p.Observe(ev); d.Action != risk.Deny || d.ReportOnly {
		t.Fatalf("the owner's denial for unreadable state became %s (report-only %v)", d.Action, d.ReportOnly)
	}
}

// static is a cluster directory whose members are fixed.
type static []cluster.Member

func (s static) Heartbeat(context.Context, string, string, time.Duration) ([]cluster.Member, error) {
	return s, nil
}
func (static) Leave(context.Context, string) error { return nil }

// TestMembersChangedHandsClientsOver: when a member joins, an instance
// writes at once the rows of the clients it gives up; when a member
// leaves, the instance that takes its clients over reads their rows.
func TestMembersChangedHandsClientsOver(t *testing.T) {
	ctx := t.Context()
	pg, err := postgres.Open(ctx, pgtest.Fresh(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	a, b, c := cluster.Member{ID: "a"}, cluster.Member{ID: "b"}, cluster.Member{ID: "c"}
	// clients: one b keeps when c joins, one b gives c, one that is a's
	// until a leaves and then b's.
	var keep, give, inherit string
	for i := 0; keep == "" || give == "" || inherit == ""; i++ {
		id := fmt.Sprintf("client-%d", i)
		two, three := cluster.OwnerIn([]cluster.Member{a, b}, id), cluster.OwnerIn([]cluster.Member{a, b, c}, id)
		switch {
		case two == b && three == b && keep == "":
			keep = id
		case two == b && three == c && give == "":
			give = id
		case two == a && cluster.OwnerIn([]cluster.Member{b}, id) == b && inherit == "":
			inherit = id
		}
	}
	eng, _, _ := NewRiskEngine(risk.DefaultPolicy())
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, id := range []string{keep, give} {
		eng.Observe(risk.Event{Op: risk.OpToken, At: at, SessionID: id + "-s", ClientID: id})
	}
	done := make(chan struct{})
	defer close(done)
	in := &Instance{State: &State{store: pg}, risk: eng, log: slog.New(slog.DiscardHandler), now: time.Now, done: done,
		journal: &riskJournal{eng: eng, clients: pg}}
	in.ring = cluster.NewRing(b, static{a, b}, nil, time.Now, nil)
	in.membersChanged([]cluster.Member{a, b}, []cluster.Member{a, b, c})
	in.wg.Wait()
	rows, err := pg.ClientState(ctx)
	if err != nil || len(rows) != 1 || rows[give] == nil {
		t.Fatalf("rows written when c joined: %d %v; want only %s's, the client given to c", len(rows), err, give)
	}

	other, _, _ := NewRiskEngine(risk.DefaultPolicy())
	err = other.Restore(risk.Snapshot{Version: risk.SnapshotVersion, Clients: []risk.ClientSnapshot{{ClientID: inherit,
		Memory: risk.Memory{Peak: 17}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.SaveClientState(ctx, snapshotRows(t, other)); err != nil { // what a wrote as its owner
		t.Fatal(err)
	}
	in.membersChanged([]cluster.Member{a, b}, []cluster.Member{b})
	in.wg.Wait()
	var got *risk.ClientSnapshot
	for _, cs := range eng.Snapshot().Clients {
		if cs.ClientID == inherit {
			got = &cs
		}
	}
	if got == nil || got.Memory.Peak != 17 {
		t.Fatalf("the client inherited from a: %+v; want the memory a wrote", got)
	}
}

// snapshotRows encodes every client of eng as its row.
func snapshotRows(t *testing.T, eng *risk.Engine) map[string][]byte {
	rows := map[string][]byte{}
	for _, cs := range eng.Snapshot().Clients {
		b, err := json.Marshal(cs)
		if err != nil {
			t.Fatal(err)
		}
		rows[cs.ClientID] = b
	}
	return rows
}

package server

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/memory"
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

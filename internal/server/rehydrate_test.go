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

// failingReads is a store whose session reads fail while down is set.
type failingReads struct {
	storage.Store
	down bool
}

var errDown = errors.New("storage unavailable")

func (f *failingReads) GetSession(ctx context.Context, id string) (storage.Session, error) {
	if f.down {
		return storage.Session{}, errDown
	}
	return f.Store.GetSession(ctx, id)
}

// TestRehydrateOnFirstEvent checks that a session's durable facts reach
// the engine on its first event after a restart, that a session whose
// state cannot be read is denied rather than judged clean, and that live
// state is never replaced by a later load.
func TestRehydrateOnFirstEvent(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	mem := memory.New()
	err := mem.Update(ctx, func(w storage.Writer) error {
		for _, s := range []storage.Session{
			{ID: "reused", ClientID: "job", Status: storage.SessionActive, CreatedAt: at, ExpiresAt: at.Add(time.Hour),
				Facts: []storage.Fact{{Code: risk.FactRefreshReuse, Points: 100, At: at}}},
			{ID: "escalated", ClientID: "job", Status: storage.SessionActive, CreatedAt: at, ExpiresAt: at.Add(time.Hour),
				Facts: []storage.Fact{{Code: risk.FactEscalationAttempt, Points: 40, At: at}}},
			{ID: "clean", ClientID: "job", Status: storage.SessionActive, CreatedAt: at, ExpiresAt: at.Add(time.Hour)},
		} {
			if err := w.CreateSession(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	store := &failingReads{Store: mem}
	eng, _, err := NewRiskEngine(risk.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	p := newPolicySwitch(eng, nil)
	p.rehydrate = newRehydrator(eng, store, slog.New(slog.DiscardHandler))
	call := func(sid string) risk.Decision {
		return p.Observe(risk.Event{Op: risk.OpIntrospect, At: at.Add(time.Minute), SessionID: sid, ClientID: "job",
			Audience: "api", Resource: risk.ResourceProfile{Sensitivity: 1}})
	}

	if eng.Holds("reused") {
		t.Fatal("the engine holds a session before its first event")
	}
	if d := call("reused"); d.Action != risk.Terminate {
		t.Errorf("a session with a durable hard fact: %s, want terminate", d.Action)
	}
	if d := call("clean"); d.Action != risk.Allow {
		t.Errorf("a clean session: %s (%v), want allow", d.Action, d.Reasons)
	}

	store.down = true
	d := call("escalated")
	if d.Action != risk.Deny || len(d.Reasons) != 1 || d.Reasons[0].Code != risk.ReasonStateUnavailable {
		t.Errorf("a session whose state cannot be read: %+v, want a denial", d)
	}
	p.SetReportOnly(true)
	if d := call("escalated"); d.Action != risk.Deny || d.ReportOnly {
		t.Errorf("report-only mode: %+v, want an enforced denial", d)
	}
	p.SetReportOnly(false)
	if eng.Holds("escalated") {
		t.Error("an unreadable session was judged (the engine holds it)")
	}
	if d := call("reused"); d.Action != risk.Terminate {
		t.Errorf("a session the engine holds needs no read: %s, want terminate", d.Action)
	}

	store.down = false
	if st, ok := eng.SessionState("escalated"); ok {
		t.Fatalf("state before the first readable event: %+v", st)
	}
	call("escalated")
	st, ok := eng.SessionState("escalated")
	if !ok || len(st.Facts) != 1 || st.Facts[0].Code != risk.FactEscalationAttempt {
		t.Errorf("rehydrated facts: %+v", st.Facts)
	}
	if eng.Rehydrate("escalated", "job", nil, 0, 0) {
		t.Error("Rehydrate replaced the state of a session the engine holds")
	}
	if st, _ := eng.SessionState("escalated"); len(st.Facts) != 1 {
		t.Errorf("facts after a refused Rehydrate: %+v", st.Facts)
	}

	// idle past the policy's idle end: ended, then evicted; the next event
	// brings the durable facts back
	later := at.Add(3 * time.Hour)
	eng.Sweep(later)
	eng.Sweep(later)
	if eng.Holds("escalated") {
		t.Fatal("an idle, ended session was not evicted")
	}
	p.Observe(risk.Event{Op: risk.OpIntrospect, At: later, SessionID: "escalated", ClientID: "job",
		Audience: "api", Resource: risk.ResourceProfile{Sensitivity: 1}})
	if st, _ := eng.SessionState("escalated"); len(st.Facts) != 1 || st.Facts[0].Code != risk.FactEscalationAttempt {
		t.Errorf("facts after eviction and the next event: %+v", st.Facts)
	}
}

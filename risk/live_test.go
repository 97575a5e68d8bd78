package risk_test

import (
	"testing"
	"time"

	"github.com/vigil-auth/vigil/risk"
)

// liveByLevel reads every level's count of live sessions.
func liveByLevel(e *risk.Engine) map[risk.Level]int {
	out := map[risk.Level]int{}
	for _, l := range risk.Levels() {
		if n := e.LiveSessions(l); n != 0 {
			out[l] = n
		}
	}
	return out
}

func TestEngine_LiveSessions(t *testing.T) {
	e, err := risk.New(risk.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 17, 10, 0, 0, 0, time.UTC)
	observe := func(ev risk.Event) risk.Decision {
		ev.At, ev.ClientID = at, "agent-1"
		at = at.Add(time.Second)
		return e.Observe(ev)
	}
	d1 := observe(risk.Event{Op: risk.OpToken, SessionID: "s1"})
	d2 := observe(risk.Event{Op: risk.OpToken, SessionID: "s2"})
	observe(risk.Event{Op: risk.OpToken}) // unsessioned: scored, never counted
	want := map[risk.Level]int{d1.Level: 1}
	want[d2.Level]++
	check := func(step string, want map[risk.Level]int) {
		t.Helper()
		got := liveByLevel(e)
		if len(got) != len(want) {
			t.Fatalf("%s: live sessions %v, want %v", step, got, want)
		}
		for l, n := range want {
			if got[l] != n {
				t.Fatalf("%s: live sessions %v, want %v", step, got, want)
			}
		}
	}
	check("two sessions opened", want)
	d := observe(risk.Event{Op: risk.OpSignal, SessionID: "s1",
		Signal: &risk.Signal{Type: risk.SignalRiskLevelChange, Level: "high"}})
	if d.Level == d1.Level {
		t.Fatalf("a high risk-level-change left s1 at %s", d.Level)
	}
	want = map[risk.Level]int{d.Level: 1}
	want[d2.Level]++
	check("s1 moved", want)
	observe(risk.Event{Op: risk.OpRevoke, SessionID: "s1"})
	check("s1 revoked", map[risk.Level]int{d2.Level: 1})
	observe(risk.Event{Op: risk.OpRevoke, SessionID: "s1"}) // an ended session stays uncounted
	check("s1 revoked again", map[risk.Level]int{d2.Level: 1})
	e.Forget("s2")
	check("s2 forgotten", map[risk.Level]int{})
	if n := e.LiveSessions("nonsense"); n != 0 {
		t.Errorf("LiveSessions(nonsense) = %d", n)
	}
}

func TestEngine_LiveSessionsSwept(t *testing.T) {
	e, err := risk.New(risk.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 17, 10, 0, 0, 0, time.UTC)
	d := e.Observe(risk.Event{Op: risk.OpToken, SessionID: "s1", ClientID: "job", At: at})
	if e.LiveSessions(d.Level) != 1 {
		t.Fatalf("LiveSessions(%s) = %d, want 1", d.Level, e.LiveSessions(d.Level))
	}
	idle := risk.DefaultPolicy().Baseline.IdleEnd.Std()
	e.Sweep(at.Add(idle + time.Minute)) // ends the idle session
	if got := liveByLevel(e); len(got) != 0 {
		t.Errorf("after the idle sweep: %v, want none", got)
	}
	e.Sweep(at.Add(3*idle + time.Minute)) // drops its state
	if got := liveByLevel(e); len(got) != 0 || e.Live() != 0 {
		t.Errorf("after the drop: %v, %d held; want none", got, e.Live())
	}
}

package replay

import (
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 17, 10, 0, 0, 0, time.UTC)

func TestExpand(t *testing.T) {
	tok := Step{At: At{}, Op: OpToken, Client: "a", Session: "s1"}
	intro := Step{At: At{Delay: time.Second}, Op: OpIntrospect, RS: "rs", Session: "s1"}
	sc := Scenario{ID: "x", Start: t0,
		History: []Block{
			{Sessions: 3, Every: 24 * time.Hour, From: -3 * 24 * time.Hour, Steps: []Step{tok, intro}},
			{Sessions: 1, From: -36 * time.Hour, Steps: []Step{tok}},
		},
		Steps: []Step{
			tok,
			{At: At{Delay: 5 * time.Second}, Op: OpExchange, Session: "s1"},
			{At: At{Time: t0.Add(time.Hour)}, Op: OpRevoke, Session: "s2"},
			{At: At{Delay: time.Second}, Op: OpRevoke, Session: "s2"},
		}}
	got := Expand(sc)
	want := []struct {
		at      time.Time
		session string
		scored  bool
		index   int
	}{
		{t0.Add(-72 * time.Hour), "h0.0/s1", false, 0},
		{t0.Add(-72*time.Hour + time.Second), "h0.0/s1", false, 0},
		{t0.Add(-48 * time.Hour), "h0.1/s1", false, 0},
		{t0.Add(-48*time.Hour + time.Second), "h0.1/s1", false, 0},
		{t0.Add(-36 * time.Hour), "h1.0/s1", false, 0},
		{t0.Add(-24 * time.Hour), "h0.2/s1", false, 0},
		{t0.Add(-24*time.Hour + time.Second), "h0.2/s1", false, 0},
		{t0, "run/s1", true, 0},
		{t0.Add(5 * time.Second), "run/s1", true, 1},
		{t0.Add(time.Hour), "run/s2", true, 2},
		{t0.Add(time.Hour + time.Second), "run/s2", true, 3},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d steps, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if !g.At.Equal(w.at) || g.Session != w.session || g.Scored != w.scored || g.Index != w.index {
			t.Errorf("step %d: got %v %s scored=%v index=%d, want %v %s scored=%v index=%d",
				i, g.At, g.Session, g.Scored, g.Index, w.at, w.session, w.scored, w.index)
		}
	}
}

// TestJitterOffset checks the history jitter: within ±jitter, the same for
// the same scenario id and session, different across sessions.
func TestJitterOffset(t *testing.T) {
	const j = 20 * time.Minute
	var seen []time.Duration
	for i := range 50 {
		d := jitterOffset("pub-x", i, j)
		if d < -j || d > j {
			t.Fatalf("session %d: offset %v outside ±%v", i, d, j)
		}
		if again := jitterOffset("pub-x", i, j); again != d {
			t.Fatalf("session %d: offset %v then %v", i, d, again)
		}
		seen = append(seen, d)
	}
	slices.Sort(seen)
	if len(slices.Compact(seen)) < 45 {
		t.Errorf("offsets barely vary: %v", seen)
	}
	if jitterOffset("pub-x", 3, j) == jitterOffset("pub-y", 3, j) {
		t.Errorf("offsets do not depend on the scenario id")
	}
	if d := jitterOffset("pub-x", 3, 0); d != 0 {
		t.Errorf("no jitter: got %v", d)
	}
}

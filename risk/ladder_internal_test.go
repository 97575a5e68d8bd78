package risk

import (
	"testing"
	"time"
)

// TestLadder pins the level-to-action table.
func TestLadder(t *testing.T) {
	tests := []struct {
		op        Op
		lvl       Level
		elsewhere bool
		want      Action
	}{
		{OpExchange, LevelNone, false, Allow},
		{OpExchange, LevelLow, true, Allow},
		{OpExchange, LevelMedium, false, StepUp},
		{OpExchange, LevelHigh, true, StepUp},
		{OpToken, LevelHigh, false, StepUp},
		{OpExchange, LevelCritical, false, Terminate},
		{OpRefresh, LevelLow, false, Allow},
		{OpRefresh, LevelMedium, false, Deny},
		{OpRefresh, LevelCritical, false, Terminate},
		{OpIntrospect, LevelLow, true, Allow},
		{OpIntrospect, LevelMedium, false, StepUp},
		{OpIntrospect, LevelMedium, true, Deny},
		{OpIntrospect, LevelHigh, false, StepUp},
		{OpIntrospect, LevelHigh, true, Deny},
		{OpIntrospect, LevelCritical, false, Terminate},
		{OpRevoke, LevelHigh, true, Allow},
		{OpSignal, LevelHigh, true, Allow},
		{OpRevalidate, LevelHigh, true, Deny},
	}
	for _, tt := range tests {
		if got := ladder(tt.op, tt.lvl, false, tt.elsewhere); got != tt.want {
			t.Errorf("ladder(%s, %s, elsewhere=%v) = %s, want %s", tt.op, tt.lvl, tt.elsewhere, got, tt.want)
		}
	}
}

// TestLevelWeighsImpact checks that the same suspicion reaches higher levels
// for calls that can do more, that the tolerance scales every band, and
// that only certainty is critical by default.
func TestLevelWeighsImpact(t *testing.T) {
	p := DefaultPolicy()
	e, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	loose, err := New(p.WithTolerance(4))
	if err != nil {
		t.Fatal(err)
	}
	sc := func(pr float32) scored { return scored{p: pr, score: int(pr*100 + 0.5)} }
	tests := []struct {
		e      *Engine
		p      float32
		impact float32
		want   Level
	}{
		{e, 0.02, 0.01, LevelNone},    // exploring a public tool: tolerated
		{e, 0.02, 0.3, LevelLow},      // the same suspicion on a secret read: shorter lifetime
		{e, 0.05, 0.3, LevelMedium},   // a little more: step-up
		{e, 0.5, 0.3, LevelHigh},      // and more
		{e, 0.5, 0.01, LevelLow},      // a routine read tolerates much: low by the threshold floor
		{e, 0.9, 0.01, LevelMedium},   // but not everything (Thresholds.Medium)
		{e, 0.999, 1, LevelHigh},      // behaviour alone is never certain
		{loose, 0.05, 0.3, LevelNone}, // four times the tolerance
		{loose, 0.2, 0.3, LevelMedium},
	}
	for _, tt := range tests {
		if got := tt.e.level(sc(tt.p), tt.impact); got != tt.want {
			t.Errorf("level(p=%g, impact=%g) = %s, want %s", tt.p, tt.impact, got, tt.want)
		}
	}
	if got := e.level(scored{p: 1, score: 100, hard: true}, 0); got != LevelCritical {
		t.Errorf("a hard fact is %s, want critical", got)
	}
}

// TestScheduleAcrossDST checks that a declared window keeps its local wall
// clock hours on the days daylight-saving time starts and ends.
func TestScheduleAcrossDST(t *testing.T) {
	berlin, err := loadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	sc := &Schedule{Days: 0x7f, Start: 8 * 60, End: 9 * 60, Loc: berlin}
	for _, day := range []string{"2026-03-29", "2026-10-25", "2026-03-28"} { // DST starts, ends, a normal day
		for _, c := range []struct {
			clock  string
			inside bool
		}{{"08:00", true}, {"08:59", true}, {"07:59", false}, {"09:01", false}} {
			at, err := parseIn(day+" "+c.clock, berlin)
			if err != nil {
				t.Fatal(err)
			}
			if got := sc.Outside(at) == 0; got != c.inside {
				t.Errorf("%s %s Berlin: inside = %v, want %v (outside by %s)", day, c.clock, got, c.inside, sc.Outside(at))
			}
		}
	}
}

func loadLocation(name string) (*time.Location, error) { return time.LoadLocation(name) }

func parseIn(v string, loc *time.Location) (time.Time, error) {
	return time.ParseInLocation("2006-01-02 15:04", v, loc)
}

package risk

import (
	"encoding/json"
	"testing"
	"time"
)

// TestMonthTurn checks the calendar position volume is learned by: the
// last three days of a month and the first twelve hours of the next, in
// the client's time zone.
func TestMonthTurn(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skip(err)
	}
	for _, tt := range []struct {
		at   time.Time
		loc  *time.Location
		want bool
	}{
		{time.Date(2026, 3, 18, 10, 0, 0, 0, time.UTC), time.UTC, false},
		{time.Date(2026, 3, 28, 23, 59, 0, 0, time.UTC), time.UTC, false},
		{time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), time.UTC, true},
		{time.Date(2026, 2, 26, 8, 0, 0, 0, time.UTC), time.UTC, true},
		{time.Date(2026, 4, 1, 11, 59, 0, 0, time.UTC), time.UTC, true},
		{time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC), time.UTC, false},
		// 28 March 16:00 UTC is 29 March 01:00 in Tokyo
		{time.Date(2026, 3, 28, 16, 0, 0, 0, time.UTC), tokyo, true},
		{time.Date(2026, 4, 1, 4, 0, 0, 0, time.UTC), tokyo, false},
	} {
		if got := monthTurn(tt.at, tt.loc); got != tt.want {
			t.Errorf("monthTurn(%v in %v) = %v, want %v", tt.at, tt.loc, got, tt.want)
		}
	}
}

// TestBaselineLearnsMonthTurnApart checks a session at the turn of a month
// raises only the turn's maxima, which a snapshot carries.
func TestBaselineLearnsMonthTurnApart(t *testing.T) {
	const tool = 7
	var b Baseline
	b.learn(&summary{at: 1, calls: 10, tools: []uint64{tool}, toolN: []uint16{10}}, 30*24*3600)
	b.learn(&summary{at: 2, calls: 30, turn: true, tools: []uint64{tool}, toolN: []uint16{30}}, 30*24*3600)
	raw, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var got Baseline
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		turn        bool
		calls, tool float32
	}{{false, 10, 10}, {true, 30, 30}} {
		if c, n := got.callsUsual(tt.turn), float32(usualMax(got.Tools, tool, tt.turn)); c < tt.calls-0.1 || c > tt.calls || n != tt.tool {
			t.Errorf("turn %v: usual %.1f calls, %v of the tool; want %v and %v", tt.turn, c, n, tt.calls, tt.tool)
		}
	}
}

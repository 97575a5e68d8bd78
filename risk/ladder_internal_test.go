package risk

import "testing"

// TestLadder pins RISK.md's level-to-action table.
func TestLadder(t *testing.T) {
	tests := []struct {
		op        Op
		lvl       Level
		sensitive bool
		want      Action
	}{
		{OpExchange, LevelNone, true, Allow},
		{OpExchange, LevelLow, true, Allow},
		{OpExchange, LevelMedium, false, Allow},
		{OpExchange, LevelMedium, true, StepUp},
		{OpExchange, LevelHigh, false, StepUp},
		{OpExchange, LevelHigh, true, Deny},
		{OpToken, LevelHigh, true, Deny},
		{OpExchange, LevelCritical, false, Terminate},
		{OpRefresh, LevelLow, false, Allow},
		{OpRefresh, LevelMedium, false, Deny},
		{OpRefresh, LevelCritical, false, Terminate},
		{OpIntrospect, LevelLow, true, Allow},
		{OpIntrospect, LevelMedium, false, Allow},
		{OpIntrospect, LevelMedium, true, StepUp},
		{OpIntrospect, LevelHigh, false, Allow},
		{OpIntrospect, LevelHigh, true, Deny},
		{OpIntrospect, LevelCritical, false, Terminate},
		{OpRevoke, LevelHigh, true, Allow},
		{OpSignal, LevelHigh, true, Allow},
		{OpRevalidate, LevelHigh, true, Deny},
	}
	for _, tt := range tests {
		if got := ladder(tt.op, tt.lvl, tt.sensitive, false); got != tt.want {
			t.Errorf("ladder(%s, %s, sensitive=%v) = %s, want %s", tt.op, tt.lvl, tt.sensitive, got, tt.want)
		}
	}
}

// TestLevelTierAdjust checks more sensitive tiers reach each level sooner.
func TestLevelTierAdjust(t *testing.T) {
	e, err := New(DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		score, tier int
		want        Level
	}{
		{30, 1, LevelLow}, {30, 3, LevelMedium}, {25, 4, LevelMedium}, {55, 3, LevelHigh}, {54, 2, LevelMedium},
		{50, 4, LevelHigh}, {85, 1, LevelCritical}, {84, 4, LevelHigh}, {0, 4, LevelNone},
	}
	for _, tt := range tests {
		if got := e.level(tt.score, tt.tier); got != tt.want {
			t.Errorf("level(%d, tier %d) = %s, want %s", tt.score, tt.tier, got, tt.want)
		}
	}
}

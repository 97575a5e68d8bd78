package risk_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/risk"
)

// ledgerRead is a tier-2 read a batch client makes many times a session.
var ledgerRead = call{op: risk.OpExchange, aud: "finance", sens: 2, tool: "ledger.read", scopes: []string{"finance.read"}}

// TestMonthTurnVolume checks that volume is learned apart at the turn of a
// month: a client that makes 10 calls a session and 25 at the turn of a
// month (month-end closing) is judged against 10 on other days, so a spike
// to its month-end volume on an ordinary day speaks, and against 25 at the
// turn, so its periodic peak gets no volume evidence. A client never seen
// at the turn of a month is judged there as on any other day.
func TestMonthTurnVolume(t *testing.T) {
	ordinaryDay := time.Date(2026, 3, 18, 10, 0, 0, 0, time.UTC)
	monthEnd := time.Date(2026, 3, 30, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		peaks      bool // history with month-end peaks (25 calls on Feb 26-28 and Mar 1)
		probe      time.Time
		calls      int
		wantVolume bool
	}{
		{name: "ordinary day at the ordinary volume", peaks: true, probe: ordinaryDay, calls: 10},
		{name: "ordinary day at the month-end volume", peaks: true, probe: ordinaryDay, calls: 25, wantVolume: true},
		{name: "month end at its learned peak", peaks: true, probe: monthEnd, calls: 25},
		{name: "month end beyond its learned peak", peaks: true, probe: monthEnd, calls: 80, wantVolume: true},
		{name: "month end with no month-end history", probe: monthEnd, calls: 25, wantVolume: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.at = time.Date(2026, 2, 10, 10, 0, 0, 0, time.UTC)
			for f.at.Before(tt.probe.Add(-12 * time.Hour)) {
				n := 10
				if tt.peaks && (f.at.Month() == 2 && f.at.Day() >= 26 || f.at.Month() == 3 && f.at.Day() == 1 && f.at.Hour() < 12) {
					n = 25
				}
				f.train("batch", agent, "10.1.4.21", repeatCall(ledgerRead, n), 1)
			}
			f.at = tt.probe
			sid, _ := f.open("batch", agent, "10.1.4.21")
			got := 0
			for _, d := range f.do(sid, "batch", agent, "10.1.4.21", repeatCall(ledgerRead, tt.calls)) {
				got = max(got, points(d, risk.DetSessionVolume))
			}
			if (got > 0) != tt.wantVolume {
				t.Errorf("%s = %d, want evidence %v", risk.DetSessionVolume, got, tt.wantVolume)
			}
		})
	}
}

// TestPassedChallengeCoversGrowingVolume checks that a challenge a client
// passed at an unusual volume covers its next calls: each call raises the
// session's volume and with it the call's impact, but the kind of call is
// the one the client proved; only suspicion grown past the margin asks
// again.
func TestPassedChallengeCoversGrowingVolume(t *testing.T) {
	read := call{op: risk.OpExchange, aud: "finance", sens: 3, tool: "ledger.read", scopes: []string{"finance.read"}}
	f := newFixture(t)
	f.train("batch", agent, "10.1.4.21", repeatCall(read, 10), 30)
	sid, _ := f.open("batch", agent, "10.1.4.21")
	stepped := 0
	for i := range 40 {
		if d := f.do(sid, "batch", agent, "10.1.4.21", []call{read})[0]; d.Action == risk.StepUp {
			stepped = i + 1
			break
		}
	}
	if stepped == 0 {
		t.Fatal("setup: 40 calls against a usual 10 never stepped up")
	}
	f.do(sid, "batch", agent, "10.1.4.21", []call{{op: risk.OpRevalidate, passed: true}})
	for i, d := range f.do(sid, "batch", agent, "10.1.4.21", repeatCall(read, 3)) {
		if d.Action != risk.Allow {
			t.Errorf("call %d after passing the challenge at call %d: %s (score %d, %v)", stepped+i+1, stepped, d.Action, d.Score, d.Reasons)
		}
	}
}

// TestToolCountScalesImpactOnlyForRiskyTools checks that the count of a
// tool that reads, beyond the most the client's sessions make of it, is
// evidence but does not scale the call's impact while the session's calls
// stay within twice its usual; a tool that spends does.
func TestToolCountScalesImpactOnlyForRiskyTools(t *testing.T) {
	other := call{op: risk.OpExchange, aud: "finance", sens: 2, tool: "ledger.list", scopes: []string{"finance.read"}}
	charge := call{op: risk.OpExchange, aud: "finance", sens: 2, tool: "ledger.charge", scopes: []string{"finance.read"}}
	for _, tt := range []struct {
		name      string
		tool      call
		wantScale bool
	}{{"a read", ledgerRead, false}, {"a charge", charge, true}} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.train("batch", agent, "10.1.4.21", append(repeatCall(tt.tool, 5), repeatCall(other, 5)...), 30)
			sid, _ := f.open("batch", agent, "10.1.4.21")
			d := last(f.do(sid, "batch", agent, "10.1.4.21", repeatCall(tt.tool, 10)))
			if points(d, risk.DetSessionVolume) == 0 {
				t.Fatalf("setup: 10 calls of a tool called 5 times a session: no volume evidence (%v)", d.Reasons)
			}
			if scaled := strings.Contains(reason(d, risk.ReasonImpact), "volume"); scaled != tt.wantScale {
				t.Errorf("impact scaled by volume: %v, want %v (%s)", scaled, tt.wantScale, reason(d, risk.ReasonImpact))
			}
		})
	}
}

// reason returns the evidence of reason code in d, "" if absent.
func reason(d risk.Decision, code string) string {
	for _, r := range d.Reasons {
		if r.Code == code {
			return r.Evidence
		}
	}
	return ""
}

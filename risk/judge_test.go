package risk_test

import (
	"testing"

	"github.com/vigil-auth/vigil/risk"
)

// TestRefusedRequestReachesNothing checks that a request the handler
// refuses (it asked beyond its grant) counts as its fact alone: no novelty
// or tier jump for what it asked for, and no challenge the client would
// never see.
func TestRefusedRequestReachesNothing(t *testing.T) {
	f := newFixture(t)
	f.train("agent", agent, "10.1.4.21", routine, 20)
	sid, _ := f.open("agent", agent, "10.1.4.21")
	asked := call{op: risk.OpExchange, aud: "finance", sens: 3, tactic: "collection", tool: "finance.export",
		scopes: []string{"finance.admin"}, facts: []string{risk.FactEscalationAttempt}}
	d := f.do(sid, "agent", agent, "10.1.4.21", []call{asked})[0]
	if points(d, risk.DetNovelResource) != 0 || points(d, risk.DetTierJump) != 0 || points(d, risk.FactEscalationAttempt) != 25 {
		t.Errorf("refused request: %v, want the escalation fact and no novelty or tier jump", d.Reasons)
	}
	if d.Action == risk.Allow || d.Action == risk.StepUp || d.Challenge != nil {
		t.Errorf("refused request: %s %+v, want a refusal without a challenge", d.Action, d.Challenge)
	}
	if st, _ := f.eng.SessionState(sid); st.Challenges != 0 {
		t.Errorf("challenges counted: %d", st.Challenges)
	}
}

// TestEgressAfterSensitiveData checks that any egress call after the
// session reached sensitive data is weighed at the impact of that data
// leaving, and that a channel the client never uses is not allowed there
// while the channel it always uses is.
func TestEgressAfterSensitiveData(t *testing.T) {
	crm := call{op: risk.OpExchange, aud: "billing", sens: 3, tactic: "collection", tool: "billing.get", scopes: []string{"billing.read"}}
	sink := call{op: risk.OpExchange, aud: "directory", sens: 2, tactic: "exfiltration", tool: "share.upload", scopes: []string{"tickets.read"}}
	tests := []struct {
		name    string
		train   []call
		allowed bool
	}{
		{"novel channel", append(routine[:2:2], crm), false},
		{"usual channel", append(routine[:2:2], crm, sink), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.train("agent", agent, "10.1.4.21", tt.train, 20)
			sid, _ := f.open("agent", agent, "10.1.4.21")
			ds := f.do(sid, "agent", agent, "10.1.4.21", []call{crm, sink})
			if ds[0].Action != risk.Allow || !ds[0].SensitiveTouched {
				t.Fatalf("setup: %s sensitive=%v", ds[0].Action, ds[0].SensitiveTouched)
			}
			if ds[1].Impact < 0.2 {
				t.Errorf("egress after sensitive data: impact %g, want at least the tier-3 exfiltration impact 0.2", ds[1].Impact)
			}
			if got := ds[1].Action == risk.Allow; got != tt.allowed {
				t.Errorf("egress: %s (score %d), allowed want %v; %v", ds[1].Action, ds[1].Score, tt.allowed, ds[1].Reasons)
			}
		})
	}
}

// TestSensitiveEgressChannel checks that a channel declared at a sensitive
// tier does not teach "sends after sensitive reads" by itself: a client
// whose clean sessions send through it and, in other sessions, read
// sensitive data is not allowed to do both in one session, while a client
// whose clean sessions combine the two is.
func TestSensitiveEgressChannel(t *testing.T) {
	crm := call{op: risk.OpExchange, aud: "billing", sens: 3, tactic: "collection", tool: "billing.get", scopes: []string{"billing.read"}}
	sink := call{op: risk.OpExchange, aud: "directory", sens: 3, tactic: "exfiltration", tool: "share.upload", scopes: []string{"tickets.read"}}
	tests := []struct {
		name    string
		train   [][]call
		allowed bool
	}{
		{"apart", [][]call{append(routine[:2:2], crm), append(routine[:2:2], sink, sink)}, false},
		{"together", [][]call{append(routine[:2:2], crm, sink)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			for range 10 {
				for _, calls := range tt.train {
					f.train("agent", agent, "10.1.4.21", calls, 1)
				}
			}
			sid, _ := f.open("agent", agent, "10.1.4.21")
			ds := f.do(sid, "agent", agent, "10.1.4.21", []call{crm, sink})
			if ds[0].Action != risk.Allow {
				t.Fatalf("setup: %s (score %d) %v", ds[0].Action, ds[0].Score, ds[0].Reasons)
			}
			if got := ds[1].Action == risk.Allow; got != tt.allowed {
				t.Errorf("send after the read: %s (score %d), allowed want %v; %v", ds[1].Action, ds[1].Score, tt.allowed, ds[1].Reasons)
			}
		})
	}
}

// TestNetworkVouchesForItsTier checks that a network a client uses only
// for routine work does not vouch for the sensitive work it does from its
// other network, declared or not: the first sensitive call from there
// carries strong network evidence, from its usual network none.
func TestNetworkVouchesForItsTier(t *testing.T) {
	crm := call{op: risk.OpExchange, aud: "billing", sens: 3, tactic: "collection", tool: "billing.get", scopes: []string{"billing.read"}}
	for _, tt := range []struct {
		ip       string
		min, max int
	}{{"10.1.4.21", 0, 0}, {"10.1.9.30", 15, 20}} {
		f := newFixture(t)
		for range 10 {
			f.train("agent", agent, "10.1.4.21", append(routine[:2:2], crm), 1)
			f.train("agent", agent, "10.1.9.30", routine, 1)
		}
		sid, _ := f.open("agent", agent, tt.ip)
		ds := f.do(sid, "agent", agent, tt.ip, append(routine[:2:2], crm))
		if p := points(ds[2], risk.DetNewNetwork); p < tt.min || p > tt.max {
			t.Errorf("from %s: %s %d, want %d..%d; %v", tt.ip, risk.DetNewNetwork, p, tt.min, tt.max, ds[2].Reasons)
		}
	}
}

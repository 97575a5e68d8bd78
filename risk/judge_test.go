package risk_test

import (
	"slices"
	"testing"
	"time"

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

// TestCostLoop checks that a paid tool the client calls once in its
// sessions is stepped up when a session loops on it (the fourth call in
// a row, four times the most its sessions made), while calling it twice
// is allowed; and that a paid API's tool never used (paid by its scope
// only) may be called twice but not looped on.
func TestCostLoop(t *testing.T) {
	paid := call{op: risk.OpExchange, aud: "llm", sens: 1, tool: "llm.lookup", scopes: []string{"llm.invoke"}}
	prof := agent
	prof.Scopes = append(slices.Clone(agent.Scopes), "llm.invoke")
	prof.Audiences = append(slices.Clone(agent.Audiences), "llm")
	for _, tt := range []struct {
		name  string
		train []call
	}{
		{"used once a session", append(routine[:2:2], paid)},
		{"never used", routine},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.train("agent", prof, "10.1.4.21", tt.train, 20)
			sid, _ := f.open("agent", prof, "10.1.4.21")
			ds := f.do(sid, "agent", prof, "10.1.4.21", append(routine[:2:2], paid, paid, paid, paid))
			if ds[3].Action != risk.Allow {
				t.Errorf("second call: %s (score %d), want allow; %v", ds[3].Action, ds[3].Score, ds[3].Reasons)
			}
			if ds[5].Action == risk.Allow {
				t.Errorf("fourth call: allowed (score %d, impact %g); %v", ds[5].Score, ds[5].Impact, ds[5].Reasons)
			}
		})
	}
}

// TestSensitiveEvidenceByAgeAndTier checks that what a baseline learned
// only lately vouches less for sensitive work than what it learned from the
// start (a baseline groomed with a few quiet reads before the bulk read),
// and that a tenant never served says more at a tier the client's sessions
// rarely reach.
func TestSensitiveEvidenceByAgeAndTier(t *testing.T) {
	fin := func(tenant string) call {
		return call{op: risk.OpExchange, aud: "finance", sens: 3, tactic: "collection", tool: "finance.get", tenant: tenant, scopes: []string{"finance.read"}}
	}
	bill := func(tenant string) call {
		return call{op: risk.OpExchange, aud: "billing", sens: 2, tool: "invoices.list", tenant: tenant, scopes: []string{"billing.read"}}
	}
	tests := []struct {
		name string
		// reads says which of the 24 training sessions also read finance
		reads    func(i int) bool
		probe    []call
		code     string
		min, max int
	}{
		{name: "sensitive resource read from the start vouches", reads: func(i int) bool { return i%6 == 0 },
			probe: []call{fin("t-acme")}, code: risk.DetNovelResource, min: 0, max: 0},
		{name: "sensitive resource read only lately vouches in part", reads: func(i int) bool { return i >= 16 && i%2 == 0 },
			probe: []call{fin("t-acme")}, code: risk.DetNovelResource, min: 3, max: 12},
		{name: "new tenant on routine data", reads: func(i int) bool { return i%6 == 0 },
			probe: []call{bill("t-new")}, code: risk.DetTenantNovel, min: 11, max: 11},
		{name: "new tenant on sensitive data the client rarely reads", reads: func(i int) bool { return i%6 == 0 },
			probe: []call{fin("t-new")}, code: risk.DetTenantNovel, min: 17, max: 17},
		{name: "new tenant on sensitive data the client always reads", reads: func(int) bool { return true },
			probe: []call{fin("t-new")}, code: risk.DetTenantNovel, min: 11, max: 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			for i := range 24 {
				calls := append(slices.Clone(routine), bill("t-acme"))
				if tt.reads(i) {
					calls = append(calls, fin("t-acme"))
				}
				sid, _ := f.open("agent", agent, "10.1.4.21")
				for _, d := range f.do(sid, "agent", agent, "10.1.4.21", calls) {
					if d.Action == risk.StepUp { // the client answers with its key, as a rightful one does
						f.do(sid, "agent", agent, "10.1.4.21", []call{{op: risk.OpRevalidate, passed: true}})
					}
				}
				f.at = f.at.Add(2 * time.Second)
				f.eng.Observe(risk.Event{Op: risk.OpRevoke, At: f.at, SessionID: sid, ClientID: "agent", Client: agent})
				f.at = f.at.Add(12 * time.Hour)
			}
			sid, _ := f.open("agent", agent, "10.1.4.21")
			d := last(f.do(sid, "agent", agent, "10.1.4.21", tt.probe))
			if got := points(d, tt.code); got < tt.min || got > tt.max {
				t.Errorf("%s = %d, want %d..%d; reasons %v", tt.code, got, tt.min, tt.max, d.Reasons)
			}
		})
	}
}

package risk_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/risk"
)

var vaultCall = call{op: risk.OpExchange, aud: "vault", sens: 4, tactic: "credential_access", tool: "vault.read", scopes: []string{"secrets.read"}}

// TestScore_DecayAndFacts checks that behaviour evidence halves every
// half-life while facts stick.
func TestScore_DecayAndFacts(t *testing.T) {
	f := newFixture(t)
	f.train("agent", agent, "10.1.4.21", routine, 20)
	sid, _ := f.open("agent", agent, "198.51.100.7") // outside the declared networks
	d := f.do(sid, "agent", agent, "198.51.100.7", []call{{op: risk.OpRefresh, facts: []string{risk.FactEscalationAttempt}}})[0]
	if points(d, risk.DetNewNetwork) != 25 || points(d, risk.FactEscalationAttempt) != 25 {
		t.Fatalf("start: %v", d.Reasons)
	}
	// back on its own network: the outside network is no longer re-observed
	later := f.do(sid, "agent", agent, "10.1.4.21", []call{{op: risk.OpRefresh, after: 20 * time.Minute}})[0]
	if got := points(later, risk.DetNewNetwork); got < 12 || got > 13 {
		t.Errorf("after one half-life new_network = %d, want 12.5 rounded", got)
	}
	if got := points(later, risk.FactEscalationAttempt); got != 25 {
		t.Errorf("fact after one half-life = %d, want 25", got)
	}
	if later.Score >= d.Score {
		t.Errorf("suspicion did not fade: %d then %d", d.Score, later.Score)
	}
}

// TestScore_Kinds checks that evidence of one kind overlaps while different
// kinds add up, that the score is the suspicion the reasons add up to, and
// that mass access weighs on the impact.
func TestScore_Kinds(t *testing.T) {
	p := risk.DefaultPolicy()
	p.Challenge.Max = 20 // keep the session alive to see every kind of evidence
	f := newFixtureWith(t, p)
	f.train("agent", agent, "10.1.4.21", routine, 20)
	sid, _ := f.open("agent", agent, "10.1.4.21")
	var calls []call
	for i := range 7 {
		calls = append(calls, call{op: risk.OpExchange, aud: "billing", sens: 2, tool: "invoices.list", tenant: fmt.Sprintf("t-%d", i), after: time.Second})
	}
	d := last(f.do(sid, "agent", agent, "10.1.4.21", calls))
	if got := points(d, risk.DetTenantNovel); got < 5 {
		t.Errorf("tenant.novel over 7 tenants = %d, want at least 5", got)
	}
	if points(d, risk.DetFanout) == 0 {
		t.Errorf("no fan-out evidence over 7 tenants: %v", d.Reasons)
	}
	sum, top := 0, 0
	for _, r := range d.Reasons {
		if r.Code != risk.ReasonImpact && r.Code != risk.ReasonChallengeHistory && r.Code != risk.ReasonPrior {
			sum += r.Points
			top = max(top, r.Points)
		}
	}
	prob := func(db int) float64 { o := math.Pow(10, float64(db-30)/10); return 100 * o / (1 + o) }
	if lo, hi := prob(top), prob(sum); float64(d.Score) < lo-1 || float64(d.Score) > hi+1 {
		t.Errorf("score %d is not between the suspicion of its strongest reason (%.0f) and of all its reasons added (%.0f)", d.Score, lo, hi)
	}
	if d.Action == risk.Allow {
		t.Errorf("mass access to novel tenants: action %s; %v", d.Action, d.Reasons)
	}
}

func TestHardFactTerminates(t *testing.T) {
	for _, fact := range []string{risk.FactRefreshReuse, risk.FactAssertionReplay, risk.FactPoPMismatch, risk.FactCompromised} {
		t.Run(fact, func(t *testing.T) {
			f := newFixture(t)
			sid, _ := f.open("agent", agent, "10.1.4.21")
			d := f.do(sid, "agent", agent, "10.1.4.21", []call{{op: risk.OpRefresh, facts: []string{fact}}})[0]
			if d.Action != risk.Terminate || d.Score != 100 || d.Level != risk.LevelCritical || len(d.NewFacts) != 1 {
				t.Fatalf("decision %+v", d)
			}
			after := f.do(sid, "agent", agent, "10.1.4.21", routine[:1])[0]
			if after.Action != risk.Terminate {
				t.Errorf("call after termination: %s", after.Action)
			}
		})
	}
}

// TestSignals checks CAEP-shaped signals: credential change and session
// revocation end the session, a low risk level does not.
func TestSignals(t *testing.T) {
	tests := []struct {
		sig  risk.Signal
		want risk.Action
	}{
		{risk.Signal{Type: risk.SignalCredentialChange}, risk.Terminate},
		{risk.Signal{Type: risk.SignalSessionRevoked}, risk.Terminate},
		{risk.Signal{Type: risk.SignalRiskLevelChange, Level: "low"}, risk.Allow},
	}
	for _, tt := range tests {
		t.Run(tt.sig.Type+tt.sig.Level, func(t *testing.T) {
			f := newFixture(t)
			sid, _ := f.open("agent", agent, "10.1.4.21")
			d := f.do(sid, "agent", agent, "", []call{{op: risk.OpSignal, signal: &tt.sig}})[0]
			if d.Action != tt.want {
				t.Errorf("action %s, want %s (%v)", d.Action, tt.want, d.Reasons)
			}
		})
	}
}

// TestSensitiveTouched checks that after a sensitive resource every later
// token is short-lived and refresh is refused, whatever the score.
func TestSensitiveTouched(t *testing.T) {
	fin := call{op: risk.OpExchange, aud: "finance", sens: 3, tool: "finance.get", scopes: []string{"finance.read"}}
	f := newFixture(t)
	f.train("agent", agent, "10.1.4.21", append(routine[:2:2], fin), 20)
	sid, first := f.open("agent", agent, "10.1.4.21")
	if first.NoRefresh || first.MaxTTL != 0 {
		t.Fatalf("before: %+v", first)
	}
	ds := f.do(sid, "agent", agent, "10.1.4.21", []call{fin, routine[0], {op: risk.OpRefresh}})
	for i, d := range ds[:2] {
		if d.Action != risk.Allow || d.MaxTTL > 5*time.Minute || !d.NoRefresh || !d.SensitiveTouched {
			t.Errorf("call %d: %+v", i, d)
		}
	}
	if ds[2].Action != risk.Deny {
		t.Errorf("refresh after sensitive data: %s, want deny", ds[2].Action)
	}
}

// TestAdaptiveAttacker walks an attacker through challenges: passing one
// never lowers the score, the second challenge escalates the method, and the
// third terminates the session.
func TestAdaptiveAttacker(t *testing.T) {
	fin := call{op: risk.OpExchange, aud: "finance", sens: 3, tool: "finance.get", scopes: []string{"finance.read"}}
	f := newFixture(t)
	f.train("agent", agent, "10.1.4.21", append(routine[:2:2], fin, vaultCall), 20)
	f.eng.RestoreFacts("s", "agent", []risk.Reason{{Code: risk.FactEscalationAttempt, Points: 40}}, 0, 0)
	first := f.do("s", "agent", agent, "10.1.4.21", []call{fin})[0]
	if first.Action != risk.StepUp || first.Challenge.Attempt != 1 || first.Challenge.Methods[0] != risk.MethodClientAssertion {
		t.Fatalf("first challenge: %s %+v", first.Action, first.Challenge)
	}
	passed := f.do("s", "agent", agent, "10.1.4.21", []call{{op: risk.OpRevalidate, passed: true}})[0]
	if passed.Action != risk.Allow || passed.Score < first.Score {
		t.Errorf("passing: %s score %d, want allow and no lower than %d", passed.Action, passed.Score, first.Score)
	}
	if again := f.do("s", "agent", agent, "10.1.4.21", []call{fin})[0]; again.Action != risk.Allow {
		t.Errorf("same risk after a passed challenge: %s (score %d)", again.Action, again.Score)
	}
	second := f.do("s", "agent", agent, "10.1.4.21", []call{vaultCall})[0]
	if second.Action != risk.StepUp || second.Challenge.Attempt != 2 || second.Challenge.Methods[0] != risk.MethodOwnerApproval {
		t.Fatalf("second challenge at a higher tier: %s %+v", second.Action, second.Challenge)
	}
	if third := f.do("s", "agent", agent, "10.1.4.21", []call{vaultCall})[0]; third.Action != risk.Terminate {
		t.Errorf("third challenge: %s, want terminate", third.Action)
	}
}

// TestFailedChallengeRaisesFloor checks a failed revalidation adds a fact
// and a higher floor than an issued challenge.
func TestFailedChallengeRaisesFloor(t *testing.T) {
	f := newFixture(t)
	f.train("agent", agent, "10.1.4.21", routine, 20)
	sid, _ := f.open("agent", agent, "10.1.4.21")
	d := f.do(sid, "agent", agent, "10.1.4.21", []call{{op: risk.OpExchange, aud: "finance", sens: 3, tool: "finance.export", tactic: "collection", scopes: []string{"finance.read"}}})[0]
	if d.Action != risk.StepUp {
		t.Fatalf("setup: %+v", d)
	}
	failed := f.do(sid, "agent", agent, "10.1.4.21", []call{{op: risk.OpRevalidate, passed: false}})[0]
	if failed.Action != risk.Deny || points(failed, risk.FactRevalidationFailed) != 25 || points(failed, risk.ReasonChallengeHistory) != 28 {
		t.Errorf("failed revalidation: %s %v", failed.Action, failed.Reasons)
	}
	st, _ := f.eng.SessionState(sid)
	if st.Challenges != 1 || st.Failed != 1 || st.Pending {
		t.Errorf("state %+v", st)
	}
}

// TestSessionSplitting checks a client's next sessions inherit a floor from
// a risky one, so short sessions do not launder risk, and that the memory
// fades.
func TestSessionSplitting(t *testing.T) {
	f := newFixture(t)
	f.train("agent", agent, "10.1.4.21", routine, 20)
	sid, _ := f.open("agent", agent, "10.1.4.21")
	f.do(sid, "agent", agent, "10.1.4.21", []call{vaultCall, {op: risk.OpRevalidate, passed: false}})
	f.at = f.at.Add(time.Minute)
	_, next := f.open("agent", agent, "10.1.4.21")
	if points(next, risk.ReasonRecentSessions) == 0 || points(next, risk.ReasonChallengeHistory) == 0 || next.Score < 35 {
		t.Errorf("next session: score %d %v", next.Score, next.Reasons)
	}
	f.at = f.at.Add(3 * 24 * time.Hour)
	_, much := f.open("agent", agent, "10.1.4.21")
	if much.Score >= 15 {
		t.Errorf("three days later: score %d %v", much.Score, much.Reasons)
	}
}

// TestOnlyCleanSessionsTeach checks a risky session's novel values are not
// learned: the next use is still novel.
func TestOnlyCleanSessionsTeach(t *testing.T) {
	f := newFixture(t)
	f.train("agent", agent, "10.1.4.21", routine, 20)
	f.session("agent", agent, "10.1.4.21", []call{vaultCall})
	f.at = f.at.Add(72 * time.Hour)
	d := f.session("agent", agent, "10.1.4.21", []call{vaultCall})[0]
	if points(d, risk.DetNovelResource) == 0 {
		t.Errorf("vault learned from a risky session: %v", d.Reasons)
	}
}

// TestIdleSessionsAreLearned checks sessions that never revoke are ended
// and learned from when idle.
func TestIdleSessionsAreLearned(t *testing.T) {
	f := newFixture(t)
	fin := call{op: risk.OpExchange, aud: "finance", sens: 3, tool: "finance.get", scopes: []string{"finance.read"}}
	for range 20 {
		sid, _ := f.open("agent", agent, "10.1.4.21")
		f.do(sid, "agent", agent, "10.1.4.21", append(routine[:2:2], fin))
		f.at = f.at.Add(12 * time.Hour)
	}
	_, d := f.open("agent", agent, "10.1.4.21")
	sid := fmt.Sprintf("agent-%d", 21)
	d = f.do(sid, "agent", agent, "10.1.4.21", []call{fin})[0]
	if points(d, risk.DetNovelResource) != 0 || points(d, risk.DetTierJump) != 0 {
		t.Errorf("idle sessions not learned: %v", d.Reasons)
	}
	if n := f.eng.Sweep(f.at.Add(3 * time.Hour)); n == 0 {
		t.Errorf("Sweep dropped nothing")
	}
}

func TestRestoreFacts(t *testing.T) {
	f := newFixture(t)
	f.eng.RestoreFacts("s1", "agent", []risk.Reason{{Code: risk.FactRefreshReuse, Points: 100}}, 0, 0)
	if d := f.do("s1", "agent", agent, "10.1.4.21", routine[:1])[0]; d.Action != risk.Terminate {
		t.Errorf("restored hard fact: %s", d.Action)
	}
	f.eng.RestoreFacts("s2", "agent", []risk.Reason{{Code: risk.FactEscalationAttempt, Points: 40}}, 1, 1)
	st, ok := f.eng.SessionState("s2")
	if !ok || st.Score < 90 || st.Challenges != 1 || st.Failed != 1 || st.Terminated {
		t.Errorf("restored state %+v", st)
	}
}

// TestSnapshotRestore checks a restored engine judges like the original.
func TestSnapshotRestore(t *testing.T) {
	f := newFixture(t)
	f.train("agent", agent, "10.1.4.21", append(routine[:2:2], vaultCall), 20)
	raw, err := json.Marshal(f.eng.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var snap risk.Snapshot
	if err := json.Unmarshal(raw, &snap); err != nil {
		t.Fatal(err)
	}
	g := newFixture(t)
	if err := g.eng.Restore(snap); err != nil {
		t.Fatal(err)
	}
	g.at = f.at
	for name, fx := range map[string]*fixture{"original": f, "restored": g} {
		d := last(fx.session("agent", agent, "10.1.4.21", []call{vaultCall}))
		if d.Action != risk.Allow || points(d, risk.DetNovelResource) != 0 {
			t.Errorf("%s: %s %v", name, d.Action, d.Reasons)
		}
	}
	if err := g.eng.Restore(risk.Snapshot{Version: 9}); !errors.Is(err, risk.ErrSnapshotVersion) {
		t.Errorf("bad version: %v", err)
	}
	if err := g.eng.Restore(risk.Snapshot{Version: 1, Clients: []risk.ClientSnapshot{{ClientID: "a"}, {ClientID: "a"}}}); err == nil {
		t.Error("duplicate client accepted")
	}
}

func TestForgetAndPeek(t *testing.T) {
	f := newFixture(t)
	sid, _ := f.open("agent", agent, "198.51.100.7")
	d, ok := f.eng.Peek(sid, f.at.Add(20*time.Minute), 1)
	if got := points(d, risk.DetNewNetwork); !ok || got < 12 || got > 13 {
		t.Errorf("Peek: %v %v", ok, d.Reasons)
	}
	if got := f.eng.Sessions("agent"); len(got) != 1 || got[0] != sid {
		t.Errorf("Sessions = %v", got)
	}
	f.eng.Forget(sid)
	if _, ok := f.eng.SessionState(sid); ok {
		t.Error("state survives Forget")
	}
	if got := f.eng.Sessions("agent"); len(got) != 0 {
		t.Errorf("Sessions after Forget = %v", got)
	}
}

func TestPolicy_Validate(t *testing.T) {
	if err := risk.DefaultPolicy().Validate(); err != nil {
		t.Fatalf("default policy: %v", err)
	}
	tests := []struct {
		name   string
		change func(*risk.Policy)
		want   []string
	}{
		{name: "thresholds out of order", change: func(p *risk.Policy) { p.Thresholds.Medium = 30 }, want: []string{"thresholds"}},
		{name: "impact tiers", change: func(p *risk.Policy) { p.Impact.Tiers = []float64{0.1, 0.05} }, want: []string{"impact.tiers"}},
		{name: "tolerance", change: func(p *risk.Policy) { p.Tolerance = 0 }, want: []string{"tolerance"}},
		{name: "loss bands", change: func(p *risk.Policy) { p.Loss.High = p.Loss.Low }, want: []string{"loss"}},
		{name: "unknown verb class", change: func(p *risk.Policy) { p.Impact.Verbs["bogus"] = 2 }, want: []string{"impact.verbs.bogus"}},
		{name: "unknown detector", change: func(p *risk.Policy) { p.Detectors["net.bogus"] = risk.DetectorPolicy{Weight: 1} }, want: []string{"net.bogus"}},
		{name: "every problem at once", change: func(p *risk.Policy) {
			p.HalfLife = 0
			p.SensitiveTier = 9
			p.TTL.Sensitive = 0
			p.Challenge.Max = 1
		}, want: []string{"half_life", "sensitive_tier", "ttl.sensitive", "challenge.max"}},
		{name: "relaxing rule without clients", change: func(p *risk.Policy) {
			p.Rules = []risk.RuleSpec{{Name: "r", When: "true", Action: risk.Allow, Relax: true}}
		}, want: []string{"must name its clients"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := risk.DefaultPolicy()
			tt.change(&p)
			err := p.Validate()
			for _, w := range tt.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v does not mention %q", err, w)
				}
			}
			if _, nerr := risk.New(p); nerr == nil {
				t.Error("New accepted an invalid policy")
			}
		})
	}
}

func TestPolicy_JSON(t *testing.T) {
	raw, err := json.Marshal(risk.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"half_life":"20m0s"`, `"report_only":false`, `"sensitive":"5m0s"`, `"net.new_network":{"weight":1,"cap":30}`, `"tolerance":1`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("policy JSON lacks %s", want)
		}
	}
	var back risk.Policy
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Validate(); err != nil || back.HalfLife != risk.DefaultPolicy().HalfLife {
		t.Errorf("round trip: %v %v", err, back.HalfLife)
	}
}

func TestReportOnly(t *testing.T) {
	p := risk.DefaultPolicy()
	p.ReportOnly = true
	f := newFixtureWith(t, p)
	sid, _ := f.open("agent", agent, "10.1.4.21")
	d := f.do(sid, "agent", agent, "10.1.4.21", []call{{op: risk.OpRefresh, facts: []string{risk.FactRefreshReuse}}})[0]
	if !d.ReportOnly || d.Action != risk.Terminate {
		t.Errorf("report-only decision %+v", d)
	}
}

// TestConcurrentObserve hammers the engine from many goroutines; run with
// -race.
func TestConcurrentObserve(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := fmt.Sprintf("c%d", g%3)
			for i := range 200 {
				at := t0.Add(time.Duration(i) * time.Second)
				sid := fmt.Sprintf("%s-%d-%d", client, g, i/20)
				op := risk.OpExchange
				if i%20 == 0 {
					op = risk.OpToken
				}
				f.eng.Observe(f.event(sid, client, agent, "10.1.4.21", call{op: op, aud: "tickets", sens: 1, tool: "tickets.get"}))
				_ = at
				if i%50 == 0 {
					f.eng.Snapshot()
					f.eng.SessionState(sid)
				}
			}
		}()
	}
	wg.Wait()
	f.eng.Sweep(t0.Add(24 * time.Hour))
}

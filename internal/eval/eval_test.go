package eval

import (
	"bytes"
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/replay"
	"github.com/vigil-auth/vigil/risk"
)

func generate(t *testing.T, cfg Config) *Population {
	t.Helper()
	pop, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return pop
}

func jsonl(t *testing.T, pop *Population) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := pop.WriteJSONL(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGenerateDeterministic: a seed gives the same population byte for
// byte; another seed another one.
func TestGenerateDeterministic(t *testing.T) {
	cfg := Config{Seed: 11, Clients: 12, HistorySessions: 10}
	a, b := jsonl(t, generate(t, cfg)), jsonl(t, generate(t, cfg))
	if !bytes.Equal(a, b) {
		t.Fatal("two generations of one seed differ")
	}
	cfg.Seed = 12
	if bytes.Equal(a, jsonl(t, generate(t, cfg))) {
		t.Fatal("seeds 11 and 12 gave the same population")
	}
}

// TestGeneratedFormat: the written file is the public format, parsed back
// by the replay as any corpus; every malicious case marks harmful steps
// from its attacker, no benign one does; every kind, tactic and behaviour
// is drawn.
func TestGeneratedFormat(t *testing.T) {
	pop := generate(t, Config{Seed: 3, Clients: 2 * len(Tactics), HistorySessions: 8})
	scs, err := replay.Parse(bytes.NewReader(jsonl(t, pop)), "pop.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(scs) != len(pop.Cases) {
		t.Fatalf("%d scenarios parsed from %d cases", len(scs), len(pop.Cases))
	}
	kinds, tactics, behaviours := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for i, c := range pop.Cases {
		sc := scs[i]
		if sc.ID != c.ID || sc.Label != c.Label {
			t.Errorf("case %d: parsed %s/%s, generated %s/%s", i, sc.ID, sc.Label, c.ID, c.Label)
		}
		harmful := 0
		for k, st := range sc.Steps {
			if st.Harmful {
				harmful++
				if k < c.AttackFrom {
					t.Errorf("%s: step %d is harmful before the attack starts at %d", c.ID, k, c.AttackFrom)
				}
			}
		}
		kinds[c.Kind] = true
		switch c.Label {
		case replay.LabelMalicious:
			tactics[c.Tactic] = true
			if harmful == 0 || c.AttackFrom < 0 {
				t.Errorf("%s: malicious with %d harmful steps, attack from %d", c.ID, harmful, c.AttackFrom)
			}
		default:
			behaviours[c.Behaviour] = true
			if harmful > 0 || c.AttackFrom >= 0 {
				t.Errorf("%s: benign with %d harmful steps", c.ID, harmful)
			}
		}
	}
	for _, k := range Kinds {
		if !kinds[k] {
			t.Errorf("no %s client", k)
		}
	}
	for _, tc := range Tactics {
		if !tactics[tc.Name] {
			t.Errorf("tactic %s never drawn", tc.Name)
		}
	}
	for _, b := range Behaviours {
		if !behaviours[b.Name] {
			t.Errorf("behaviour %s never drawn", b.Name)
		}
	}
}

// TestDSTSchedule: a job scheduled in a zone with daylight saving runs at
// the same local time on both sides of the change.
func TestDSTSchedule(t *testing.T) {
	g := &gen{r: newRNG(1, 1), cfg: Config{}.withDefaults()}
	g.o = newOrg(g.r)
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no zone data:", err)
	}
	p := &profile{kind: KindJob, loc: loc, days: weekdays(true), runs: []int{6*60 + 30},
		hosts: []netip.Addr{host(g.r, g.o.sites[0])}, flows: [][]call{nil}}
	change := dstDays(loc)[0] // 29 March 2026
	slots := g.slots(p, change.AddDate(0, 0, -2), change.AddDate(0, 0, 3))
	if len(slots) != 5 {
		t.Fatalf("%d runs in five days", len(slots))
	}
	for _, s := range slots {
		if l := s.at.In(loc); l.Hour() != 6 || l.Minute() != 30 {
			t.Errorf("run at %v local, want 06:30", l)
		}
	}
	if a, b := slots[0].at.UTC().Hour(), slots[4].at.UTC().Hour(); a == b {
		t.Errorf("UTC hour %d on both sides of the change", a)
	}
}

// fakeCase builds a case and the replay result of its scored steps.
func fakeCase(label string, attackFrom int, steps []replay.StepResult) (Case, replay.Result) {
	c := Case{ID: "c-" + label, Label: label, Kind: KindAgent, AttackFrom: attackFrom, Tactic: "t", Behaviour: "b"}
	if label == replay.LabelBenign {
		c.AttackFrom = -1
	}
	return c, replay.Result{ID: c.ID, Label: label, Steps: steps}
}

func st(session string, sec int, decision string, harmful bool) replay.StepResult {
	return replay.StepResult{Session: "run/" + session, At: time.Unix(1_800_000_000+int64(sec), 0), Decision: decision, Harmful: harmful, Op: "exchange"}
}

// TestScoreHandComputed checks the accounting against a case worked out
// by hand: two attacks (one stopped at its second step after 30s, one
// never), two benign cases (three sessions, one with two friction steps).
func TestScoreHandComputed(t *testing.T) {
	a1, r1 := fakeCase(replay.LabelMalicious, 1, []replay.StepResult{
		st("s1", 0, replay.Allow, false),
		st("x1", 10, replay.Allow, false), // attack starts
		st("x1", 40, replay.StepUp, true), // stopped 30s in, first harm blocked
		st("x1", 50, replay.Allow, true),  // a later harmful step gets through
	})
	a2, r2 := fakeCase(replay.LabelMalicious, 0, []replay.StepResult{
		st("x1", 0, replay.Allow, true),
		st("x1", 5, replay.Allow, false),
	})
	a2.ID, r2.ID, a2.Tactic = "c-2", "c-2", "u"
	b1, q1 := fakeCase(replay.LabelBenign, -1, []replay.StepResult{
		st("s1", 0, replay.Allow, false), st("s1", 1, replay.Allow, false),
		st("s2", 100, replay.StepUp, false), st("s2", 101, replay.Deny, false),
	})
	b2, q2 := fakeCase(replay.LabelBenign, -1, []replay.StepResult{st("s1", 0, replay.Allow, false)})
	b2.ID, q2.ID = "c-b2", "c-b2"
	pop := &Population{Seed: 9, Cases: []Case{a1, b1, a2, b2}}
	rep := Score(pop, &replay.Report{Results: []replay.Result{r1, q1, r2, q2}})
	got := []int{rep.Attacks, rep.Contained, rep.FirstHarmBlocked, rep.HarmfulSteps, rep.HarmfulAllowed,
		rep.TimeToContain.N, rep.TimeToContain.Uncontained, rep.BenignCases, rep.BenignSessions, rep.BenignFrictionSess,
		rep.BenignCasesFriction, rep.BenignCalls, rep.BenignFrictionCalls}
	want := []int{2, 0, 1, 3, 2, 1, 1, 2, 3, 1, 1, 5, 2}
	if !slices.Equal(got, want) {
		t.Errorf("counts %v, want %v", got, want)
	}
	if rep.TimeToContain.Median != 30 {
		t.Errorf("time to contain %v, want 30s", rep.TimeToContain.Median)
	}
	if rep.FrictionPer1000Calls != 400 {
		t.Errorf("friction per 1000 calls %v, want 400", rep.FrictionPer1000Calls)
	}
	if len(rep.Misses) != 3 {
		t.Errorf("misses %+v, want both attacks and the benign case with friction", rep.Misses)
	}
}

// TestEvaluateAgreesWithReplay runs a tiny population through the real
// handlers and checks the evaluation's totals against the replay's own.
func TestEvaluateAgreesWithReplay(t *testing.T) {
	pop := generate(t, Config{Seed: 5, Clients: 4, HistorySessions: 6})
	ctx := context.Background()
	rep, err := replay.Run(ctx, pop.Scenarios(), replay.Options{Answer: true})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Evaluate(ctx, pop, 1, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Attacks != rep.Malicious || ev.Contained != rep.Contained || ev.HarmfulSteps != rep.HarmfulSteps ||
		ev.HarmfulAllowed != rep.HarmfulAllowed || ev.BenignCalls != rep.BenignSteps ||
		ev.BenignFrictionCalls != rep.BenignFrictionSteps || ev.BenignCasesFriction != rep.BenignWithFriction {
		t.Errorf("evaluation %+v disagrees with the replay %+v", ev, rep)
	}
	var b strings.Builder
	if err := ev.WriteText(&b, true); err != nil || !strings.Contains(b.String(), "attacks contained") {
		t.Errorf("text report: %v\n%s", err, b.String())
	}
}

// TestToleranceScale keeps the policy valid at every tolerance and leaves
// it unchanged at 1.
func TestToleranceScale(t *testing.T) {
	for _, tol := range []float64{0.01, 0.5, 1, 2, 10} {
		p := ToleranceScale{}.Apply(risk.DefaultPolicy(), tol)
		if err := p.Validate(); err != nil {
			t.Errorf("tolerance %g: %v", tol, err)
		}
		if p.Tolerance != tol*risk.DefaultPolicy().Tolerance {
			t.Errorf("tolerance %g: policy tolerance %g", tol, p.Tolerance)
		}
	}
}

// TestCombine adds the counts of two seeds and recomputes the shares.
func TestCombine(t *testing.T) {
	a := &Report{Seed: 1, Clients: 2, Attacks: 2, Contained: 1, BenignSessions: 10, BenignFrictionSess: 1, BenignCalls: 100,
		BenignFrictionCalls: 2, ByTactic: []Row{{Name: "pivot", Attacks: 2, Contained: 1}}, ttc: []float64{5},
		Curve: []Point{{Tolerance: 1, Attacks: 2, Contained: 1, BenignSessions: 10, BenignFrictionSess: 1}}}
	b := &Report{Seed: 2, Clients: 2, Attacks: 2, Contained: 2, BenignSessions: 30, BenignFrictionSess: 0, BenignCalls: 300,
		ByTactic: []Row{{Name: "pivot", Attacks: 1, Contained: 1}, {Name: "splitting", Attacks: 1, Contained: 1}}, ttc: []float64{1, 9},
		Curve: []Point{{Tolerance: 1, Attacks: 2, Contained: 2, BenignSessions: 30}}}
	c := Combine([]*Report{a, b})
	if c.Attacks != 4 || c.Contained != 3 || c.BenignSessions != 40 || c.FrictionPer1000Calls != 5 || !slices.Equal(c.Seeds, []uint64{1, 2}) {
		t.Errorf("combined %+v", c)
	}
	if c.TimeToContain.N != 3 || c.TimeToContain.Median != 5 {
		t.Errorf("time to contain %+v", c.TimeToContain)
	}
	if len(c.ByTactic) != 2 || c.ByTactic[0] != (Row{Name: "pivot", Attacks: 3, Contained: 2}) {
		t.Errorf("by tactic %+v", c.ByTactic)
	}
	if len(c.Curve) != 1 || c.Curve[0].ContainedPct != 75 || c.Curve[0].FrictionPct != 2.5 {
		t.Errorf("curve %+v", c.Curve)
	}
}

// TestSideNetworkRoutineOnly: in a tier-creep case the network the attack
// comes from carried only routine (tier-1) work in the client's history,
// long sessions included, as the tactic says.
func TestSideNetworkRoutineOnly(t *testing.T) {
	seen := 0
	for seed := uint64(1); seed <= 4; seed++ {
		pop := generate(t, Config{Seed: seed, Clients: 2 * len(Tactics), HistorySessions: 12})
		for _, c := range pop.Cases {
			if c.Tactic != "tier-creep" {
				continue
			}
			side, err := netip.ParsePrefix(strings.TrimSuffix(strings.Fields(c.Scenario.Description)[1], ","))
			if err != nil {
				t.Fatalf("%s: no side network in %q", c.ID, c.Scenario.Description)
			}
			for _, b := range c.Scenario.History {
				for _, st := range b.Steps {
					if st.Audience == "" || !side.Contains(st.IP) {
						continue
					}
					seen++
					if tier := c.Scenario.Resources[st.Audience].Sensitivity; tier != 1 {
						t.Errorf("%s: history reaches %s (tier %d) from the side network %s", c.ID, st.Audience, tier, side)
					}
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("no history call from a side network: the test checks nothing")
	}
}

// TestBeatKeptAfterHistory: a service's or workload's sessions after its
// history fall on the beat its history shows.
func TestBeatKeptAfterHistory(t *testing.T) {
	g := &gen{r: newRNG(7, 0x5eed), cfg: Config{}.withDefaults()}
	g.o = newOrg(g.r)
	for i := range 20 {
		kind := []string{KindService, KindWorkload}[i%2]
		p := g.newProfile(kind)
		pl := g.planAt(p, g.someDay(), 30*time.Hour, 4)
		for _, s := range append(pl.hist, pl.scored...) {
			if off := s.at.Sub(pl.w) % p.every; off != 0 {
				t.Errorf("%s (every %s): a session at %s is %s off the beat of %s", p.id, p.every, s.at, off, pl.w)
			}
		}
	}
}

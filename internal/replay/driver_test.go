package replay

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestMechanics replays scenarios that exercise each operation through the
// real handlers (DPoP with the nonce round trip, refresh rotation and
// reuse, delegation, both kinds of step-up and revalidation, signals,
// revocation, steps that reach nothing) and requires every expectation
// they state.
func TestMechanics(t *testing.T) {
	scs, err := ReadFile("testdata/mechanics.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(t.Context(), scs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Expectations < 40 {
		t.Errorf("only %d expectations checked", rep.Expectations)
	}
	for _, res := range rep.Results {
		if len(res.FailedExpectations) > 0 {
			var b bytes.Buffer
			(&Report{Results: []Result{res}}).WriteText(&b, true)
			t.Errorf("%s:\n%s", res.ID, b.String())
		}
		for _, h := range res.HistoryRefused {
			t.Errorf("%s: history step refused: %+v", res.ID, h)
		}
	}
}

// TestVariants replays variants of the public corpus's situations, with
// other clients, addresses, numbers and twists, and requires the same bar.
func TestVariants(t *testing.T) {
	rep := requireBar(t, "testdata/variants.jsonl")
	if rep.Malicious < 10 || rep.BenignScenarios < 5 {
		t.Errorf("variants: %d malicious, %d benign", rep.Malicious, rep.BenignScenarios)
	}
}

// TestRun_DuplicateIDs checks that scenario ids must be unique across files.
func TestRun_DuplicateIDs(t *testing.T) {
	a, err := Parse(strings.NewReader(oneLine(minimal)), "a.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Parse(strings.NewReader(oneLine(minimal)), "b.jsonl")
	if _, err := Run(t.Context(), append(a, b...), Options{}); err == nil || !strings.Contains(err.Error(), "b.jsonl:1") {
		t.Fatalf("got %v, want an error naming both places", err)
	}
}

// TestReport_JSON checks the JSON report's keys and totals.
func TestReport_JSON(t *testing.T) {
	scs, err := Parse(strings.NewReader(oneLine(minimal)), "m.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(t.Context(), scs, Options{Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"scenarios", "malicious", "contained", "harmful_steps", "harmful_allowed", "benign_scenarios",
		"benign_scenarios_with_friction", "benign_steps", "benign_friction_steps", "expectations", "expectations_met", "results"} {
		if _, ok := got[k]; !ok {
			t.Errorf("missing key %q", k)
		}
	}
	results, _ := got["results"].([]any)
	if len(results) != 1 {
		t.Fatalf("results: %v", got["results"])
	}
	r0, _ := results[0].(map[string]any)
	for _, k := range []string{"id", "label", "contained", "harmful_allowed", "friction_steps", "failed_expectations"} {
		if _, ok := r0[k]; !ok {
			t.Errorf("result: missing key %q", k)
		}
	}
	if got["scenarios"] != 1.0 || got["benign_steps"] != 2.0 || got["benign_friction_steps"] != 0.0 || r0["id"] != "t1" {
		t.Errorf("totals: %s", buf.String())
	}
}

// TestReport_Text checks the text report's verdicts and totals.
func TestReport_Text(t *testing.T) {
	rep := &Report{}
	rep.add(Result{ID: "m-bad", Label: LabelMalicious, HarmfulSteps: 2, HarmfulAllowed: 1, FailedExpectations: []string{"step 3 (exchange): expected decision deny, got allow"},
		Expectations: 1, Steps: make([]StepResult, 4)})
	rep.add(Result{ID: "b-ok", Label: LabelBenign, Contained: true, Steps: make([]StepResult, 3)})
	var b bytes.Buffer
	if err := rep.WriteText(&b, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"m-bad", "NOT CONTAINED", "harmful allowed 1/2", "failed: step 3 (exchange)", "b-ok", "no friction",
		"malicious contained: 0/1 (0.0%); harmful calls allowed: 1 of 2", "benign friction: 0/3 steps (0.0%); 0/1 scenarios", "expectations met: 0/1"} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	if rep.Met() {
		t.Error("Met: true for an uncontained scenario")
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "scenarios: 2") }) {
		t.Errorf("no scenario count:\n%s", out)
	}
}

// TestRefusedOpenIsRemembered checks that a session-opening request for a
// scope outside the registration, refused before any session exists, still
// leaves the client's next session a floor from its recent memory.
func TestRefusedOpenIsRemembered(t *testing.T) {
	line := oneLine(strings.Replace(minimal, `"steps": [{"at": "+0s", "op": "token", "client": "agent", "ip": "10.0.0.1"},`,
		`"steps": [{"at": "+0s", "op": "token", "session": "s0", "client": "agent", "ip": "10.0.0.1", "scope": "kb.admin"},
		  {"at": "+1m", "op": "token", "client": "agent", "ip": "10.0.0.1"},`, 1))
	scs, err := Parse(strings.NewReader(line), "open.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunScenario(t.Context(), scs[0])
	if err != nil {
		t.Fatal(err)
	}
	refused, next := res.Steps[0], res.Steps[1]
	if refused.Decision != Deny || !strings.Contains(refused.Answer, "invalid_scope") {
		t.Errorf("refused open: %+v", refused)
	}
	if next.Decision != Allow || next.Score == 0 || !slices.ContainsFunc(next.Reasons, func(r string) bool { return strings.HasPrefix(r, "hist.recent_sessions=") }) {
		t.Errorf("next session: %s score %d %v, want allowed from a remembered floor", next.Decision, next.Score, next.Reasons)
	}
}

// TestAnswer checks Options.Answer: a rightful client that meets a step-up
// demand revalidates with its key and the refused exchange is repeated, so
// its next call goes on with the token it asked for; the step stays scored
// step_up, and an attacker's steps are not answered.
func TestAnswer(t *testing.T) {
	scs, err := ReadFile("testdata/mechanics.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(scs, func(sc Scenario) bool { return sc.ID == "mech-exchange-step-up-repeated" })
	if i < 0 {
		t.Fatal("mech-exchange-step-up-repeated is missing")
	}
	for _, label := range []string{LabelBenign, LabelMalicious} {
		sc := scs[i]
		sc.Label = label
		// the exchange's step-up, then the ledger call, with no scripted answer
		sc.Steps = slices.DeleteFunc(slices.Clone(sc.Steps), func(st Step) bool { return st.Op == OpRevalidate })
		for k := range sc.Steps {
			sc.Steps[k].Expect = nil
		}
		rep, err := Run(t.Context(), []Scenario{sc}, Options{Answer: true})
		if err != nil {
			t.Fatal(err)
		}
		steps := rep.Results[0].Steps
		if len(steps) != 4 || steps[2].Op != OpExchange || steps[3].Op != OpIntrospect {
			t.Fatalf("%s: steps %+v", label, steps)
		}
		if steps[2].Decision != StepUp {
			t.Errorf("%s: exchange %s, want step_up (still scored as friction)", label, steps[2].Decision)
		}
		answered := steps[3].Decision == Allow && steps[3].Active != nil && *steps[3].Active
		if answered != (label == LabelBenign) {
			t.Errorf("%s: the ledger call after the step-up: %s active=%v (%s)", label, steps[3].Decision, steps[3].Active, steps[3].Answer)
		}
	}
}

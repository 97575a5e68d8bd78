package replay

import (
	"fmt"
	"strconv"
	"time"
)

// Report is a replay's outcome: FORMAT.md's corpus metrics and an account
// of every scenario. Its JSON form is what `vigil replay --json` prints.
type Report struct {
	Scenarios int `json:"scenarios"`
	// Malicious scenarios, and those in which no harmful step was allowed.
	Malicious int `json:"malicious"`
	Contained int `json:"contained"`
	// HarmfulSteps counts the harmful steps of malicious scenarios;
	// HarmfulAllowed those answered allow.
	HarmfulSteps   int `json:"harmful_steps"`
	HarmfulAllowed int `json:"harmful_allowed"`
	// Benign scenarios, and those with any step answered step_up, deny or
	// terminate; BenignFrictionSteps counts such steps.
	BenignScenarios     int `json:"benign_scenarios"`
	BenignWithFriction  int `json:"benign_scenarios_with_friction"`
	BenignSteps         int `json:"benign_steps"`
	BenignFrictionSteps int `json:"benign_friction_steps"`
	// Expectations counts the expect checks present; ExpectationsMet those that held.
	Expectations    int      `json:"expectations"`
	ExpectationsMet int      `json:"expectations_met"`
	Results         []Result `json:"results"`
}

// Result is one scenario's account.
type Result struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	File  string `json:"file"`
	Line  int    `json:"line"`
	// Contained is true when no harmful step was allowed (always, for a
	// benign scenario).
	Contained      bool `json:"contained"`
	HarmfulSteps   int  `json:"harmful_steps"`
	HarmfulAllowed int  `json:"harmful_allowed"`
	// FrictionSteps counts the steps not marked harmful that were answered
	// step_up, deny or terminate: a benign scenario's friction.
	FrictionSteps      int      `json:"friction_steps"`
	Expectations       int      `json:"expectations"`
	FailedExpectations []string `json:"failed_expectations"`
	// HistorySteps counts the history steps replayed; HistoryRefused lists
	// the first of them the server did not allow (they teach nothing).
	HistorySteps   int          `json:"history_steps"`
	HistoryRefused []StepResult `json:"history_refused,omitempty"`
	Steps          []StepResult `json:"steps"`
}

// maxHistoryRefused bounds Result.HistoryRefused.
const maxHistoryRefused = 20

// StepResult is what one step got.
type StepResult struct {
	Index    int       `json:"index"` // position among the scored steps; -1 for history
	At       time.Time `json:"at"`
	Session  string    `json:"session"`
	Op       string    `json:"op"`
	Harmful  bool      `json:"harmful,omitempty"`
	Decision string    `json:"decision"`
	// TTL is the issued token's lifetime in seconds; Refresh whether a
	// refresh token came with it; Active the introspection answer.
	TTL     int64  `json:"ttl,omitempty"`
	Refresh bool   `json:"refresh,omitempty"`
	Active  *bool  `json:"active,omitempty"`
	Answer  string `json:"answer"`
	// Score, Level and Reasons are the risk engine's last decision in the
	// step, as an administrator would see them.
	Score   int      `json:"score"`
	Level   string   `json:"level,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
}

// add folds one scenario's result into the totals.
func (r *Report) add(res Result) {
	r.Scenarios++
	r.Expectations += res.Expectations
	r.ExpectationsMet += res.Expectations - len(res.FailedExpectations)
	switch res.Label {
	case LabelMalicious:
		r.Malicious++
		r.HarmfulSteps += res.HarmfulSteps
		r.HarmfulAllowed += res.HarmfulAllowed
		if res.Contained {
			r.Contained++
		}
	case LabelBenign:
		r.BenignScenarios++
		r.BenignSteps += len(res.Steps)
		r.BenignFrictionSteps += res.FrictionSteps
		if res.FrictionSteps > 0 {
			r.BenignWithFriction++
		}
	}
	r.Results = append(r.Results, res)
}

// Met reports whether the replay met FORMAT.md's bar: every malicious
// scenario contained, no friction on any benign one, every expectation met.
func (r *Report) Met() bool {
	return r.Contained == r.Malicious && r.BenignWithFriction == 0 && r.ExpectationsMet == r.Expectations
}

// score folds a scored step's outcome into res.
func (res *Result) score(sc Scenario, ts Timed, out outcome, sr StepResult) {
	st := ts.Step
	if st.Harmful && sc.Label == LabelMalicious {
		res.HarmfulSteps++
		if out.decision == Allow {
			res.HarmfulAllowed++
			res.Contained = false
		}
	}
	if !st.Harmful && out.decision != Allow {
		res.FrictionSteps++
	}
	res.checkExpect(ts, out)
	res.Steps = append(res.Steps, sr)
}

// checkExpect scores each field of the step's expect.
func (res *Result) checkExpect(ts Timed, out outcome) {
	x := ts.Step.Expect
	if x == nil {
		return
	}
	check := func(what string, ok bool, got string) {
		res.Expectations++
		if !ok {
			res.FailedExpectations = append(res.FailedExpectations,
				fmt.Sprintf("step %d (%s): expected %s, got %s", ts.Index, ts.Step.Op, what, got))
		}
	}
	if x.Decision != "" {
		check("decision "+x.Decision, out.decision == x.Decision, out.decision)
	}
	if x.MaxTTL != nil {
		limit := time.Duration(*x.MaxTTL) * time.Second
		check("max_ttl "+strconv.Itoa(*x.MaxTTL)+"s", !out.issued || (out.ttl > 0 && out.ttl <= limit), out.ttl.String())
	}
	if x.Refresh != nil {
		check(fmt.Sprintf("refresh %v", *x.Refresh), out.refresh == *x.Refresh, fmt.Sprint(out.refresh))
	}
	if x.Active != nil {
		got := "no introspection answer"
		if out.active != nil {
			got = fmt.Sprint(*out.active)
		}
		check(fmt.Sprintf("active %v", *x.Active), out.active != nil && *out.active == *x.Active, got)
	}
}

// stepResult describes a step's outcome with the engine's last decision.
func stepResult(ts Timed, out outcome, obs []observed) StepResult {
	sr := StepResult{Index: ts.Index, At: ts.At, Session: ts.Session, Op: ts.Step.Op, Harmful: ts.Step.Harmful,
		Decision: out.decision, Refresh: out.refresh, Active: out.active, Answer: out.answer}
	if !ts.Scored {
		sr.Index = -1
	}
	if out.issued {
		sr.TTL = int64(out.ttl / time.Second)
	}
	if len(obs) > 0 {
		d := obs[len(obs)-1].d
		sr.Score, sr.Level = d.Score, string(d.Level)
		for _, r := range d.Reasons {
			sr.Reasons = append(sr.Reasons, r.Code+"="+strconv.Itoa(r.Points))
		}
	}
	return sr
}

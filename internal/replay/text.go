package replay

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteJSON writes the report as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes a line per scenario, its failed expectations, and the
// corpus metrics. With steps it also lists every scored step (and the
// history steps the server refused) with the engine's score and reasons.
func (r *Report) WriteText(w io.Writer, steps bool) error {
	bw := bufio.NewWriter(w)
	width := len("SCENARIO")
	for _, res := range r.Results {
		width = max(width, len(res.ID))
	}
	fmt.Fprintf(bw, "%-*s  %-9s  %-13s  %s\n", width, "SCENARIO", "LABEL", "RESULT", "DETAIL")
	for _, res := range r.Results {
		fmt.Fprintf(bw, "%-*s  %-9s  %-13s  %s\n", width, res.ID, res.Label, verdict(res), detail(res))
		for _, f := range res.FailedExpectations {
			fmt.Fprintf(bw, "    failed: %s\n", f)
		}
		if steps {
			writeSteps(bw, res)
		}
	}
	fmt.Fprintln(bw)
	r.writeTotals(bw)
	return bw.Flush()
}

func (r *Report) writeTotals(w io.Writer) {
	fmt.Fprintf(w, "scenarios: %d (%d malicious, %d benign)\n", r.Scenarios, r.Malicious, r.BenignScenarios)
	fmt.Fprintf(w, "malicious contained: %d/%d (%s); harmful calls allowed: %d of %d harmful steps\n",
		r.Contained, r.Malicious, pct(r.Contained, r.Malicious), r.HarmfulAllowed, r.HarmfulSteps)
	fmt.Fprintf(w, "benign friction: %d/%d steps (%s); %d/%d scenarios with friction\n",
		r.BenignFrictionSteps, r.BenignSteps, pct(r.BenignFrictionSteps, r.BenignSteps), r.BenignWithFriction, r.BenignScenarios)
	fmt.Fprintf(w, "expectations met: %d/%d (%s)\n", r.ExpectationsMet, r.Expectations, pct(r.ExpectationsMet, r.Expectations))
}

func verdict(res Result) string {
	switch {
	case res.Label == LabelMalicious && res.Contained:
		return "contained"
	case res.Label == LabelMalicious:
		return "NOT CONTAINED"
	case res.FrictionSteps > 0:
		return "FRICTION"
	}
	return "no friction"
}

func detail(res Result) string {
	var parts []string
	if res.Label == LabelMalicious {
		parts = append(parts, fmt.Sprintf("harmful allowed %d/%d", res.HarmfulAllowed, res.HarmfulSteps),
			fmt.Sprintf("other steps refused %d/%d", res.FrictionSteps, len(res.Steps)-res.HarmfulSteps))
	} else {
		parts = append(parts, fmt.Sprintf("friction %d/%d steps", res.FrictionSteps, len(res.Steps)))
	}
	if res.Expectations > 0 {
		parts = append(parts, fmt.Sprintf("expectations %d/%d", res.Expectations-len(res.FailedExpectations), res.Expectations))
	}
	return strings.Join(parts, ", ")
}

func writeSteps(w io.Writer, res Result) {
	for _, s := range res.HistoryRefused {
		fmt.Fprintf(w, "    history %s %s %-10s %-9s %s\n", s.Session, s.At.Format("2006-01-02 15:04:05"), s.Op, s.Decision, explain(s))
	}
	for _, s := range res.Steps {
		mark := "       "
		if s.Harmful {
			mark = "HARMFUL"
		}
		fmt.Fprintf(w, "    %3d %s %-8s %-10s %-9s %s %s\n", s.Index, s.At.Format("15:04:05"), strings.TrimPrefix(s.Session, "run/"),
			s.Op, s.Decision, mark, explain(s))
	}
}

func explain(s StepResult) string {
	out := fmt.Sprintf("[%s] score=%d", s.Answer, s.Score)
	if s.TTL > 0 {
		out += fmt.Sprintf(" ttl=%ds", s.TTL)
	}
	if len(s.Reasons) > 0 {
		out += " " + strings.Join(s.Reasons, " ")
	}
	return out
}

func pct(a, b int) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(a)/float64(b))
}

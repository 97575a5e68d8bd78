package eval

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteJSON writes the report as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for people: the headline figures, the
// breakdowns, the curve and, with misses, every miss.
func (r *Report) WriteText(w io.Writer, misses bool) error {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	seeds := fmt.Sprintf("seed %d", r.Seed)
	if len(r.Seeds) > 0 {
		seeds = fmt.Sprintf("seeds %v", r.Seeds)
	}
	p("%s: %d clients, %d attacks, %d benign cases (%s, tolerance %g)\n", seeds, r.Clients, r.Attacks, r.BenignCases, r.Knob, r.Tolerance)
	p("attacks contained (no harmful step allowed): %d/%d (%.1f%%); first harmful step blocked: %d/%d (%.1f%%)\n",
		r.Contained, r.Attacks, Pct(r.Contained, r.Attacks), r.FirstHarmBlocked, r.Attacks, Pct(r.FirstHarmBlocked, r.Attacks))
	p("harmful steps allowed: %d of %d\n", r.HarmfulAllowed, r.HarmfulSteps)
	t := r.TimeToContain
	p("time to contain: median %.0fs, p90 %.0fs, max %.0fs over %d attacks stopped; %d never stopped\n", t.Median, t.P90, t.Max, t.N, t.Uncontained)
	p("benign sessions with friction: %d/%d (%.2f%%) in %d/%d cases; friction per 1,000 benign calls: %.2f (%d of %d)\n",
		r.BenignFrictionSess, r.BenignSessions, Pct(r.BenignFrictionSess, r.BenignSessions), r.BenignCasesFriction, r.BenignCases,
		r.FrictionPer1000Calls, r.BenignFrictionCalls, r.BenignCalls)
	p("history: %d steps replayed, %d refused; %.1fs\n", r.HistorySteps, r.HistoryRefused, r.Seconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\ntactic\tcontained")
	for _, row := range r.ByTactic {
		fmt.Fprintf(tw, "%s\t%d/%d\n", row.Name, row.Contained, row.Attacks)
	}
	fmt.Fprintln(tw, "\nbehaviour\tsessions with friction")
	for _, row := range r.ByBehaviour {
		fmt.Fprintf(tw, "%s\t%d/%d\n", row.Name, row.BenignFrictionSess, row.BenignSessions)
	}
	fmt.Fprintln(tw, "\nkind\tcontained\tsessions with friction")
	for _, row := range r.ByKind {
		fmt.Fprintf(tw, "%s\t%d/%d\t%d/%d\n", row.Name, row.Contained, row.Attacks, row.BenignFrictionSess, row.BenignSessions)
	}
	if len(r.Curve) > 0 {
		fmt.Fprintln(tw, "\ntolerance\tcontained\tfirst harm blocked\tsessions with friction\tfriction/1000 calls")
		for _, pt := range r.Curve {
			fmt.Fprintf(tw, "%g\t%.1f%%\t%.1f%%\t%.2f%%\t%.2f\n", pt.Tolerance, pt.ContainedPct, pt.FirstHarmPct, pt.FrictionPct, pt.FrictionPer1000)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if misses && len(r.Misses) > 0 {
		p("\nmisses:\n")
		for _, m := range r.Misses {
			p("  %s  [%s %s %s] %s\n", m.ID, m.Label, m.Kind, m.What, m.Detail)
		}
	}
	return nil
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/vigil-auth/vigil/internal/eval"
	"github.com/vigil-auth/vigil/internal/eval/plot"
)

// evalCmd runs "vigil eval --seed N": it generates the seed's population,
// replays it through the server's real handlers in process and reports
// containment and friction, optionally over a sweep of the policy's
// tolerance, for one seed or several.
func evalCmd(ctx context.Context, args []string, e *cli) error {
	fs := e.newFlagSet("eval", "eval --seed N|N-M|N,M,... [--clients N] [--json] [--misses] [--curve] [--plot FILE.png] [--out FILE.jsonl]")
	seedList := fs.String("seed", "", "population seed, a range such as 101-105 or a list such as 1,2,3 (seeds 1-30 are for tuning, 101-120 for reporting)")
	clients := fs.Int("clients", eval.DefaultClients, "clients per seed; each yields one benign and one malicious scenario")
	history := fs.Int("history", eval.DefaultHistorySessions, "about how many sessions of history each client has")
	asJSON := fs.Bool("json", false, "print the report as one JSON object (several seeds: their reports and the total)")
	misses := fs.Bool("misses", false, "list every attack not contained and every benign case with friction")
	curve := fs.Bool("curve", false, "also sweep the policy's tolerance and report the detection/friction curve")
	tols := fs.String("tolerances", "", "comma-separated tolerances for the curve (default "+joinFloats(eval.DefaultTolerances)+")")
	plotFile := fs.String("plot", "", "draw the detection/friction curve to this PNG file (implies --curve)")
	out := fs.String("out", "", "write the generated scenarios to this file (JSON Lines, scenario format v1; with several seeds, one file per seed: FILE.SEED)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	seeds, err := parseSeeds(*seedList)
	if len(rest) > 0 || err != nil {
		fmt.Fprintln(fs.Output(), "vigil eval: want --seed N, N-M or N,M,... (seeds > 0) and no arguments")
		fs.Usage()
		return errUsage
	}
	ts := []float64(nil)
	if *curve || *tols != "" || *plotFile != "" {
		ts = eval.DefaultTolerances
		if *tols != "" {
			if ts, err = parseFloats(*tols); err != nil {
				return fmt.Errorf("eval: --tolerances: %w", err)
			}
		}
	}
	var reps []*eval.Report
	for _, seed := range seeds {
		rep, err := evalSeed(ctx, seed, eval.Config{Seed: seed, Clients: *clients, HistorySessions: *history}, ts, outFile(*out, seed, len(seeds)))
		if err != nil {
			return err
		}
		reps = append(reps, rep)
	}
	total := eval.Combine(reps)
	if *plotFile != "" {
		if err := writePlot(*plotFile, reps, total); err != nil {
			return err
		}
	}
	switch {
	case *asJSON && len(reps) == 1:
		return total.WriteJSON(e.stdout)
	case *asJSON:
		return writeJSON(e.stdout, map[string]any{"reports": reps, "total": total})
	}
	if len(reps) > 1 {
		for _, r := range reps {
			if err := r.WriteText(e.stdout, *misses); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout)
		}
		fmt.Fprintln(e.stdout, "== all seeds")
		return total.WriteText(e.stdout, false)
	}
	return total.WriteText(e.stdout, *misses)
}

// evalSeed generates one seed's population, writes it to out when set, and
// evaluates it (over the tolerances ts when there are any).
func evalSeed(ctx context.Context, seed uint64, cfg eval.Config, ts []float64, out string) (*eval.Report, error) {
	pop, err := eval.Generate(cfg)
	if err != nil {
		return nil, err
	}
	if out != "" {
		if err := writePopulation(pop, out); err != nil {
			return nil, err
		}
	}
	if len(ts) > 0 {
		return eval.Curve(ctx, pop, ts, eval.Options{})
	}
	return eval.Evaluate(ctx, pop, 1, eval.Options{})
}

func outFile(out string, seed uint64, seeds int) string {
	if out == "" || seeds == 1 {
		return out
	}
	return out + "." + strconv.FormatUint(seed, 10)
}

func writePopulation(pop *eval.Population, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if err := pop.WriteJSONL(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// plotSeedsInColour is the most seeds drawn each in its own colour; more
// are drawn faint, as a grey spread around their total.
const plotSeedsInColour = 6

// writePlot draws every seed's curve and, for several seeds, their total.
func writePlot(path string, reps []*eval.Report, total *eval.Report) error {
	var series []plot.Series
	if len(reps) > 1 {
		series = append(series, plot.Series{Name: fmt.Sprintf("all seeds (%d attacks)", total.Attacks), Points: total.Curve})
	}
	faint := len(reps) > plotSeedsInColour
	for _, r := range reps {
		name := fmt.Sprintf("seed %d", r.Seed)
		if faint {
			name = fmt.Sprintf("each of %d seeds", len(reps))
		}
		series = append(series, plot.Series{Name: name, Points: r.Curve, Faint: faint})
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	title := fmt.Sprintf("Generated populations: detection against friction (tolerance t: %s)", total.Knob)
	if err := plot.WritePNG(f, title, series, &plot.Goal{Contained: 95, Friction: 2}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// parseSeeds reads "N", "N-M" or "N,M,...".
func parseSeeds(s string) ([]uint64, error) {
	var out []uint64
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.ParseUint(lo, 10, 64)
		if err != nil || a == 0 {
			return nil, fmt.Errorf("%q is not a seed", part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 64); err != nil || b < a || b-a > 1000 {
				return nil, fmt.Errorf("%q is not a range of seeds", part)
			}
		}
		for n := a; n <= b; n++ {
			out = append(out, n)
		}
	}
	return out, nil
}

func parseFloats(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, v)
	}
	return out, nil
}

func joinFloats(fs []float64) string {
	var parts []string
	for _, f := range fs {
		parts = append(parts, strconv.FormatFloat(f, 'g', -1, 64))
	}
	return strings.Join(parts, ",")
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

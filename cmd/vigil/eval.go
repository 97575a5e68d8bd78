package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/vigil-auth/vigil/internal/eval"
)

// evalCmd runs "vigil eval --seed N": it generates the seed's population,
// replays it through the server's real handlers in process and reports
// containment and friction, optionally over a sweep of the policy's
// tolerance.
func evalCmd(ctx context.Context, args []string, e *cli) error {
	fs := e.newFlagSet("eval", "eval --seed N [--clients N] [--json] [--misses] [--curve] [--tolerances LIST] [--out FILE.jsonl]")
	seed := fs.Uint64("seed", 0, "population seed (required; seeds 1-5 are for tuning, 101-105 for reporting)")
	clients := fs.Int("clients", eval.DefaultClients, "clients in the population; each yields one benign and one malicious scenario")
	history := fs.Int("history", eval.DefaultHistorySessions, "about how many sessions of history each client has")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	misses := fs.Bool("misses", false, "list every attack not contained and every benign case with friction")
	curve := fs.Bool("curve", false, "also sweep the policy's tolerance and report the detection/friction curve")
	tols := fs.String("tolerances", "", "comma-separated tolerances for --curve (default "+joinFloats(eval.DefaultTolerances)+")")
	out := fs.String("out", "", "write the generated scenarios to this file (JSON Lines, scenario format v1) and replay them with vigil replay")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 || *seed == 0 {
		fmt.Fprintln(fs.Output(), "vigil eval: want --seed N (N > 0) and no arguments")
		fs.Usage()
		return errUsage
	}
	pop, err := eval.Generate(eval.Config{Seed: *seed, Clients: *clients, HistorySessions: *history})
	if err != nil {
		return err
	}
	if *out != "" {
		if err := writePopulation(pop, *out); err != nil {
			return err
		}
	}
	var rep *eval.Report
	if *curve || *tols != "" {
		ts := eval.DefaultTolerances
		if *tols != "" {
			if ts, err = parseFloats(*tols); err != nil {
				return fmt.Errorf("eval: --tolerances: %w", err)
			}
		}
		rep, err = eval.Curve(ctx, pop, ts, eval.Options{})
	} else {
		rep, err = eval.Evaluate(ctx, pop, 1, eval.Options{})
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return rep.WriteJSON(e.stdout)
	}
	return rep.WriteText(e.stdout, *misses)
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

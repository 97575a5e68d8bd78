package replay

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/vigil-auth/vigil/risk"
)

// Options tune a replay. The zero value runs one scenario per CPU at a
// time with the default risk policy.
type Options struct {
	// Parallel is how many scenarios replay at once; 0 means GOMAXPROCS.
	Parallel int
	// Policy, when set, returns the risk policy each scenario's server
	// judges with; nil means risk.DefaultPolicy.
	Policy func() risk.Policy
	// Answer has rightful clients answer the step-up demands their steps
	// meet, as a client holding its key does: right after a history step,
	// or a scored step of a benign scenario, answered step_up, the client
	// (the actor, for a delegated exchange) revalidates with its key and
	// the server repeats the refused request. The step is still scored
	// step_up. The attacker's steps of a malicious scenario stay as
	// written. Without it, only the scenario's own revalidate steps answer.
	Answer bool
}

// Run replays each scenario on its own freshly built server and returns the
// report, with results in the order of scs. Scenario ids must be unique.
// It returns an error only when a server cannot be built or ctx ends.
func Run(ctx context.Context, scs []Scenario, opts Options) (*Report, error) {
	seen := map[string]Scenario{}
	for _, sc := range scs {
		if prev, dup := seen[sc.ID]; dup {
			return nil, fmt.Errorf("replay: scenario id %q is used at %s:%d and %s:%d", sc.ID, prev.File, prev.Line, sc.File, sc.Line)
		}
		seen[sc.ID] = sc
	}
	results := make([]Result, len(scs))
	errs := make([]error, len(scs))
	n := opts.Parallel
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, sc := range scs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i], errs[i] = runScenario(ctx, sc, opts)
		}()
	}
	wg.Wait()
	rep := &Report{Results: make([]Result, 0, len(scs))}
	for i, res := range results {
		if errs[i] != nil {
			return nil, errs[i]
		}
		rep.add(res)
	}
	return rep, nil
}

// RunScenario replays one scenario on a freshly built server: its history
// in time order, then its scored steps, and scores the outcome.
func RunScenario(ctx context.Context, sc Scenario) (Result, error) {
	return runScenario(ctx, sc, Options{})
}

func runScenario(ctx context.Context, sc Scenario, opts Options) (Result, error) {
	steps := Expand(sc)
	start := sc.Start
	if len(steps) > 0 {
		start = steps[0].At
	}
	policy := risk.DefaultPolicy
	if opts.Policy != nil {
		policy = opts.Policy
	}
	w, err := newWorld(ctx, sc, start, policy())
	if err != nil {
		return Result{}, fmt.Errorf("replay: %s: %w", sc.ID, err)
	}
	defer func() { _ = w.close() }()
	d := &driver{w: w, sc: sc, sessions: map[string]*session{}, actors: map[string]actorToken{}}
	res := Result{ID: sc.ID, Label: sc.Label, File: sc.File, Line: sc.Line, Contained: true,
		FailedExpectations: []string{}, Steps: []StepResult{}}
	for _, ts := range steps {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		out := d.do(ctx, ts)
		sr := stepResult(ts, out, w.risk.take())
		if opts.Answer && out.decision == StepUp && (!ts.Scored || sc.Label == LabelBenign) {
			d.answer(ctx, ts)
			w.risk.take() // the answer is not a step of the scenario
		}
		if !ts.Scored {
			res.HistorySteps++
			if out.decision != Allow && len(res.HistoryRefused) < maxHistoryRefused {
				res.HistoryRefused = append(res.HistoryRefused, sr)
			}
			continue
		}
		res.score(sc, ts, out, sr)
	}
	return res, nil
}

package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/vigil-auth/vigil/internal/replay"
)

// errBarNotMet reports a replay (run with --check) in which a malicious
// scenario was not contained, a benign one met friction or an expectation
// failed.
var errBarNotMet = errors.New("replay: not every malicious scenario was contained, benign scenario free of friction and expectation met")

// replayCmd runs "vigil replay [--json] [--steps] [--check] FILE...": it
// replays scenario files through the server's real handlers in process and
// prints the metrics.
func replayCmd(ctx context.Context, args []string, e *cli) error {
	fs := e.newFlagSet("replay", "replay [--json] [--steps] [--check] [--answer] FILE...")
	asJSON := fs.Bool("json", false, "print one JSON object: the metrics and every scenario's result")
	steps := fs.Bool("steps", false, "list every scored step with the risk engine's score and reasons")
	check := fs.Bool("check", false, "exit with status 1 unless every malicious scenario is contained, no benign scenario meets friction and every expectation holds")
	answer := fs.Bool("answer", false, "rightful clients answer the step-up demands they meet with their key, as vigil eval has them do (the attacker's steps stay as written)")
	files, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		fmt.Fprintln(fs.Output(), "vigil replay: want at least one scenario file")
		fs.Usage()
		return errUsage
	}
	var scs []replay.Scenario
	for _, f := range files {
		s, err := replay.ReadFile(f)
		if err != nil {
			return err
		}
		scs = append(scs, s...)
	}
	rep, err := replay.Run(ctx, scs, replay.Options{Answer: *answer})
	if err != nil {
		return err
	}
	if *asJSON {
		err = rep.WriteJSON(e.stdout)
	} else {
		err = rep.WriteText(e.stdout, *steps)
	}
	if err == nil && *check && !rep.Met() {
		err = errBarNotMet
	}
	return err
}

package main

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestCLIEval(t *testing.T) {
	out, errOut, err := vigil(t, nil, "eval")
	if !errors.Is(err, errUsage) {
		t.Fatalf("eval without --seed: %v (stderr %s)", err, errOut)
	}
	file := filepath.Join(t.TempDir(), "pop.jsonl")
	out, errOut, err = vigil(t, nil, "eval", "--seed", "4", "--clients", "2", "--history", "4", "--json", "--out", file)
	if err != nil {
		t.Fatalf("eval: %v (stderr %s)", err, errOut)
	}
	var rep struct {
		Seed    uint64 `json:"seed"`
		Attacks int    `json:"attacks"`
		Benign  int    `json:"benign_cases"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Seed != 4 || rep.Attacks != 2 || rep.Benign != 2 {
		t.Fatalf("report %+v (%v):\n%s", rep, err, out)
	}
	// The written population is a scenario file like any other.
	out, errOut, err = vigil(t, nil, "replay", file)
	if err != nil || !strings.Contains(out, "scenarios: 4 (2 malicious, 2 benign)") {
		t.Fatalf("replay of the generated file: %v (stderr %s)\n%s", err, errOut, out)
	}
}

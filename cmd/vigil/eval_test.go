package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
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

// TestCLIEvalCurve evaluates two seeds over two tolerances and draws the curve.
func TestCLIEvalCurve(t *testing.T) {
	png := filepath.Join(t.TempDir(), "curve.png")
	out, errOut, err := vigil(t, nil, "eval", "--seed", "6-7", "--clients", "1", "--history", "3", "--tolerances", "0.5,2", "--plot", png)
	if err != nil {
		t.Fatalf("eval: %v (stderr %s)", err, errOut)
	}
	for _, want := range []string{"seed 6:", "seed 7:", "== all seeds", "seeds [6 7]", "tolerance", "0.5 "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	b, err := os.ReadFile(png)
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("no PNG written: %v", err)
	}
}

func TestParseSeeds(t *testing.T) {
	for in, want := range map[string][]uint64{"7": {7}, "101-103": {101, 102, 103}, "1,5": {1, 5}, "1-2,9": {1, 2, 9}} {
		got, err := parseSeeds(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("parseSeeds(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "x", "5-3", "1-", "-2"} {
		if _, err := parseSeeds(bad); err == nil {
			t.Errorf("parseSeeds(%q) accepted", bad)
		}
	}
}

package replay

import (
	"bytes"
	"path/filepath"
	"testing"
)

// corpusDir holds the public scenario corpus (docs/SCENARIOS.md),
// relative to this package.
const corpusDir = "../../testdata/scenarios"

// TestCorpus replays every public corpus through the real server and
// requires FORMAT.md's bar: every malicious scenario contained with no
// harmful step allowed, no friction on any benign scenario, every
// expectation met.
func TestCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.jsonl"))
	if len(files) == 0 {
		t.Fatalf("no scenario corpus in %s", corpusDir)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			requireBar(t, f)
		})
	}
}

// requireBar replays the scenario file and fails unless it meets the bar,
// logging the metrics and the account of every scenario that missed it.
func requireBar(t *testing.T, file string) *Report {
	t.Helper()
	scs, err := ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(t.Context(), scs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var totals bytes.Buffer
	rep.writeTotals(&totals)
	t.Logf("%s:\n%s", filepath.Base(file), totals.String())
	for _, res := range rep.Results {
		if missed(res) {
			var b bytes.Buffer
			(&Report{Results: []Result{res}}).WriteText(&b, true)
			t.Errorf("%s missed the bar:\n%s", res.ID, b.String())
		}
	}
	if !rep.Met() {
		t.Errorf("%s: the bar was not met", filepath.Base(file))
	}
	return rep
}

func missed(res Result) bool {
	return !res.Contained || len(res.FailedExpectations) > 0 || (res.Label == LabelBenign && res.FrictionSteps > 0)
}

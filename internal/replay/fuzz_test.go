package replay

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary files to the scenario parser. Properties: it
// never panics; a refusal is a *ParseError naming a line of the input; an
// accepted scenario is complete (id, label, start, known operations and
// clients) and expands without panicking.
func FuzzParse(f *testing.F) {
	f.Add(oneLine(minimal))
	f.Add("// comment only\n\n")
	f.Add(`{"id": "x"}`)
	f.Add(`{"id": 1, "steps": [{"op": "token", "at": "+1d2h"}]}`)
	f.Add(oneLine(strings.Replace(minimal, `"history": []`,
		`"history": [{"sessions": 3, "every": "6h", "from": "-2d", "jitter": "20m", "steps": [{"at": "+0s", "op": "token", "client": "agent"}]}]`, 1)))
	addCorpusSeeds(f)
	f.Fuzz(func(t *testing.T, in string) {
		scs, err := Parse(strings.NewReader(in), "fuzz.jsonl")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 || pe.Line > strings.Count(in, "\n")+2 {
				t.Fatalf("refusal %v is not a ParseError on a line of the input", err)
			}
			return
		}
		for _, s := range scs {
			checkAccepted(t, s)
			if historySteps(s) > 10_000 {
				continue // valid, but too slow to expand at fuzzing speed
			}
			steps := Expand(s)
			if len(steps) < len(s.Steps) {
				t.Fatalf("%s: expanded to %d steps, fewer than its %d scored ones", s.ID, len(steps), len(s.Steps))
			}
		}
	})
}

func checkAccepted(t *testing.T, s Scenario) {
	if s.ID == "" || s.Start.IsZero() || (s.Label != LabelBenign && s.Label != LabelMalicious) {
		t.Fatalf("accepted an incomplete scenario: %+v", s)
	}
	all := slices.Clone(s.Steps)
	for _, b := range s.History {
		all = append(all, b.Steps...)
	}
	for _, st := range all {
		if !slices.Contains(ops, st.Op) {
			t.Fatalf("%s: accepted operation %q", s.ID, st.Op)
		}
		if _, ok := s.Clients[st.Client]; st.Client != "" && !ok {
			t.Fatalf("%s: accepted unknown client %q", s.ID, st.Client)
		}
		if st.Op == OpSignal && st.Signal == nil {
			t.Fatalf("%s: accepted a signal step without its event", s.ID)
		}
	}
}

func historySteps(s Scenario) int {
	n := 0
	for _, b := range s.History {
		n += b.Sessions * len(b.Steps)
	}
	return n
}

// addCorpusSeeds adds the lines of the public scenario corpus and of this
// package's test files as seeds.
func addCorpusSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.jsonl"))
	more, _ := filepath.Glob(filepath.Join("testdata", "*.jsonl"))
	for _, name := range append(files, more...) {
		fh, err := os.Open(name)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, maxLine)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "{") {
				f.Add(line)
			}
		}
		fh.Close()
	}
}

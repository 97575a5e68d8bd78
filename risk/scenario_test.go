package risk_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/risk"
)

// scenarioDir holds the public scenario corpus, relative to this package.
const scenarioDir = "../testdata/scenarios"

// metrics are FORMAT.md's corpus metrics.
type metrics struct {
	malicious, contained, harmfulAllowed int
	benign, benignWithFriction           int
	benignSteps, benignFriction          int
	expectPresent, expectMet             int
	failures                             []string
}

// TestScenarios replays every scenario corpus through a model of the
// server's handlers (scenario_server_test.go) and the engine with the
// default policy, and requires every malicious scenario contained, no
// friction for benign ones, and every expectation met.
func TestScenarios(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(scenarioDir, "*.jsonl"))
	if len(files) == 0 {
		t.Skipf("no scenario corpus in %s", scenarioDir)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			scs, err := readScenarios(f)
			if err != nil {
				t.Fatal(err)
			}
			var m metrics
			for _, sc := range scs {
				runScenario(t, sc, &m)
			}
			m.report(t)
			for _, msg := range m.failures {
				t.Error(msg)
			}
		})
	}
}

func (m *metrics) report(t *testing.T) {
	t.Logf("malicious contained: %d/%d (%.1f%%); harmful calls allowed: %d", m.contained, m.malicious, pct(m.contained, m.malicious), m.harmfulAllowed)
	t.Logf("benign friction: %d/%d steps (%.1f%%), %d/%d scenarios", m.benignFriction, m.benignSteps, pct(m.benignFriction, m.benignSteps), m.benignWithFriction, m.benign)
	t.Logf("expectations met: %d/%d (%.1f%%)", m.expectMet, m.expectPresent, pct(m.expectMet, m.expectPresent))
}

func pct(a, b int) float64 {
	if b == 0 {
		return 100
	}
	return 100 * float64(a) / float64(b)
}

// runScenario replays one scenario on a fresh engine and scores it into m.
func runScenario(t *testing.T, sc scenario, m *metrics) {
	t.Helper()
	eng, err := risk.New(risk.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	steps, err := expand(sc)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := newServer(eng, sc)
	if err != nil {
		t.Fatalf("%s: %v", sc.ID, err)
	}
	var trace strings.Builder
	harmful, friction := 0, 0
	for _, ts := range steps {
		out := srv.do(ts)
		if !ts.scored {
			if os.Getenv("VIGIL_SCENARIO_TRACE") == "history" && out.decision != "allow" {
				fmt.Fprintf(&trace, "  history %s %s %-10s %-9s score=%3d %s\n", ts.session, ts.at.Format(time.DateTime), ts.step.Op,
					out.decision, out.d.Score, reasonsOf(out))
			}
			continue
		}
		fmt.Fprintf(&trace, "  %2d %s %-10s %-9s score=%3d %s %s\n", ts.index, ts.at.Format(time.TimeOnly), ts.step.Op,
			out.decision, out.d.Score, mark(ts.step), reasonsOf(out))
		if sc.Label == "malicious" && ts.step.Harmful && out.decision == "allow" {
			harmful++
		}
		if sc.Label == "benign" {
			m.benignSteps++
			if out.decision != "allow" {
				friction++
			}
		}
		m.checkExpect(sc.ID, ts, out)
	}
	m.tally(sc, harmful, friction)
	if (sc.Label == "malicious" && harmful > 0) || (sc.Label == "benign" && friction > 0) || os.Getenv("VIGIL_SCENARIO_TRACE") != "" {
		t.Logf("%s (%s):\n%s", sc.ID, sc.Label, trace.String())
	}
}

func (m *metrics) tally(sc scenario, harmful, friction int) {
	switch sc.Label {
	case "malicious":
		m.malicious++
		m.harmfulAllowed += harmful
		if harmful == 0 {
			m.contained++
		} else {
			m.failures = append(m.failures, fmt.Sprintf("%s: %d harmful calls allowed", sc.ID, harmful))
		}
	case "benign":
		m.benign++
		m.benignFriction += friction
		if friction > 0 {
			m.benignWithFriction++
			m.failures = append(m.failures, fmt.Sprintf("%s: %d benign steps met friction", sc.ID, friction))
		}
	}
}

// checkExpect scores each field of a step's expect.
func (m *metrics) checkExpect(id string, ts timedStep, out outcome) {
	x := ts.step.Expect
	if x == nil {
		return
	}
	check := func(name string, ok bool, got string) {
		m.expectPresent++
		if ok {
			m.expectMet++
			return
		}
		m.failures = append(m.failures, fmt.Sprintf("%s step %d: expect %s, got %s", id, ts.index, name, got))
	}
	if x.Decision != "" {
		check("decision "+x.Decision, out.decision == x.Decision, out.decision)
	}
	if x.MaxTTL != nil {
		limit := time.Duration(*x.MaxTTL) * time.Second
		check(fmt.Sprintf("max_ttl %ds", *x.MaxTTL), !out.issued || (out.ttl > 0 && out.ttl <= limit), out.ttl.String())
	}
	if x.Refresh != nil {
		check(fmt.Sprintf("refresh %v", *x.Refresh), out.refresh == *x.Refresh, fmt.Sprint(out.refresh))
	}
	if x.Active != nil {
		check(fmt.Sprintf("active %v", *x.Active), out.active != nil && *out.active == *x.Active, activeString(out.active))
	}
}

func activeString(a *bool) string {
	if a == nil {
		return "no introspection answer"
	}
	return fmt.Sprint(*a)
}

func mark(st step) string {
	if st.Harmful {
		return "HARMFUL"
	}
	return "       "
}

func reasonsOf(out outcome) string {
	var b strings.Builder
	for _, r := range out.d.Reasons {
		fmt.Fprintf(&b, "%s=%d ", r.Code, r.Points)
	}
	return b.String()
}

package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/risk"

	"github.com/vigil-auth/vigil/storage/memory"
)

// TestRiskMetrics: every decision the handlers ask of the engine is
// counted by operation, action and level, and timed.
func TestRiskMetrics(t *testing.T) {
	h := benchServer(t, memory.New())
	tok := call(t, h, PathToken, "agent", url.Values{"grant_type": {"client_credentials"}, "scope": {"a"}})
	call(t, h, PathToken, "agent", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token": {tok["access_token"].(string)}, "subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		"audience": {"https://rs.example"}, "scope": {"a"}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, benchIssuer+"/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	out := string(body)
	for _, want := range []string{
		`vigil_risk_decisions_total{action="allow",level="none",op="token"} 1`,
		`vigil_risk_decisions_total{action="allow",level="none",op="exchange"} 1`,
		`vigil_risk_decision_duration_seconds_count{op="token"} 1`,
		`vigil_risk_decision_duration_seconds_count{op="exchange"} 1`,
		`vigil_risk_live_sessions{level="none"} `,
		`vigil_risk_live_sessions{level="critical"} 0`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(out, `vigil_risk_live_sessions{level="none"} 0`) {
		t.Errorf("no live session counted at level none after two allowed decisions")
	}
}

type fakeEngine struct{ d risk.Decision }

func (f fakeEngine) Observe(risk.Event) risk.Decision { return f.d }

type sink struct {
	decided []string
	reasons []string
}

func (s *sink) Decided(op, action, level string, took time.Duration) {
	s.decided = append(s.decided, op+" "+action+" "+level)
}
func (s *sink) Reason(code string) { s.reasons = append(s.reasons, code) }

// TestMeasuredRisk passes the engine's decision through unchanged and
// reports it with each of its reason codes.
func TestMeasuredRisk(t *testing.T) {
	d := risk.Decision{Score: 40, Level: risk.LevelMedium, Action: risk.StepUp,
		Reasons: []risk.Reason{{Code: "net.new_network", Points: 20}, {Code: "scope.tier_jump", Points: 20}}}
	var m sink
	got := measuredRisk{Risk: fakeEngine{d}, m: &m}.Observe(risk.Event{Op: risk.OpExchange})
	if got.Action != d.Action || got.Score != d.Score || len(got.Reasons) != 2 {
		t.Errorf("decision changed: %+v", got)
	}
	if strings.Join(m.decided, ",") != "exchange step_up medium" || strings.Join(m.reasons, ",") != "net.new_network,scope.tier_jump" {
		t.Errorf("reported %v and %v", m.decided, m.reasons)
	}
}

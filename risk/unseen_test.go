package risk_test

import (
	"testing"
	"time"

	"github.com/vigil-auth/vigil/risk"
)

// TestUnseenChallengeDoesNotBlockLearning checks that a challenge a
// resource server's introspection opens, which the client's own calls never
// meet, neither keeps a quiet session from being learned nor counts as a
// challenge the client left unanswered; once the client's own call meets
// it and goes unanswered, the session is not learned.
func TestUnseenChallengeDoesNotBlockLearning(t *testing.T) {
	finGet := call{op: risk.OpExchange, aud: "vault", sens: 4, tactic: "exfiltration", tool: "vault.export", tenant: "acme", scopes: []string{"secrets.read"}}
	finUse := call{op: risk.OpIntrospect, aud: "vault", sens: 4, tactic: "exfiltration", tool: "vault.export", tenant: "globex"}
	usual := append(append([]call{}, routine...), finGet)
	tests := []struct {
		name string
		// meets: the client's own call after the introspection, at the
		// challenged tier, which the pending challenge stands over
		meets     bool
		wantAgain risk.Action
	}{
		{"unseen", false, risk.Allow},
		{"met and unanswered", true, risk.StepUp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.train("agent", agent, "10.1.4.21", usual, 20)
			calls := append(append([]call{}, usual...), finUse)
			if tt.meets {
				calls = append(calls, finGet)
			}
			ds := f.session("agent", agent, "10.1.4.21", calls)
			if d := ds[len(usual)]; d.Action != risk.StepUp {
				t.Fatalf("setup: the introspection: %s (score %d, %v)", d.Action, d.Score, d.Reasons)
			}
			if tt.meets && last(ds).Action != risk.StepUp {
				t.Fatalf("setup: the client's call after it: %s", last(ds).Action)
			}
			f.at = f.at.Add(12 * time.Hour)
			again := f.session("agent", agent, "10.1.4.21", calls[:len(usual)+1])
			d := last(again)
			if d.Action != tt.wantAgain {
				t.Errorf("the same introspection in the next session: %s (score %d, %v), want %s", d.Action, d.Score, d.Reasons, tt.wantAgain)
			}
			if got := points(again[0], risk.ReasonChallengeHistory) > 0; got != tt.meets {
				t.Errorf("next session's first call: challenge history %v (%v), want %v", got, again[0].Reasons, tt.meets)
			}
		})
	}
}

package risk_test

import (
	"testing"

	"github.com/vigil-auth/vigil/risk"
)

// TestRepeatAfterChallengeIsOneCall checks that a call a challenge refused,
// repeated once the client passed it, counts as one call of its tool: the
// repeat of a tool the client calls once a session is not a second call
// that challenges it again.
func TestRepeatAfterChallengeIsOneCall(t *testing.T) {
	rotate := call{op: risk.OpExchange, aud: "vault", sens: 4, tactic: "persistence", tool: "vault.key_delete", tenant: "acme", scopes: []string{"secrets.read"}}
	usual := append(append([]call{}, routine...), rotate)
	f := newFixture(t)
	f.train("agent", agent, "10.1.4.21", usual, 20)
	fresh := rotate
	fresh.tenant = "globex"
	calls := append(append([]call{}, routine...), fresh, call{op: risk.OpRevalidate, passed: true}, fresh)
	ds := f.session("agent", agent, "10.1.4.21", calls)
	if d := ds[len(routine)]; d.Action != risk.StepUp {
		t.Fatalf("setup: the call on a new tenant: %s (score %d, %v)", d.Action, d.Score, d.Reasons)
	}
	if d := last(ds); d.Action != risk.Allow || points(d, risk.DetSessionVolume) > 0 {
		t.Errorf("the call repeated after the passed challenge: %s (score %d, %v), want allowed as the same call", d.Action, d.Score, d.Reasons)
	}
}

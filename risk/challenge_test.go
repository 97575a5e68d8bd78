package risk_test

import (
	"testing"
	"time"

	"github.com/vigil-auth/vigil/risk"
)

// TestUnansweredChallengeStands checks that a challenge the client has not
// answered stays in force for calls at its tier or above, even once the
// score has faded below the step-up line, without counting as a new
// challenge; routine calls below it go on, and answering it ends it.
func TestUnansweredChallengeStands(t *testing.T) {
	fin := call{op: risk.OpExchange, aud: "finance", sens: 3, tool: "finance.export", tactic: "collection", scopes: []string{"finance.read"}}
	finUse := call{op: risk.OpIntrospect, aud: "finance", sens: 3, tool: "finance.export", after: time.Hour}
	f := newFixture(t)
	f.train("agent", agent, "10.1.4.21", routine, 20)
	sid, _ := f.open("agent", agent, "10.1.4.21")
	if d := f.do(sid, "agent", agent, "10.1.4.21", []call{fin})[0]; d.Action != risk.StepUp {
		t.Fatalf("setup: %s (score %d)", d.Action, d.Score)
	}
	faded := f.do(sid, "agent", agent, "10.1.4.21", []call{finUse})[0]
	if faded.Action != risk.StepUp || faded.Challenge == nil || faded.Challenge.Attempt != 1 {
		t.Errorf("an hour later, unanswered: %s (score %d, challenge %+v), want the same challenge again", faded.Action, faded.Score, faded.Challenge)
	}
	if st, _ := f.eng.SessionState(sid); st.Challenges != 1 || !st.Pending {
		t.Errorf("state %+v, want one pending challenge", st)
	}
	if d := f.do(sid, "agent", agent, "10.1.4.21", routine[:1])[0]; d.Action != risk.Allow {
		t.Errorf("routine call below the challenged tier: %s (score %d)", d.Action, d.Score)
	}
	f.do(sid, "agent", agent, "10.1.4.21", []call{{op: risk.OpRevalidate, passed: true}})
	if d := f.do(sid, "agent", agent, "10.1.4.21", []call{finUse})[0]; d.Action != risk.Allow {
		t.Errorf("after a passed revalidation: %s (score %d)", d.Action, d.Score)
	}
}

// TestWaitingDoesNotLaunder checks that a session's risky peak leaves a
// floor that fades with the memory half-life: a refused sensitive call
// retried an hour later, after the behaviour points faded, is still not
// simply allowed, while routine work goes on.
func TestWaitingDoesNotLaunder(t *testing.T) {
	f := newFixture(t)
	f.train("agent", agent, "10.1.4.21", routine, 20)
	sid, _ := f.open("agent", agent, "10.1.4.21")
	first := f.do(sid, "agent", agent, "10.1.4.21", []call{vaultCall})[0]
	if first.Action == risk.Allow {
		t.Fatalf("setup: %s (score %d)", first.Action, first.Score)
	}
	later := append([]call{{op: risk.OpExchange, aud: "tickets", sens: 1, tool: "tickets.get", scopes: []string{"tickets.read"}, after: time.Hour}}, vaultCall)
	ds := f.do(sid, "agent", agent, "10.1.4.21", later)
	if ds[0].Action != risk.Allow || points(ds[0], risk.ReasonSessionPeak) == 0 {
		t.Errorf("routine call an hour later: %s %v, want allowed above the session's floor", ds[0].Action, ds[0].Reasons)
	}
	if ds[1].Action == risk.Allow {
		t.Errorf("the refused sensitive call retried an hour later: allowed (score %d, %v)", ds[1].Score, ds[1].Reasons)
	}
}

// TestSecretOnlyClientIsNotChallenged checks that a client that cannot
// revalidate (no registered key) is denied the call a challenge would have
// guarded, with the reason saying so, is never left owing a challenge, and
// keeps doing the routine work its suspicion still tolerates; the same
// call of a client with a key is stepped up.
func TestSecretOnlyClientIsNotChallenged(t *testing.T) {
	fin := call{op: risk.OpExchange, aud: "finance", sens: 3, tool: "finance.export", tactic: "collection", scopes: []string{"finance.read"}}
	secretOnly := agent
	secretOnly.SecretOnly = true
	tests := []struct {
		name string
		prof risk.ClientProfile
		want risk.Action
	}{
		{"with a key", agent, risk.StepUp},
		{"secret only", secretOnly, risk.Deny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.train("agent", tt.prof, "10.1.4.21", routine, 20)
			sid, _ := f.open("agent", tt.prof, "10.1.4.21")
			ds := f.do(sid, "agent", tt.prof, "10.1.4.21", []call{fin, routine[0]})
			if ds[0].Action != tt.want {
				t.Fatalf("sensitive call: %s (score %d), want %s", ds[0].Action, ds[0].Score, tt.want)
			}
			st, _ := f.eng.SessionState(sid)
			if tt.prof.SecretOnly {
				if ds[0].Challenge != nil || !ds[0].Has(risk.ReasonNoRevalidation) || st.Challenges != 0 || st.Pending {
					t.Errorf("secret-only client: challenge %+v, reasons %v, state %+v; want a denial that says why and no challenge", ds[0].Challenge, ds[0].Reasons, st)
				}
			}
			if ds[1].Action != risk.Allow {
				t.Errorf("routine call after: %s (score %d)", ds[1].Action, ds[1].Score)
			}
			if !tt.prof.SecretOnly {
				return
			}
			// a resource server asking about the token hears step_up for
			// the sensitive work; the client still owes nothing
			in := f.do(sid, "agent", tt.prof, "10.1.4.21", []call{{op: risk.OpIntrospect, aud: "finance", sens: 3, tool: "finance.export"}})[0]
			if st, _ := f.eng.SessionState(sid); in.Action != risk.StepUp || st.Challenges != 0 || st.Pending {
				t.Errorf("introspection: %s, state %+v; want step_up and no challenge owed", in.Action, st)
			}
		})
	}
}

// TestPassedChallengeIsLearned checks that a session whose every challenge
// the client passed with its key teaches its baseline: a new habit that
// meets a challenge is asked for a few times, not every session from then
// on, while one whose challenges go unanswered keeps being asked.
func TestPassedChallengeIsLearned(t *testing.T) {
	fin := call{op: risk.OpExchange, aud: "finance", sens: 3, tool: "finance.get", tactic: "collection", scopes: []string{"finance.read"}}
	for _, answer := range []bool{true, false} {
		f := newFixture(t)
		f.train("agent", agent, "10.1.4.21", routine, 20)
		var last risk.Decision
		for range 8 {
			sid, _ := f.open("agent", agent, "10.1.4.21")
			f.do(sid, "agent", agent, "10.1.4.21", routine)
			last = f.do(sid, "agent", agent, "10.1.4.21", []call{fin})[0]
			if last.Action == risk.StepUp && answer {
				f.do(sid, "agent", agent, "10.1.4.21", []call{{op: risk.OpRevalidate, passed: true}, fin})
			}
			f.at = f.at.Add(2 * time.Second)
			f.eng.Observe(risk.Event{Op: risk.OpRevoke, At: f.at, SessionID: sid, ClientID: "agent", Client: agent})
			f.at = f.at.Add(12 * time.Hour)
		}
		if got := last.Action == risk.Allow; got != answer {
			t.Errorf("answered %v: the eighth session's finance call %s (score %d), allowed want %v; %v", answer, last.Action, last.Score, answer, last.Reasons)
		}
	}
}

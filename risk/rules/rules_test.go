package rules_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/risk/rules"
)

func TestCompile_Errors(t *testing.T) {
	tests := []struct {
		name    string
		spec    risk.RuleSpec
		wantErr error  // matched with errors.Is when set
		wantMsg string // substring of the error otherwise
	}{
		{name: "syntax error", spec: risk.RuleSpec{Name: "r", When: "score >", Action: risk.Deny}, wantMsg: "Syntax error"},
		{name: "unknown variable", spec: risk.RuleSpec{Name: "r", When: "scor > 5", Action: risk.Deny}, wantMsg: "undeclared reference"},
		{name: "type mismatch", spec: risk.RuleSpec{Name: "r", When: "score == 'high'", Action: risk.Deny}, wantMsg: "no matching overload"},
		{name: "not a bool", spec: risk.RuleSpec{Name: "r", When: "score + 1", Action: risk.Deny}, wantErr: rules.ErrNotBool},
		{name: "over the cost budget", spec: risk.RuleSpec{Name: "r", Action: risk.Deny,
			When: "scopes.all(s, actors.all(a, reasons.exists(r, r == s + a)))"}, wantErr: rules.ErrTooCostly},
		{name: "relax without clients", spec: risk.RuleSpec{Name: "r", When: "tier == 1", Action: risk.Allow, Relax: true},
			wantErr: risk.ErrRelaxUnscoped},
		{name: "allow without relax", spec: risk.RuleSpec{Name: "r", When: "tier == 1", Action: risk.Allow}, wantMsg: "can only relax"},
		{name: "unknown action", spec: risk.RuleSpec{Name: "r", When: "tier == 1", Action: "block"}, wantMsg: "unknown action"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rules.Compile([]risk.RuleSpec{tt.spec})
			if err == nil {
				t.Fatal("Compile succeeded, want an error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
			if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
		})
	}
}

func TestCompile_ReportsEveryRule(t *testing.T) {
	_, err := rules.Compile([]risk.RuleSpec{
		{Name: "a", When: "nope", Action: risk.Deny},
		{Name: "b", When: "score", Action: risk.Deny},
	})
	if err == nil || !strings.Contains(err.Error(), `"a"`) || !strings.Contains(err.Error(), `"b"`) {
		t.Fatalf("error %v should name both rules", err)
	}
}

func TestSet_Evaluate(t *testing.T) {
	set, err := rules.Compile([]risk.RuleSpec{
		{Name: "secrets-off-hours", When: "sensitivity == 4 && (hour < 6 || hour > 20)", Action: risk.StepUp},
		{Name: "iam-short", When: "audience == 'iam-api'", TTL: risk.Duration(time.Minute)},
		{Name: "no-exports", When: "tool.endsWith('.export') && 'net.new_network' in reasons", Action: risk.Deny, TTL: risk.Duration(2 * time.Minute)},
		{Name: "ci-trusted", When: "op == 'exchange' && action == 'step_up' && tier <= 2", Action: risk.Allow, Relax: true, Clients: []string{"ci"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	night := time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   risk.RuleInput
		want risk.RuleVerdict
	}{
		{name: "nothing matches", in: risk.RuleInput{ClientID: "x", At: night, Sensitivity: 1}, want: risk.RuleVerdict{}},
		{name: "tighten to step-up at night", in: risk.RuleInput{ClientID: "x", At: night, Sensitivity: 4},
			want: risk.RuleVerdict{Tighten: risk.StepUp, Matched: []string{"secrets-off-hours"}}},
		{name: "strictest action and shortest ttl win", in: risk.RuleInput{ClientID: "x", At: night, Sensitivity: 4, Audience: "iam-api",
			Tool: "iam.export", Reasons: []risk.Reason{{Code: "net.new_network"}}},
			want: risk.RuleVerdict{Tighten: risk.Deny, TightenTTL: time.Minute, Matched: []string{"secrets-off-hours", "iam-short", "no-exports"}}},
		{name: "relax applies to its client", in: risk.RuleInput{ClientID: "ci", Op: risk.OpExchange, Action: risk.StepUp, Tier: 2, At: night},
			want: risk.RuleVerdict{Relax: risk.Allow, RelaxSet: true, Matched: []string{"ci-trusted"}}},
		{name: "relax ignores other clients", in: risk.RuleInput{ClientID: "other", Op: risk.OpExchange, Action: risk.StepUp, Tier: 2, At: night},
			want: risk.RuleVerdict{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got risk.RuleVerdict
			if err := set.Evaluate(&tt.in, &got); err != nil {
				t.Fatal(err)
			}
			if got.Tighten != tt.want.Tighten || got.TightenTTL != tt.want.TightenTTL || got.Relax != tt.want.Relax ||
				got.RelaxSet != tt.want.RelaxSet || strings.Join(got.Matched, ",") != strings.Join(tt.want.Matched, ",") {
				t.Errorf("verdict %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestEngineWithRules checks the engine applies compiled rules: a rule
// tightens a routine call, a relaxing rule covers its named client only,
// and a policy with rules but no compiled set is refused.
func TestEngineWithRules(t *testing.T) {
	p := risk.DefaultPolicy()
	p.Rules = []risk.RuleSpec{
		{Name: "deny-admin-tool", When: "tool == 'admin.delete'", Action: risk.Deny},
		{Name: "trusted-unknown-net", When: "op == 'exchange'", Action: risk.Allow, Relax: true, Clients: []string{"trusted"}},
	}
	if _, err := risk.New(p); !errors.Is(err, risk.ErrRulesMissing) {
		t.Fatalf("New without compiled rules: %v, want ErrRulesMissing", err)
	}
	set, err := rules.Compile(p.Rules)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := risk.New(p, risk.WithRules(set))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	base := risk.Event{Op: risk.OpExchange, At: at, Audience: "docs", Resource: risk.ResourceProfile{Sensitivity: 1},
		IP: netip.MustParseAddr("10.0.0.1")}
	ev := base
	ev.SessionID, ev.ClientID, ev.Tool = "s1", "agent", "admin.delete"
	if d := eng.Observe(ev); d.Action != risk.Deny || !hasReason(d, risk.ReasonRule) {
		t.Errorf("tightening rule: action %s reasons %v, want deny by rule", d.Action, d.Reasons)
	}
	// A session of a trusted client that ignores a pending challenge would be
	// stepped up; the relaxing rule lets it through, but not another client.
	for _, client := range []string{"trusted", "other"} {
		sid := "s-" + client
		eng.RestoreFacts(sid, client, []risk.Reason{{Code: risk.FactEscalationAttempt, Points: 40}}, 0, 0)
		ev := base
		ev.SessionID, ev.ClientID, ev.Audience, ev.Resource = sid, client, "finance", risk.ResourceProfile{Sensitivity: 3}
		d := eng.Observe(ev)
		want := risk.StepUp
		if client == "trusted" {
			want = risk.Allow
		}
		if d.Action != want {
			t.Errorf("%s: action %s (score %d), want %s", client, d.Action, d.Score, want)
		}
	}
}

func hasReason(d risk.Decision, code string) bool {
	for _, r := range d.Reasons {
		if r.Code == code {
			return true
		}
	}
	return false
}

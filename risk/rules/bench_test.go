package rules_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/risk/rules"
)

// BenchmarkEvaluate measures five typical rules against one call.
func BenchmarkEvaluate(b *testing.B) {
	set, err := rules.Compile([]risk.RuleSpec{
		{Name: "secrets-off-hours", When: "sensitivity == 4 && (hour < 6 || hour > 20)", Action: risk.StepUp},
		{Name: "iam-short", When: "audience == 'iam-api'", TTL: risk.Duration(time.Minute)},
		{Name: "export-new-net", When: "tool.endsWith('.export') && 'net.new_network' in reasons", Action: risk.Deny},
		{Name: "jobs-sensitive", When: "kind == 'job' && op == 'exchange' && tier >= 3 && score > 20", Action: risk.Deny},
		{Name: "deep-chains", When: "size(actors) > 2", Action: risk.StepUp},
	})
	if err != nil {
		b.Fatal(err)
	}
	in := risk.RuleInput{Op: risk.OpExchange, ClientID: "c", Kind: "job", Audience: "crm", Sensitivity: 3, Tier: 3,
		Tool: "crm.export", IP: netip.MustParseAddr("10.0.0.1"), At: time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC),
		Score: 30, Level: risk.LevelMedium, Action: risk.StepUp, Reasons: []risk.Reason{{Code: "net.new_network"}}}
	b.ReportAllocs()
	for b.Loop() {
		var v risk.RuleVerdict
		if err := set.Evaluate(&in, &v); err != nil || v.Tighten != risk.Deny {
			b.Fatalf("%v %+v", err, v)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPolicyCheckExampleConfig(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"policy", "check", "../../examples/vigil.yaml"}, func(string) string { return "" }, &out, &errb)
	if err != nil || !strings.Contains(out.String(), "ok") {
		t.Fatalf("policy check examples/vigil.yaml: %v %s%s", err, out.String(), errb.String())
	}
}

func TestPolicyCheck(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, body, want string
		ok               bool
	}{
		{"bare policy with a rule", "report_only: true\nrules:\n  - name: r\n    when: 'sensitivity >= 4 && score > 10'\n    action: step_up\n", "report-only, 1 rules", true},
		{"config file section", "listen: 127.0.0.1:0\npolicy:\n  thresholds: {low: 20, medium: 40, high: 60, critical: 80}\n", "enforcing, 0 rules", true},
		{"config file without a policy section", "listen: 127.0.0.1:0\nclients:\n  - id: a\n    secret: a-long-enough-secret\n", "default policy ok (enforcing, 0 rules)", true},
		{"unknown key names its line", "half_life: 10m\nthresholds: {lo: 3}\n", "line 2", false},
		{"rule that does not type-check", "rules:\n  - name: r\n    when: 'nosuch > 1'\n    action: deny\n", "undeclared reference", false},
		{"relaxing without clients", "rules:\n  - name: r\n    when: 'score < 50'\n    action: allow\n    relax: true\n", "client", false},
		{"thresholds out of order", "thresholds: {low: 50, medium: 30, high: 60, critical: 85}\n", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".yaml")
			if err := os.WriteFile(path, []byte(tt.body), 0o600); err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			err := run(context.Background(), []string{"policy", "check", path}, func(string) string { return "" }, &out, &errb)
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v (%s)", err, tt.ok, out.String())
			}
			got := out.String()
			if err != nil {
				got = err.Error()
			}
			if !strings.Contains(got, tt.want) {
				t.Fatalf("output %q lacks %q", got, tt.want)
			}
		})
	}
}

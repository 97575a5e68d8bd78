package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// scenarioLine is a one-line scenario; harmful marks its introspection.
func scenarioLine(label string, harmful bool) string {
	h := ""
	if harmful {
		h = `, "harmful": true`
	}
	return `{"id": "cli-1", "label": "` + label + `", "start": "2026-03-17T10:00:00Z", "resources": {"kb-api": {"sensitivity": 1}},` +
		` "clients": {"agent": {"kind": "agent", "scopes": ["kb.read"], "audiences": ["kb-api"]}, "kb-api": {"kind": "resource_server", "introspect": ["kb-api"]}},` +
		` "history": [], "steps": [{"at": "+0s", "op": "token", "client": "agent", "ip": "10.0.0.1"},` +
		` {"op": "introspect", "rs": "kb-api", "ip": "10.0.0.1", "tool": "kb.search", "expect": {"active": true}` + h + `}]}`
}

func scenarioFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCLIReplay(t *testing.T) {
	good := scenarioFile(t, "good.jsonl", "// one benign scenario\n"+scenarioLine("benign", false)+"\n")
	leaky := scenarioFile(t, "leaky.jsonl", scenarioLine("malicious", true)+"\n")
	bad := scenarioFile(t, "bad.jsonl", "\n"+strings.Replace(scenarioLine("benign", false), `"op": "introspect"`, `"op": "peek"`, 1)+"\n")
	tests := []struct {
		name    string
		args    []string
		wantErr error
		errText string
		out     []string
	}{
		{"text", []string{"replay", good}, nil, "", []string{"cli-1", "no friction", "expectations met: 1/1 (100.0%)"}},
		{"steps", []string{"replay", "--steps", good}, nil, "", []string{"introspect", "[200]"}},
		{"json", []string{"replay", "--json", good}, nil, "", []string{`"scenarios": 1`, `"benign_friction_steps": 0`, `"expectations_met": 1`}},
		{"check met", []string{"replay", "--check", good}, nil, "", []string{"cli-1"}},
		{"check not met", []string{"replay", "--check", leaky}, errBarNotMet, "", []string{"NOT CONTAINED"}},
		{"malformed", []string{"replay", bad}, nil, "bad.jsonl:2: steps[1].op", nil},
		{"missing file", []string{"replay", good + ".nope"}, nil, "no such file", nil},
		{"no files", []string{"replay"}, errUsage, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := vigil(t, nil, tt.args...)
			switch {
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("got %v, want %v (stderr %s)", err, tt.wantErr, errOut)
			case tt.errText != "" && (err == nil || !strings.Contains(err.Error(), tt.errText)):
				t.Fatalf("got %v, want an error mentioning %q", err, tt.errText)
			case tt.wantErr == nil && tt.errText == "" && err != nil:
				t.Fatalf("unexpected error %v (stderr %s)", err, errOut)
			}
			for _, want := range tt.out {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

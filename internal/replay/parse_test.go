package replay

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// minimal is a valid one-line scenario that test cases edit.
const minimal = `{"id": "t1", "label": "benign", "start": "2026-03-17T10:00:00Z",
 "resources": {"kb-api": {"sensitivity": 1}},
 "clients": {"agent": {"kind": "agent", "scopes": ["kb.read"], "audiences": ["kb-api"]},
             "kb-api": {"kind": "resource_server", "introspect": ["kb-api"]}},
 "history": [],
 "steps": [{"at": "+0s", "op": "token", "client": "agent", "ip": "10.0.0.1"},
           {"op": "introspect", "rs": "kb-api", "ip": "10.0.0.1", "tool": "kb.search"}]}`

// oneLine joins a scenario onto one line, as JSON Lines wants.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func TestParse_Valid(t *testing.T) {
	in := "// a comment\n\n" + oneLine(minimal) + "\n"
	scs, err := Parse(strings.NewReader(in), "x.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(scs) != 1 {
		t.Fatalf("got %d scenarios, want 1", len(scs))
	}
	s := scs[0]
	switch {
	case s.ID != "t1" || s.Label != LabelBenign || s.File != "x.jsonl" || s.Line != 3:
		t.Errorf("got %s %s at %s:%d", s.ID, s.Label, s.File, s.Line)
	case s.Steps[0].At != (At{}) || s.Steps[1].At.Delay != time.Second:
		t.Errorf("at: got %+v and %+v, want +0s and the +1s default", s.Steps[0].At, s.Steps[1].At)
	case s.Steps[1].Session != "s1" || s.Steps[0].IP.String() != "10.0.0.1":
		t.Errorf("defaults: session %q ip %v", s.Steps[1].Session, s.Steps[0].IP)
	case s.Clients["agent"].Kind != "agent" || s.Resources["kb-api"].Sensitivity != 1:
		t.Errorf("registrations: %+v %+v", s.Clients, s.Resources)
	}
}

// TestParse_Errors checks that every malformed scenario is refused with the
// line and the field that is wrong.
func TestParse_Errors(t *testing.T) {
	tests := []struct {
		name      string
		old, new  string // replacement in minimal
		field     string
		errSubstr string
	}{
		{"invalid JSON", `"history": []`, `"history": [`, "", "invalid JSON"},
		{"not an object", minimal, `[1, 2]`, "scenario", "want an object"},
		{"unknown top-level field", `"history": []`, `"history": [], "extra": 1`, "extra", "unknown field"},
		{"unknown step field", `"tool": "kb.search"`, `"tool": "kb.search", "tools": "x"`, "steps[1].tools", "unknown field"},
		{"wrong type", `"sensitivity": 1`, `"sensitivity": "high"`, "resources.kb-api.sensitivity", "want an integer"},
		{"sensitivity out of range", `"sensitivity": 1`, `"sensitivity": 7`, "resources.kb-api.sensitivity", "not in 1..4"},
		{"missing id", `"id": "t1", `, ``, "id", "required"},
		{"missing start", `"start": "2026-03-17T10:00:00Z",`, ``, "start", "required"},
		{"bad start", `2026-03-17T10:00:00Z`, `yesterday`, "start", "RFC 3339"},
		{"bad label", `"label": "benign"`, `"label": "fine"`, "label", "not one of"},
		{"bad op", `"op": "introspect"`, `"op": "inspect"`, "steps[1].op", "not one of"},
		{"bad at", `"at": "+0s"`, `"at": "+5 minutes"`, "steps[0].at", "not a duration"},
		{"negative at", `"at": "+0s"`, `"at": "-5s"`, "steps[0].at", "before the previous"},
		{"bad ip", `"ip": "10.0.0.1", "tool"`, `"ip": "10.0.0.300", "tool"`, "steps[1].ip", "not an IP"},
		{"token without client", `"op": "token", "client": "agent",`, `"op": "token",`, "steps[0].client", "required"},
		{"unknown client", `"client": "agent"`, `"client": "ghost"`, "steps[0].client", "not one of the scenario's clients"},
		{"resource server as client", `"client": "agent"`, `"client": "kb-api"`, "steps[0].client", "resource_server"},
		{"introspect without rs", `"rs": "kb-api", `, ``, "steps[1].rs", "required"},
		{"rs not a resource server", `"rs": "kb-api"`, `"rs": "agent"`, "steps[1].rs", "not a resource_server"},
		{"bad kind", `"kind": "agent"`, `"kind": "robot"`, "clients.agent.kind", "not one of"},
		{"bad schedule", `"audiences": ["kb-api"]}`, `"audiences": ["kb-api"], "schedule": {"days": "Funday"}}`, "clients.agent.schedule", "Funday"},
		{"unknown schedule field", `"audiences": ["kb-api"]}`, `"audiences": ["kb-api"], "schedule": {"when": "x"}}`, "clients.agent.schedule.when", "unknown field"},
		{"bad network", `"audiences": ["kb-api"]}`, `"audiences": ["kb-api"], "networks": ["10.0.0.0/33"]}`, "clients.agent.networks", "10.0.0.0/33"},
		{"bad expect", `"tool": "kb.search"}`, `"tool": "kb.search", "expect": {"decision": "maybe"}}`, "steps[1].expect.decision", "not one of"},
		{"signal without event", `"op": "introspect", "rs": "kb-api",`, `"op": "signal",`, "steps[1].signal", "required"},
		{"bad signal type", `"op": "introspect", "rs": "kb-api",`, `"op": "signal", "signal": {"type": "boom"},`, "steps[1].signal.type", "not one of"},
		{"bad subject", `"tool": "kb.search"}`, `"tool": "kb.search", "subject": "first"}`, "steps[1].subject", "not one of"},
		{"history absolute time", `"history": []`, `"history": [{"sessions": 2, "every": "1d", "from": "-3d", "steps": [{"at": "2026-03-01T00:00:00Z", "op": "token", "client": "agent"}]}]`, "history[0].steps[0].at", "relative"},
		{"history bad duration", `"history": []`, `"history": [{"sessions": 2, "every": "daily", "steps": []}]`, "history[0].every", "not a duration"},
		{"history negative sessions", `"history": []`, `"history": [{"sessions": -1, "steps": []}]`, "history[0].sessions", "not in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(minimal, tt.old) {
				t.Fatalf("test case does not apply: %q not in the scenario", tt.old)
			}
			line := oneLine(strings.Replace(minimal, tt.old, tt.new, 1))
			_, err := Parse(strings.NewReader("// header\n"+line+"\n"), "bad.jsonl")
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a *ParseError", err)
			}
			if pe.File != "bad.jsonl" || pe.Line != 2 || pe.Field != tt.field || !strings.Contains(pe.Error(), tt.errSubstr) {
				t.Errorf("got %q (field %q), want bad.jsonl:2 field %q mentioning %q", pe.Error(), pe.Field, tt.field, tt.errSubstr)
			}
		})
	}
}

func TestParse_DuplicateID(t *testing.T) {
	line := oneLine(minimal)
	_, err := Parse(strings.NewReader(line+"\n"+line+"\n"), "dup.jsonl")
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 2 || pe.Field != "id" || !strings.Contains(pe.Error(), "line 1") {
		t.Fatalf("got %v, want dup.jsonl:2: id: already used on line 1", err)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"6h", 6 * time.Hour, true},
		{"-14d", -14 * 24 * time.Hour, true},
		{"-336h5m", -(336*time.Hour + 5*time.Minute), true},
		{"+150ms", 150 * time.Millisecond, true},
		{"1d12h", 36 * time.Hour, true},
		{"+0s", 0, true},
		{"", 0, false},
		{"d", 0, false},
		{"5", 0, false},
		{"1d-2h", 0, false},
		{"--5s", 0, false},
		{"x3d", 0, false},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

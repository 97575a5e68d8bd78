package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-auth/vigil/examples/internal/mcptest"
)

// TestAgent_RegistersAndWorks is the whole story against a real Vigil and
// the example tool server: discovery from the 401, registration with an
// initial access token, a DPoP-bound session by private_key_jwt, one
// exchanged token per tool call, a step-up answered, a refusal reported,
// and every call refused once an admin terminates the session.
func TestAgent_RegistersAndWorks(t *testing.T) {
	env := mcptest.Start(t)
	ctx := context.Background()
	a, err := Connect(ctx, Config{Server: env.MCPURL, InitialToken: env.InitialToken(t, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Registration == nil || !strings.HasPrefix(a.ClientID, "dcr-") {
		t.Fatalf("agent did not register: %+v", a.Registration)
	}
	tools, err := a.Tools(ctx)
	if err != nil || len(tools) != 4 {
		t.Fatalf("tools %v, %v", tools, err)
	}
	want := map[string]string{"tickets.get": "ok", "tickets.comment": "ok", "tickets.escalate": "ok after step-up",
		"tickets.delete": "refused"}
	for _, c := range script {
		_, _ = a.Call(ctx, c.tool, c.args)
	}
	steps := a.Steps()
	t.Logf("steps: %+v", steps)
	if len(steps) != len(script) {
		t.Fatalf("steps %+v", steps)
	}
	for _, s := range steps {
		if s.Outcome != want[s.Tool] {
			t.Errorf("%s: %s (%s), want %s", s.Tool, s.Outcome, s.Detail, want[s.Tool])
		}
	}
	if got, _ := a.Call(ctx, "tickets.get", map[string]any{"id": "T-1"}); !strings.Contains(got, "looking into it") ||
		!strings.Contains(got, "escalated") {
		t.Errorf("ticket after the script: %s", got)
	}
	if n := env.TerminateAll(t, a.ClientID); n != 1 {
		t.Fatalf("terminated %d sessions, want 1", n)
	}
	if _, err := a.Call(ctx, "tickets.get", map[string]any{"id": "T-1"}); err == nil {
		t.Error("a call after the session was terminated succeeded")
	}
}

// TestAgent_ConfiguredClient uses a client an admin configured, with its key.
func TestAgent_ConfiguredClient(t *testing.T) {
	env := mcptest.Start(t)
	k, err := loadKey(env.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := Connect(ctx, Config{Server: env.MCPURL, ClientID: "mcp-agent", Key: k})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Registration != nil {
		t.Error("a configured agent registered")
	}
	if _, err := a.Call(ctx, "tickets.get", map[string]any{"id": "T-2"}); err != nil {
		t.Fatal(err)
	}
}

// TestAgent_RegistrationNeedsInitialToken: without the token the
// registration endpoint answers 401 and the agent stops.
func TestAgent_RegistrationNeedsInitialToken(t *testing.T) {
	env := mcptest.Start(t)
	_, err := Connect(context.Background(), Config{Server: env.MCPURL})
	if err == nil || !strings.Contains(err.Error(), "invalid_token") {
		t.Fatalf("Connect without an initial token: %v", err)
	}
	if resp := env.Post(t, "", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("tool server without a token: %d", resp.StatusCode)
	}
}

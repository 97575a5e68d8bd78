package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/rs"
)

// fakeVigil answers introspection: the token names its scopes ("tok-" +
// scopes joined by "+"); it records the tool each call reported.
func fakeVigil(t *testing.T, tools *[]string) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, secret, _ := r.BasicAuth(); id != "rs1" || secret != "s" || r.ParseForm() != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		*tools = append(*tools, r.PostForm.Get("tool"))
		scopes, ok := strings.CutPrefix(r.PostForm.Get("token"), "tok-")
		answer := map[string]any{"active": false}
		if ok {
			answer = map[string]any{"active": true, "scope": strings.ReplaceAll(scopes, "+", " "), "client_id": "agent",
				"sub": "agent", "aud": "https://rs1.example", "exp": time.Now().Add(time.Hour).Unix(),
				"risk": map[string]any{"action": "allow", "level": "none", "score": 0, "reasons": []string{}}}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestMCP(t *testing.T) {
	var tools []string
	v := fakeVigil(t, &tools)
	m, err := rs.New(rs.Config{IntrospectionURL: v.URL, ClientID: "rs1", ClientSecret: "s", Audience: "https://rs1.example"},
		rs.WithTool(toolOf), rs.WithCache(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler(m, v.URL, "https://rs1.example", newTickets())
	tests := []struct {
		name, token, body string
		wantStatus        int
		wantTool          string
		wantText          string // substring of the answer
	}{
		{"list shows only granted tools", "tok-tickets.read", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, 200,
			"tools/list", `"name":"tickets.get"`},
		{"get", "tok-tickets.read", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"tickets.get","arguments":{"id":"T-1"}}}`,
			200, "tickets.get", `Printer on fire`},
		{"comment needs tickets.write", "tok-tickets.read",
			`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"tickets.comment","arguments":{"id":"T-1","text":"hi"}}}`,
			403, "tickets.comment", `insufficient_scope`},
		{"comment", "tok-tickets.read+tickets.write",
			`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"tickets.comment","arguments":{"id":"T-1","text":"hi"}}}`,
			200, "tickets.comment", `comment added`},
		{"inactive token", "revoked", `{"jsonrpc":"2.0","id":5,"method":"tools/list"}`, 401, "tools/list", `invalid_token`},
		{"unknown method", "tok-tickets.read", `{"jsonrpc":"2.0","id":6,"method":"nope"}`, 200, "nope", `-32601`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(tt.body))
			r.Header.Set("Authorization", "Bearer "+tt.token)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.wantStatus || !strings.Contains(w.Body.String(), tt.wantText) {
				t.Fatalf("got %d %s, want %d containing %s", w.Code, w.Body, tt.wantStatus, tt.wantText)
			}
			if got := tools[len(tools)-1]; got != tt.wantTool {
				t.Errorf("Vigil was told tool %q, want %q", got, tt.wantTool)
			}
		})
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/.well-known/oauth-protected-resource", nil))
	if !strings.Contains(w.Body.String(), `"resource":"https://rs1.example"`) {
		t.Errorf("metadata: %s", w.Body)
	}
}

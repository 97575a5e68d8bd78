package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/server"
)

const reloadConfig = `
clients:
  - id: ticket-agent
    kind: agent
    secret: ticket-agent-secret-0123456789abcdefghij
    grant_types: [client_credentials]
    scopes: [tickets.read]
    audiences: [https://tickets.example]
  - id: tickets-api
    kind: resource_server
    secret: tickets-api-secret-0123456789abcdefghijk
    introspect: [https://tickets.example]
resources:
  - audience: https://tickets.example
    sensitivity: 1
`

// postForm posts form with basic auth and returns the status and body.
func postForm(t *testing.T, u, user, pass string, form url.Values) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func adminPost(t *testing.T, base, token, path string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

// TestServeReload: a client removed from the file stops working at once on
// POST /admin/reload (its tokens are inactive, its session ended), a
// refused file changes nothing, and SIGHUP reloads too.
func TestServeReload(t *testing.T) {
	dir := t.TempDir()
	cfg, data := filepath.Join(dir, "vigil.yaml"), filepath.Join(dir, "data")
	writeFile(t, cfg, reloadConfig)
	s := startServe(t, map[string]string{"VIGIL_CONFIG": cfg, "VIGIL_DATA": data, "VIGIL_LISTEN": "127.0.0.1:0"})
	tokenBytes, err := os.ReadFile(filepath.Join(data, server.AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	admin := strings.TrimSpace(string(tokenBytes))

	code, body := postForm(t, s.url+"/oauth2/token", "ticket-agent", "ticket-agent-secret-0123456789abcdefghij",
		url.Values{"grant_type": {"client_credentials"}})
	if code != http.StatusOK {
		t.Fatalf("token = %d %s", code, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal([]byte(body), &tok)
	introspect := func() string {
		_, b := postForm(t, s.url+"/oauth2/introspect", "tickets-api", "tickets-api-secret-0123456789abcdefghijk", url.Values{"token": {tok.AccessToken}})
		return b
	}
	if got := introspect(); !strings.Contains(got, `"active":true`) {
		t.Fatalf("introspection before the reload = %s", got)
	}

	// A file that does not validate is refused whole.
	writeFile(t, cfg, strings.Replace(reloadConfig, "kind: agent", "kind: robot", 1))
	if code, m := adminPost(t, s.url, admin, "/admin/reload"); code != http.StatusBadRequest {
		t.Fatalf("reload of a bad file = %d %v", code, m)
	}
	if got := introspect(); !strings.Contains(got, `"active":true`) {
		t.Fatalf("a refused reload changed something: %s", got)
	}

	// Without ticket-agent, and with another access-token lifetime.
	shrunk := "access_token_ttl: 5m\n" + strings.Replace(reloadConfig, `  - id: ticket-agent
    kind: agent
    secret: ticket-agent-secret-0123456789abcdefghij
    grant_types: [client_credentials]
    scopes: [tickets.read]
    audiences: [https://tickets.example]
`, "", 1)
	writeFile(t, cfg, shrunk)
	code, m := adminPost(t, s.url, admin, "/admin/reload")
	if code != http.StatusOK {
		t.Fatalf("reload = %d %v", code, m)
	}
	if d, _ := json.Marshal(m["disabled_clients"]); string(d) != `["ticket-agent"]` {
		t.Errorf("disabled_clients = %s", d)
	}
	if ts, _ := m["terminated_sessions"].([]any); len(ts) != 1 {
		t.Errorf("terminated_sessions = %v", m["terminated_sessions"])
	}
	if r, _ := json.Marshal(m["restart_required"]); string(r) != `["access_token_ttl"]` {
		t.Errorf("restart_required = %s", r)
	}
	if got := strings.TrimSpace(introspect()); got != `{"active":false}` {
		t.Errorf("a removed client's token introspects as %s", got)
	}
	if code, _ := postForm(t, s.url+"/oauth2/token", "ticket-agent", "ticket-agent-secret-0123456789abcdefghij",
		url.Values{"grant_type": {"client_credentials"}}); code == http.StatusOK {
		t.Error("a removed client still gets tokens")
	}

	// SIGHUP: declaring the client again enables it.
	writeFile(t, cfg, reloadConfig)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, _ := postForm(t, s.url+"/oauth2/token", "ticket-agent", "ticket-agent-secret-0123456789abcdefghij",
			url.Values{"grant_type": {"client_credentials"}})
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SIGHUP did not reload the file:\n%s", s.logs.all())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := strings.TrimSpace(introspect()); got != `{"active":false}` {
		t.Errorf("re-enabling the client revived its old token: %s", got)
	}
}

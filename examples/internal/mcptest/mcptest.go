// Package mcptest runs Vigil and the example MCP tool server for tests:
// in-process by default, or the separately started servers named by
// VIGIL_URL, MCP_URL and VIGIL_ADMIN_TOKEN (as .ci/run starts them). Both
// serve testdata/vigil-mcp.yaml with @MCP_URL@ replaced by the tool
// server's MCP endpoint.
package mcptest

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vigil-auth/vigil/examples/internal/tickets"
	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/internal/secret"
	"github.com/vigil-auth/vigil/internal/server"
	"github.com/vigil-auth/vigil/internal/server/servertest"
)

// Env is a running Vigil with the example tool server in front of it.
type Env struct {
	VigilURL   string
	MCPURL     string
	AdminToken string
	// Secrets are the configured clients' secrets, by client ID.
	Secrets map[string]string
	// KeyFile is the private JWK of the configured key client mcp-agent.
	KeyFile string
}

// Dir is the examples module's directory.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Start returns the environment: the external one when VIGIL_URL is set,
// else servers started in-process for the life of the test.
func Start(t testing.TB) *Env {
	t.Helper()
	e := &Env{KeyFile: filepath.Join(Dir(), "testdata", "agent-key.json")}
	if u := os.Getenv("VIGIL_URL"); u != "" {
		e.VigilURL, e.MCPURL, e.AdminToken = u, os.Getenv("MCP_URL"), os.Getenv("VIGIL_ADMIN_TOKEN")
		if e.MCPURL == "" || e.AdminToken == "" {
			t.Fatal("VIGIL_URL needs MCP_URL and VIGIL_ADMIN_TOKEN")
		}
		e.Secrets = secrets(t, parse(t, e.MCPURL))
		return e
	}
	mcpLn := listen(t)
	e.MCPURL = "http://" + mcpLn.Addr().String() + "/mcp"
	f := parse(t, e.MCPURL)
	e.Secrets = secrets(t, f)
	e.VigilURL, e.AdminToken = startVigil(t, f)
	h, err := tickets.New(tickets.Options{Issuer: e.VigilURL, ClientID: "tickets-mcp", Secret: e.Secrets["tickets-mcp"],
		Resource: e.MCPURL})
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: mcpLn, Config: &http.Server{Handler: h}}
	srv.Start()
	t.Cleanup(srv.Close)
	return e
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// parse reads the configuration template for mcpURL.
func parse(t testing.TB, mcpURL string) *config.File {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Dir(), "testdata", "vigil-mcp.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := config.Parse(bytes.ReplaceAll(b, []byte("@MCP_URL@"), []byte(mcpURL)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func secrets(t testing.TB, f *config.File) map[string]string {
	out := map[string]string{}
	for _, c := range f.Clients {
		out[c.ID] = c.Secret
	}
	return out
}

// startVigil serves f in-process through the same [server.Open] as vigil
// serve, on a fresh data directory.
func startVigil(t testing.TB, f *config.File) (url, adminToken string) {
	t.Helper()
	adminToken = secret.Generate("vat_")
	srv := servertest.Start(t, f.Overlay(servertest.Settings()), server.WithConfigFile(f, ""),
		server.WithGetenv(servertest.Env(adminToken)))
	return srv.URL, adminToken
}

// Admin calls the admin API and decodes the answer into out (may be nil);
// it fails the test unless the status is want.
func (e *Env) Admin(t testing.TB, method, path string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.VigilURL+path, rd)
	req.Header.Set("Authorization", "Bearer "+e.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// InitialToken issues an initial access token for maxUses registrations.
func (e *Env) InitialToken(t testing.TB, maxUses int) string {
	t.Helper()
	var out struct {
		Token string `json:"token"`
	}
	e.Admin(t, http.MethodPost, "/admin/initial-access-tokens", map[string]any{"description": t.Name(),
		"max_uses": maxUses, "expires_in": "10m"}, http.StatusCreated, &out)
	return out.Token
}

// ActiveSessions returns the IDs of client's active sessions.
func (e *Env) ActiveSessions(t testing.TB, client string) []string {
	t.Helper()
	var out struct {
		Sessions []struct {
			SID string `json:"sid"`
		} `json:"sessions"`
	}
	e.Admin(t, http.MethodGet, "/admin/sessions?client="+client+"&status=active", nil, http.StatusOK, &out)
	var ids []string
	for _, s := range out.Sessions {
		ids = append(ids, s.SID)
	}
	return ids
}

// TerminateAll terminates every active session of client and returns how many.
func (e *Env) TerminateAll(t testing.TB, client string) int {
	t.Helper()
	ids := e.ActiveSessions(t, client)
	for _, sid := range ids {
		e.Admin(t, http.MethodPost, "/admin/sessions/"+sid+"/terminate", nil, http.StatusOK, nil)
	}
	return len(ids)
}

// Post sends a raw JSON-RPC message to the MCP endpoint with an
// Authorization header (empty for none).
func (e *Env) Post(t testing.TB, authorization, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.MCPURL, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

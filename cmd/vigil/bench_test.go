package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/server"
	"github.com/vigil-auth/vigil/internal/server/servertest"
)

func TestBenchFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--scenarios", "introspect,flood"}, `unknown scenario "flood"`},
		{[]string{"--agent", "a:b"}, "--agent needs --rs"},
		{[]string{"--report-only"}, "--report-only needs --spawn"},
		{[]string{"--connections", "-3"}, "connections -3"},
		{[]string{"extra"}, "want 0 argument"},
	}
	for _, tc := range cases {
		_, errOut, err := vigil(t, nil, append([]string{"bench"}, tc.args...)...)
		if err == nil || !strings.Contains(errOut, tc.want) {
			t.Errorf("bench %v: err %v, stderr %q; want %q", tc.args, err, errOut, tc.want)
		}
	}
}

// fullServer serves an in-process Vigil with the admin API on.
func fullServer(t *testing.T) string {
	t.Helper()
	s := servertest.Settings()
	s.DPoPNonce = false
	return servertest.Start(t, s, server.WithGetenv(servertest.Env(testAdminToken))).URL
}

// TestBenchRun drives an in-process Vigil briefly, registering the bench's
// own clients with the admin token, and writes the report files.
func TestBenchRun(t *testing.T) {
	addr := fullServer(t)
	out := filepath.Join(t.TempDir(), "bench")
	env := map[string]string{"VIGIL_ADMIN_TOKEN": testAdminToken}
	stdout := mustVigil(t, env, "bench", "--addr", addr, "--scenarios", "client_credentials,exchange",
		"--duration", "200ms", "--warmup", "0s", "--connections", "2", "--clients", "2", "--sessions", "10",
		"--json", "--out", out)
	var rep struct {
		Scenarios []struct {
			Name string
			Ops  []struct {
				OK, Errors int
			}
		}
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if len(rep.Scenarios) != 2 {
		t.Fatalf("scenarios: %+v", rep.Scenarios)
	}
	for _, s := range rep.Scenarios {
		if len(s.Ops) != 1 || s.Ops[0].OK == 0 || s.Ops[0].Errors != 0 {
			t.Errorf("%s: %+v", s.Name, s.Ops)
		}
	}
	text, err := os.ReadFile(out + ".txt")
	if err != nil || !strings.Contains(string(text), "== summary") {
		t.Errorf("text report: %v\n%s", err, text)
	}
	if _, err := os.Stat(out + ".json"); err != nil {
		t.Error(err)
	}
}

// TestBenchKeep: the bench removes the clients it registered, unless told
// to keep them for a server that is thrown away.
func TestBenchKeep(t *testing.T) {
	for _, keep := range []bool{false, true} {
		addr := fullServer(t)
		args := []string{"bench", "--addr", addr, "--scenarios", "client_credentials", "--duration", "100ms",
			"--warmup", "0s", "--connections", "1", "--clients", "1", "--json"}
		if keep {
			args = append(args, "--keep")
		}
		mustVigil(t, map[string]string{"VIGIL_ADMIN_TOKEN": testAdminToken}, args...)
		if got := benchClients(t, addr); (got > 0) != keep {
			t.Errorf("keep=%v: %d bench clients registered afterwards", keep, got)
		}
	}
}

// benchClients counts the clients a bench registered on addr.
func benchClients(t *testing.T, addr string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, addr+"/admin/clients", nil)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/clients: %d %s", resp.StatusCode, body)
	}
	return strings.Count(string(body), `"bench-`)
}

// TestBenchStartFile: with --start-file a prepared scenario waits for the
// file before it starts.
func TestBenchStartFile(t *testing.T) {
	addr := fullServer(t)
	start := filepath.Join(t.TempDir(), "start")
	done := make(chan string, 1)
	go func() {
		out, _, _ := vigil(t, map[string]string{"VIGIL_ADMIN_TOKEN": testAdminToken}, "bench", "--addr", addr,
			"--scenarios", "client_credentials", "--duration", "100ms", "--warmup", "0s", "--connections", "1",
			"--clients", "1", "--keep", "--json", "--start-file", start)
		done <- out
	}()
	select {
	case out := <-done:
		t.Fatalf("the bench finished before the start file existed:\n%s", out)
	case <-time.After(time.Second):
	}
	if err := os.WriteFile(start, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case out := <-done:
		if !strings.Contains(out, `"ok"`) {
			t.Errorf("report after the start file: %s", out)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the bench did not start once the file existed")
	}
}

package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestEveryCommandDocumented checks that every command run dispatches is
// listed by `vigil --help` and in the README's command-line section.
func TestEveryCommandDocumented(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## Command line")
	if !ok {
		t.Fatal("README has no Command line section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	help, _, err := vigil(t, nil, "--help")
	if err != nil {
		t.Fatal(err)
	}
	cases := regexp.MustCompile(`(?m)^\tcase "([a-z]+)"`).FindAllStringSubmatch(string(src), -1)
	if len(cases) < 10 {
		t.Fatalf("found only %d commands in main.go", len(cases))
	}
	for _, c := range cases {
		name := c[1]
		if name == "help" {
			continue
		}
		if !strings.Contains(help, "vigil "+name) {
			t.Errorf("vigil --help does not list %q", name)
		}
		if !strings.Contains(section, "vigil "+name) {
			t.Errorf("the README's command list does not list %q", name)
		}
	}
}

func TestHealth(t *testing.T) {
	ready := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/health/alive":
		case r.URL.Path == "/health/ready" && ready:
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	listen := strings.TrimPrefix(srv.URL, "http://")
	if out := mustVigil(t, map[string]string{"VIGIL_LISTEN": listen}, "health"); !strings.Contains(out, "/health/ready: ok") {
		t.Errorf("health via VIGIL_LISTEN = %q", out)
	}
	ready = false
	if _, _, err := vigil(t, nil, "health", "--addr", srv.URL); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("health of a server not ready: %v", err)
	}
	if out := mustVigil(t, nil, "health", "--addr", srv.URL, "--alive"); !strings.Contains(out, "ok") {
		t.Errorf("health --alive = %q", out)
	}
	srv.Close()
	if _, _, err := vigil(t, map[string]string{"VIGIL_ADDR": srv.URL}, "health"); err == nil {
		t.Error("health of a stopped server succeeded")
	}
}

// TestTokenFollowsListen checks that `vigil token` finds a local server
// through VIGIL_LISTEN like the admin commands do.
func TestTokenFollowsListen(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Path
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"active":false}`))
	}))
	defer srv.Close()
	env := map[string]string{"VIGIL_LISTEN": strings.TrimPrefix(srv.URL, "http://")}
	mustVigil(t, env, "token", "introspect", "--client", "rs", "--secret", "rs-secret-long-enough", "some-token")
	if got != "/oauth2/introspect" {
		t.Fatalf("token introspect reached %q, want the server at VIGIL_LISTEN", got)
	}
}

func TestConfigShow(t *testing.T) {
	cfg := t.TempDir() + "/vigil.yaml"
	writeFile(t, cfg, "listen: 127.0.0.1:7000\naccess_token_ttl: 10m\nclients:\n  - {id: a, kind: agent, secret: a-secret-that-must-not-show}\n")
	env := map[string]string{"VIGIL_CONFIG": cfg, "VIGIL_ACCESS_TOKEN_TTL": "5m", "VIGIL_SECRET": "kek-material-that-must-not-show-0123456789"}
	out := mustVigil(t, env, "config", "show", "--log-level", "debug")
	for _, want := range []string{
		"listen", "127.0.0.1:7000", "file",
		"VIGIL_ACCESS_TOKEN_TTL", "5m", "env",
		"log_level", "debug", "flag",
		"exchange_ttl", "default",
		"http://127.0.0.1:7000 (from listen)",
		"VIGIL_SECRET", redacted, "1 clients",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("config show lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"a-secret-that-must-not-show", "kek-material-that-must-not-show"} {
		if strings.Contains(out, secret) {
			t.Errorf("config show prints a secret:\n%s", out)
		}
	}
	js := mustVigil(t, env, "config", "show", "--json")
	if !strings.Contains(js, `"origin": "env"`) || strings.Contains(js, "must-not-show") {
		t.Errorf("config show --json =\n%s", js)
	}
	if _, _, err := vigil(t, map[string]string{"VIGIL_LOG_LEVEL": "loud"}, "config", "show"); err == nil || !strings.Contains(err.Error(), "log_level") {
		t.Errorf("a bad VIGIL_LOG_LEVEL: %v", err)
	}
}

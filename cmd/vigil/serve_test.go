package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/internal/server"
	"github.com/vigil-auth/vigil/storage/bolt"
)

// logLines collects a running server's stderr and announces its address.
type logLines struct {
	mu    sync.Mutex
	lines []string
	addr  chan string
}

// watch reads r line by line until it ends.
func (l *logLines) watch(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		l.mu.Lock()
		l.lines = append(l.lines, line)
		l.mu.Unlock()
		var rec struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
			l.addr <- rec.Addr
		}
	}
}

func (l *logLines) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// running is a "vigil serve" running in the test process.
type running struct {
	url  string
	logs *logLines
	stop func() error // cancels the context and returns serve's result
}

// startServe runs serve with args and env until the test ends or stop is
// called. It fails the test if serve ends before listening.
func startServe(t *testing.T, env map[string]string, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	logs := &logLines{addr: make(chan string, 1)}
	go logs.watch(pr)
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"serve"}, args...), func(k string) string { return env[k] }, io.Discard, pw)
		pw.Close()
		done <- err
	}()
	var once sync.Once
	var result error
	stop := func() error {
		once.Do(func() { cancel(); result = <-done })
		return result
	}
	t.Cleanup(func() { _ = stop() })
	select {
	case addr := <-logs.addr:
		return &running{url: "http://" + addr, logs: logs, stop: stop}
	case err := <-done:
		t.Fatalf("serve ended before listening: %v\n%s", err, logs.all())
	}
	return nil
}

func TestServeZeroConfig(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	s := startServe(t, nil, "--data", data, "--listen", "127.0.0.1:0")

	for name, mode := range map[string]os.FileMode{"": 0o700, server.DBFile: 0o600, "kek": 0o600, server.AdminTokenFile: 0o600} {
		fi, err := os.Stat(filepath.Join(data, name))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v mode %v, want %v", filepath.Join(data, name), err, fi.Mode().Perm(), mode)
		}
	}
	token, err := server.ReadSecretFile(filepath.Join(data, server.AdminTokenFile))
	if err != nil || !strings.HasPrefix(token, "vat_") {
		t.Fatalf("admin token %q: %v", token, err)
	}
	logs := s.logs.all()
	if !strings.Contains(logs, `"path":"`+filepath.Join(data, server.AdminTokenFile)+`"`) {
		t.Errorf("the admin token's path was not printed:\n%s", logs)
	}
	if strings.Contains(logs, "WARN") {
		t.Errorf("a zero-configuration start logged warnings:\n%s", logs)
	}
	if strings.Contains(logs, token) {
		t.Error("the admin token itself was logged")
	}

	var meta struct{ Issuer string }
	getJSON(t, s.url+"/.well-known/oauth-authorization-server", "", &meta)
	if meta.Issuer != s.url {
		t.Errorf("issuer = %q, want the listen address %q", meta.Issuer, s.url)
	}

	// The CLI finds the server and the token through the environment and data directory.
	env := map[string]string{"VIGIL_ADDR": s.url, "VIGIL_DATA": data}
	out := decode(t, mustVigil(t, env, "client", "create", "job-1", "--kind", "job", "--scopes", "reports.read"))
	if !strings.HasPrefix(out["client_secret"].(string), "vcs_") {
		t.Errorf("create through a real server = %v", out)
	}

	// A second server on the same data directory fails fast and clearly.
	_, errOut, err := vigil(t, nil, "serve", "--data", data, "--listen", "127.0.0.1:0")
	if !errors.Is(err, bolt.ErrLocked) || !strings.Contains(err.Error(), "in use by another vigil process") {
		t.Errorf("second serve: %v (%s)", err, errOut)
	}

	if err := s.stop(); err != nil {
		t.Fatalf("graceful shutdown returned %v", err)
	}
	if !strings.Contains(s.logs.all(), `"msg":"stopped"`) {
		t.Errorf("no clean stop logged:\n%s", s.logs.all())
	}
	st, err := bolt.Open(filepath.Join(data, server.DBFile))
	if err != nil {
		t.Fatalf("store still locked after shutdown: %v", err)
	}
	if _, err := st.GetClient(t.Context(), "job-1"); err != nil {
		t.Errorf("client created before shutdown is gone: %v", err)
	}
	st.Close()
}

const serveConfig = `
issuer: http://vigil.test
access_token_ttl: 10m
key_alg: EdDSA
policy:
  report_only: true
clients:
  - id: ticket-agent
    kind: agent
    secret: ticket-agent-secret-0123456789abcdefghij
    grant_types: [client_credentials]
    scopes: [tickets.read]
    audiences: [https://tickets.example]
resources:
  - audience: https://tickets.example
    sensitivity: 1
`

func TestServeConfigFile(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "vigil.yaml")
	writeFile(t, cfg, serveConfig)
	data := filepath.Join(dir, "data")
	env := map[string]string{"VIGIL_CONFIG": cfg, "VIGIL_DATA": data, "VIGIL_LISTEN": "127.0.0.1:0"}

	s := startServe(t, env)
	if !strings.Contains(s.logs.all(), "plain http on a non-loopback host") {
		t.Errorf("no warning about a plain-http issuer:\n%s", s.logs.all())
	}
	if !strings.Contains(s.logs.all(), `"changed":2`) {
		t.Errorf("first start did not apply 2 records:\n%s", s.logs.all())
	}
	var meta struct{ Issuer string }
	getJSON(t, s.url+"/.well-known/oauth-authorization-server", "", &meta)
	if meta.Issuer != "http://vigil.test" {
		t.Errorf("issuer = %q, want the file's", meta.Issuer)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"tickets.read"}}
	req, _ := http.NewRequest("POST", s.url+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("ticket-agent", "ticket-agent-secret-0123456789abcdefghij")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("token request with the configured secret = %d", res.StatusCode)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	again := startServe(t, env)
	if !strings.Contains(again.logs.all(), `"changed":0`) {
		t.Errorf("second start with the same file changed records:\n%s", again.logs.all())
	}
	if err := again.stop(); err != nil {
		t.Fatal(err)
	}
}

func TestServeRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "vigil.yaml")
	tests := []struct{ name, yaml, want string }{
		{"unknown key", "issuer: http://a\nclients:\n  - id: a\n    kind: agent\n    scope: [x]\n", `line 5: clients[0]: unknown key "scope"`},
		{"bad policy", "policy:\n  report_onyl: true\n", `policy: line 2: unknown key "report_onyl"`},
		{"bad settings", "key_alg: HS256\n", "key_alg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeFile(t, cfg, tt.yaml)
			data := filepath.Join(dir, "data-"+strings.ReplaceAll(tt.name, " ", "-"))
			_, _, err := vigil(t, nil, "serve", "--config", cfg, "--data", data, "--listen", "127.0.0.1:0")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("serve = %v, want an error containing %q", err, tt.want)
			}
			if _, err := os.Stat(data); !os.IsNotExist(err) {
				t.Errorf("a refused configuration still created %s", data)
			}
		})
	}
}

func TestServeTakenPortCreatesNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	data := filepath.Join(t.TempDir(), "data")
	_, _, err = vigil(t, nil, "serve", "--data", data, "--listen", ln.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Fatalf("serve on a taken port = %v", err)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("serve on a taken port created %s", data)
	}
}

func TestResolveSettingsPrecedence(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "vigil.yaml")
	writeFile(t, cfg, "listen: 127.0.0.1:7000\ndata: /file/data\nissuer: https://file.example\n")
	tests := []struct {
		name                 string
		opts                 serveOptions
		env                  map[string]string
		listen, data, issuer string
	}{
		{name: "defaults", listen: config.DefaultListen, data: config.DefaultData},
		{name: "file", opts: serveOptions{config: cfg}, listen: "127.0.0.1:7000", data: "/file/data", issuer: "https://file.example"},
		{name: "config path from env", env: map[string]string{"VIGIL_CONFIG": cfg}, listen: "127.0.0.1:7000", data: "/file/data", issuer: "https://file.example"},
		{name: "env over file", opts: serveOptions{config: cfg},
			env:    map[string]string{"VIGIL_LISTEN": "127.0.0.1:7001", "VIGIL_DATA": "/env/data", "VIGIL_ISSUER": "https://env.example"},
			listen: "127.0.0.1:7001", data: "/env/data", issuer: "https://env.example"},
		{name: "flags over env", opts: serveOptions{config: cfg, listen: "127.0.0.1:7002", data: "/flag/data", issuer: "https://flag.example"},
			env:    map[string]string{"VIGIL_LISTEN": "127.0.0.1:7001", "VIGIL_DATA": "/env/data", "VIGIL_ISSUER": "https://env.example"},
			listen: "127.0.0.1:7002", data: "/flag/data", issuer: "https://flag.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, s, err := resolveSettings(tt.opts, func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if s.Listen != tt.listen || s.Data != tt.data || s.Issuer != tt.issuer {
				t.Errorf("got listen %q data %q issuer %q", s.Listen, s.Data, s.Issuer)
			}
		})
	}
	if _, _, err := resolveSettings(serveOptions{listen: "nope"}, func(string) string { return "" }); err == nil {
		t.Error("an invalid listen address was accepted")
	}
}

func TestKeysRotateOffline(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	s := startServe(t, nil, "--data", data, "--listen", "127.0.0.1:0")
	if _, _, err := vigil(t, nil, "keys", "rotate", "--offline", "--data", data); !errors.Is(err, bolt.ErrLocked) {
		t.Errorf("offline rotation while the server runs: %v", err)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	out := mustVigil(t, nil, "keys", "rotate", "--offline", "--data", data)
	if !strings.Contains(out, "rotated signing key") {
		t.Errorf("offline rotation = %q", out)
	}
	st, err := bolt.Open(filepath.Join(data, server.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ks, _ := st.ListKeys(t.Context())
	if len(ks) != 2 || ks[0].RetiredAt.IsZero() || !ks[1].RetiredAt.IsZero() || ks[1].Alg != "ES256" {
		t.Errorf("keys after rotation = %+v", ks)
	}
	if _, _, err := vigil(t, nil, "keys", "rotate", "--offline", "--data", filepath.Join(data, "nope")); err == nil {
		t.Error("offline rotation of a missing data directory succeeded")
	}
}

func getJSON(t *testing.T, u, token string, out any) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d", u, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// TestExampleConfig keeps the annotated example loadable, valid, and
// accepted by the risk engine.
func TestExampleConfig(t *testing.T) {
	f, err := config.Load("testdata/vigil.example.yaml")
	if err == nil {
		err = f.Validate()
	}
	if err != nil {
		t.Fatal(err)
	}
	rsk, err := server.RiskFromSettings(f.Overlay(config.Defaults()))
	if err != nil || rsk == nil {
		t.Fatalf("policy: %v", err)
	}
	b, err := os.ReadFile("testdata/vigil.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range config.Fields {
		if !strings.Contains(string(b), "\n"+fd.Key+":") {
			t.Errorf("the annotated example does not show the setting %s", fd.Key)
		}
	}
}

// TestExampleFollowsListen checks that VIGIL_LISTEN alone moves the
// example server and its issuer (the example file pins no issuer).
func TestExampleFollowsListen(t *testing.T) {
	env := map[string]string{"VIGIL_CONFIG": "../../examples/vigil.yaml", "VIGIL_LISTEN": "127.0.0.1:9191"}
	_, s, err := resolveSettings(serveOptions{}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if s.Listen != "127.0.0.1:9191" || s.Issuer != "" || config.DefaultIssuer(s.Listen) != "http://127.0.0.1:9191" {
		t.Fatalf("listen %q issuer %q", s.Listen, s.Issuer)
	}
}

package config_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/internal/secret"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/memory"
)

var t0 = time.Date(2026, 3, 17, 10, 0, 0, 0, time.UTC)

func hasher(t *testing.T) *secret.Hasher {
	t.Helper()
	h, err := secret.NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestLoadExample(t *testing.T) {
	f, err := config.Load("testdata/example.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if err := f.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if len(f.Clients) != 4 || len(f.Resources) != 2 || len(f.TrustedIssuers) != 1 {
		t.Fatalf("got %d clients, %d resources, %d issuers", len(f.Clients), len(f.Resources), len(f.TrustedIssuers))
	}
	c := f.Clients[0]
	if c.ID != "ticket-agent" || c.Kind != storage.KindAgent || c.Secret == "" || c.SecretHash != "" {
		t.Errorf("client 0 = %+v", c)
	}
	if c.AccessTokenTTL.D() != 15*time.Minute || c.RefreshTokenTTL.D() != 720*time.Hour {
		t.Errorf("ttls = %v, %v", c.AccessTokenTTL.D(), c.RefreshTokenTTL.D())
	}
	if c.Schedule == nil || c.Schedule.Days != "Mon-Fri" || c.Schedule.Hours != "08:00-18:00" {
		t.Errorf("schedule = %+v", c.Schedule)
	}
	if got := strings.Join(c.Scopes, " "); got != "tickets:read tickets:write" {
		t.Errorf("scopes = %q", got)
	}
	if got := string(f.Clients[2].JWKS); !strings.HasPrefix(got, `{"keys":[{"crv":"P-256"`) {
		t.Errorf("jwks = %s", got)
	}
	if r := f.Resources[1]; r.Audience != "vault" || r.Sensitivity != 4 || r.Tactic != "credential_access" {
		t.Errorf("resource 1 = %+v", r)
	}
	if is := f.TrustedIssuers[0]; is.Subjects[0].ClientID != "signer" || is.Audience != "vigil" {
		t.Errorf("issuer = %+v", is)
	}
}

func TestOverlaySettings(t *testing.T) {
	f, err := config.Load("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := f.Overlay(config.Defaults())
	if s.AccessTokenTTL != 10*time.Minute || s.RefreshTokenTTL != config.DefaultRefreshTokenTTL {
		t.Errorf("ttls = %v, %v", s.AccessTokenTTL, s.RefreshTokenTTL)
	}
	if s.MaxChainDepth != 0 || s.KeyAlg != "EdDSA" || s.ExchangeTTL != 5*time.Minute {
		t.Errorf("settings = %+v", s)
	}
	if s.Policy == nil || s.Policy.Line != 9 {
		t.Fatalf("policy node = %+v, want a node from line 9", s.Policy)
	}
	var p struct{ Thresholds map[string]int }
	if err := s.Policy.Decode(&p); err != nil || p.Thresholds["deny"] != 70 {
		t.Errorf("policy decodes to %+v, %v", p, err)
	}
	if err := s.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if d := config.Defaults(); d.Policy != nil || d.MaxChainDepth != 3 || d.RefreshGrace != 10*time.Second {
		t.Errorf("Defaults() = %+v", d)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{name: "unknown top-level key", yaml: "issuer: http://a\nlisten_addr: x\n", want: []string{"line 2", `unknown key "listen_addr"`}},
		{name: "unknown client key", yaml: "clients:\n  - id: a\n    kind: agent\n    scope: [x]\n", want: []string{"line 4", `clients[0]: unknown key "scope"`}},
		{name: "unknown nested key", yaml: "clients:\n  - id: a\n    schedule:\n      day: Mon\n", want: []string{"line 4", "clients[0].schedule", `"day"`}},
		{name: "unknown resource key", yaml: "resources:\n  - audience: a\n    sensitive: 1\n", want: []string{"line 3", `"sensitive"`}},
		{name: "secret_hash refused", yaml: "clients:\n  - id: a\n    secret_hash: x\n", want: []string{"line 3", "secret_hash", "give secret"}},
		{name: "created_at refused", yaml: "resources:\n  - audience: a\n    created_at: 2020-01-01T00:00:00Z\n", want: []string{"line 3", "set by the server"}},
		{name: "bad duration", yaml: "clients:\n  - id: a\n    access_token_ttl: 15 minutes\n", want: []string{"line 3", "clients[0].access_token_ttl", "invalid duration"}},
		{name: "negative duration", yaml: "access_token_ttl: -5m\n", want: []string{"line 1", "negative"}},
		{name: "string for int", yaml: "resources:\n  - audience: a\n    sensitivity: high\n", want: []string{"line 3", "resources[0].sensitivity", `"high" is not a int`}},
		{name: "list for string", yaml: "issuer: [a]\n", want: []string{"line 1", "issuer: want a single value"}},
		{name: "mapping for list", yaml: "clients: {id: a}\n", want: []string{"line 1", "want a list"}},
		{name: "bool typo", yaml: "clients:\n  - id: a\n    dpop: maybe\n", want: []string{"line 3", "dpop"}},
		{name: "duplicate key", yaml: "issuer: http://a\nissuer: http://b\n", want: []string{"line 2", "duplicate key (first at line 1)"}},
		{name: "alias refused", yaml: "clients:\n  - &a {id: a}\n  - *a\n", want: []string{"line 3", "aliases"}},
		{name: "merge key refused", yaml: "clients:\n  - <<: {id: a}\n", want: []string{"merge keys"}},
		{name: "bad jwks string", yaml: "clients:\n  - id: a\n    jwks: '{nope'\n", want: []string{"line 3", "not valid JSON"}},
		{name: "two documents", yaml: "issuer: a\n---\nissuer: b\n", want: []string{"one YAML document"}},
		{name: "syntax error", yaml: "clients: [\n", want: []string{"yaml"}},
		{name: "every error reported", yaml: "a: 1\nb: 2\n", want: []string{`line 1: unknown key "a"`, `line 2: unknown key "b"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse succeeded, want error with %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseEmptyAndScalars(t *testing.T) {
	for _, in := range []string{"", "# only a comment\n", "clients: []\n", "clients:\n"} {
		f, err := config.Parse([]byte(in))
		if err != nil || len(f.Clients) != 0 {
			t.Errorf("Parse(%q) = %+v, %v", in, f, err)
		}
	}
	f, err := config.Parse([]byte("clients:\n  - id: 007\n    jwks: '{\"keys\": [ {\"kty\":\"OKP\"} ]}'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Clients[0].ID != "007" {
		t.Errorf("numeric-looking id = %q, want the text as written", f.Clients[0].ID)
	}
	if got := string(f.Clients[0].JWKS); got != `{"keys":[{"kty":"OKP"}]}` {
		t.Errorf("jwks from a string = %s, want it compacted", got)
	}
}

func TestFileValidate(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{name: "bad settings", yaml: "listen: nope\nkey_alg: RS256\nrefresh_grace: 1h\nissuer: ftp://x\n",
			want: []string{"listen:", "key_alg:", "refresh_grace:", "issuer:"}},
		{name: "duplicate client", yaml: "clients:\n  - {id: a, kind: agent, secret: aaaaaaaaaa}\n  - {id: a, kind: agent, secret: aaaaaaaaaa}\n",
			want: []string{`clients[1] (a): "a" is declared twice`}},
		{name: "bad client", yaml: "clients:\n  - {id: a, kind: robot, secret: short}\n",
			want: []string{"line 2: clients[0] (a)", "kind:", "secret: shorter than 8"}},
		{name: "missing required fields name their lines", yaml: "clients:\n  - id: a\n    secret: aaaaaaaaaa\n  - kind: agent\n    secret: aaaaaaaaaa\nresources:\n  - sensitivity: 2\n",
			want: []string{"line 2: clients[0] (a): kind:", "line 4: clients[1] (): id: must not be empty", "line 7: resources[0] (): audience: must not be empty"}},
		{name: "secret and jwks", yaml: "clients:\n  - {id: a, kind: agent, secret: aaaaaaaaaa, jwks_uri: 'https://a.example/j'}\n",
			want: []string{"not several"}},
		{name: "bad resource", yaml: "resources:\n  - {audience: a, sensitivity: 9}\n  - {audience: a, sensitivity: 1}\n",
			want: []string{"resources[0] (a): sensitivity", `resources[1] (a): "a" is declared twice`}},
		{name: "bad issuer", yaml: "trusted_issuers:\n  - {issuer: 'http://k8s.example', jwks_uri: 'https://k/j', audience: v}\n",
			want: []string{"trusted_issuers[0]", "must use https", "subjects:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := config.Parse([]byte(tt.yaml))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			err = f.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestValidateNamesFileAndLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.yaml")
	if err := os.WriteFile(path, []byte("listen: 127.0.0.1:0\nclients:\n  - kind: agent\n    secret: aaaaaaaaaa\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := path + ": line 3: clients[0] (): id: must not be empty"
	if err := f.Validate(); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Validate() = %v, want %q", err, want)
	}
}

func TestApplyIdempotent(t *testing.T) {
	ctx := t.Context()
	f, err := config.Load("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	store, h := memory.New(), hasher(t)
	n, err := f.Apply(ctx, store, h, t0)
	if err != nil || n != 7 {
		t.Fatalf("first Apply = %d, %v; want 7 changes", n, err)
	}
	n, err = f.Apply(ctx, store, h, t0.Add(time.Hour))
	if err != nil || n != 0 {
		t.Fatalf("second Apply = %d, %v; want 0 changes", n, err)
	}
	// A freshly loaded copy of the same file changes nothing either.
	again, _ := config.Load("testdata/example.yaml")
	if n, err := again.Apply(ctx, store, h, t0.Add(2*time.Hour)); err != nil || n != 0 {
		t.Fatalf("Apply of a reloaded file = %d, %v; want 0", n, err)
	}
	c, err := store.GetClient(ctx, "orchestrator")
	if err != nil {
		t.Fatal(err)
	}
	if !c.CreatedAt.Equal(t0) || !c.UpdatedAt.Equal(t0) {
		t.Errorf("timestamps = %v, %v; want both %v", c.CreatedAt, c.UpdatedAt, t0)
	}
	if h.Verify(c.SecretHash, "short-secret") != nil || strings.Contains(c.SecretHash, "short-secret") {
		t.Errorf("stored hash %q does not verify the secret", c.SecretHash)
	}
	if c.TokenFormat != "opaque" {
		t.Errorf("token_format = %q, want the default opaque", c.TokenFormat)
	}
	recs, err := store.ListAudit(ctx, storage.AuditFilter{})
	if err != nil || len(recs) != 7 {
		t.Fatalf("audit = %d records, %v; want 7", len(recs), err)
	}
	if r := recs[0]; r.Type != "admin" || r.Outcome != "created" || r.Reason != "config" || r.ClientID != "ticket-agent" {
		t.Errorf("audit[0] = %+v", r)
	}
}

func TestApplyChanges(t *testing.T) {
	ctx := t.Context()
	store, h := memory.New(), hasher(t)
	apply := func(yaml string, at time.Time) (int, error) {
		t.Helper()
		f, err := config.Parse([]byte(yaml))
		if err != nil {
			t.Fatal(err)
		}
		return f.Apply(ctx, store, h, at)
	}
	base := "clients:\n  - {id: a, kind: agent, secret: first-secret-0123456789abcdefghijklm, scopes: [x]}\n"
	if n, err := apply(base, t0); n != 1 || err != nil {
		t.Fatalf("create = %d, %v", n, err)
	}
	changed := strings.Replace(base, "[x]", "[x, y]", 1)
	if n, err := apply(changed, t0.Add(time.Hour)); n != 1 || err != nil {
		t.Fatalf("change = %d, %v", n, err)
	}
	c, _ := store.GetClient(ctx, "a")
	if !c.CreatedAt.Equal(t0) || !c.UpdatedAt.Equal(t0.Add(time.Hour)) || len(c.Scopes) != 2 {
		t.Errorf("after change: %+v", c)
	}
	// No credential in the file: the stored one is kept.
	noSecret := "clients:\n  - {id: a, kind: agent, scopes: [x, y]}\n"
	if n, err := apply(noSecret, t0.Add(2*time.Hour)); n != 0 || err != nil {
		t.Fatalf("apply without secret = %d, %v; want 0 (credential kept)", n, err)
	}
	// A new secret is a change.
	rotated := strings.Replace(changed, "first-secret", "other-secret", 1)
	if n, err := apply(rotated, t0.Add(3*time.Hour)); n != 1 || err != nil {
		t.Fatalf("rotate = %d, %v", n, err)
	}
	c, _ = store.GetClient(ctx, "a")
	if h.Verify(c.SecretHash, "other-secret-0123456789abcdefghijklm") != nil {
		t.Errorf("new secret does not verify")
	}
	// A new client without any credential is refused, and nothing is written.
	bad := "clients:\n  - {id: b, kind: agent}\nresources:\n  - {audience: r, sensitivity: 1}\n"
	if _, err := apply(bad, t0); err == nil || !strings.Contains(err.Error(), "needs a secret") {
		t.Fatalf("apply of client without credential: %v", err)
	}
	if _, err := store.GetResource(ctx, "r"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("failed apply wrote resource r: %v", err)
	}
}

func TestApplyRefusesInvalidFile(t *testing.T) {
	f := &config.File{Resources: []storage.Resource{{Audience: "a", Sensitivity: 0}}}
	if _, err := f.Apply(t.Context(), memory.New(), hasher(t), t0); err == nil {
		t.Fatal("Apply of an invalid file succeeded")
	}
}

func TestApplyStoreFailure(t *testing.T) {
	store := memory.New()
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	f := &config.File{Resources: []storage.Resource{{Audience: "a", Sensitivity: 1}}}
	if _, err := f.Apply(context.Background(), store, hasher(t), t0); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Apply on a closed store = %v, want ErrUnavailable", err)
	}
}

func TestDefaultIssuer(t *testing.T) {
	tests := map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		":9000":          "http://127.0.0.1:9000",
		"0.0.0.0:80":     "http://127.0.0.1:80",
		"[::]:8080":      "http://127.0.0.1:8080",
		"auth.local:443": "http://auth.local:443",
	}
	for in, want := range tests {
		if got := config.DefaultIssuer(in); got != want {
			t.Errorf("DefaultIssuer(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClusterAddress(t *testing.T) {
	tests := []struct{ set, listen, host, want string }{
		{"", "127.0.0.1:8441", "node-a", "http://127.0.0.1:8441"},
		{"", "0.0.0.0:8080", "node-a", "http://node-a:8080"},
		{"", ":8080", "node-a", "http://node-a:8080"},
		{"", "[::]:8080", "", "http://127.0.0.1:8080"},
		{"https://10.0.3.17:9443", "0.0.0.0:8080", "node-a", "https://10.0.3.17:9443"},
	}
	for _, tt := range tests {
		s := config.Defaults()
		s.ClusterURL = tt.set
		if got := s.ClusterAddress(tt.listen, tt.host); got != tt.want {
			t.Errorf("ClusterAddress(%q, %q) with cluster_url %q = %q, want %q", tt.listen, tt.host, tt.set, got, tt.want)
		}
	}
	for _, bad := range []string{"10.0.3.17:8080", "ftp://x", "http://x/?a=b"} {
		s := config.Defaults()
		s.ClusterURL = bad
		if err := s.Validate(); err == nil {
			t.Errorf("cluster_url %q accepted", bad)
		}
	}
	s := config.Defaults()
	s.ClusterURL = config.ClusterOff
	if err := s.Validate(); err != nil {
		t.Errorf("cluster_url off refused: %v", err)
	}
}

func TestLoadLimits(t *testing.T) {
	dir := t.TempDir()
	if _, err := config.Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte("# "+strings.Repeat("x", config.MaxFileSize)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized file: %v", err)
	}
}

func TestLoadConformanceShape(t *testing.T) {
	// Inline JSON key sets, quoted grant URNs and subject patterns.
	f, err := config.Parse([]byte(`
clients:
  - id: conf-pkjwt
    kind: workload
    jwks: {"keys":[{"kty":"EC","crv":"P-256","kid":"k","use":"sig","alg":"ES256","x":"aYQD-HD2B2UMXY7oUZKPBUKkjP1uxZ_6VJgon_GCyos","y":"yHZu_jUNg_hqQ4yyVrA-eroVxZpXuYSp2ZkZTn2NZOA"}]}
    grant_types: [client_credentials, refresh_token, "urn:ietf:params:oauth:grant-type:token-exchange"]
    scopes: [tickets.read]
    audiences: [https://rs1.example]
trusted_issuers:
  - issuer: https://workload-issuer.example
    jwks_uri: https://workload-issuer.example/jwks
    audience: vigil
    subjects:
      - subject: "system:serviceaccount:ci:*"
        client_id: conf-pkjwt
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	if n, err := f.Apply(t.Context(), memory.New(), hasher(t), t0); n != 2 || err != nil {
		t.Fatalf("Apply = %d, %v", n, err)
	}
}

func TestDecodeOverDefaults(t *testing.T) {
	type detector struct {
		Weight float64 `json:"weight"`
		Cap    int     `json:"cap"`
		Seen   uint    `json:"seen"`
	}
	type policy struct {
		ReportOnly bool                `json:"report_only"`
		HalfLife   storage.Duration    `json:"half_life"`
		Detectors  map[string]detector `json:"detectors"`
		Tiers      []int               `json:"tier_adjust"`
	}
	f, err := config.Parse([]byte("policy:\n  half_life: 30m\n  detectors:\n    ip_drift: {cap: 40}\n    velocity: {weight: 0.5, seen: 3}\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := policy{HalfLife: storage.Duration(time.Hour), Tiers: []int{0, 5},
		Detectors: map[string]detector{"ip_drift": {Weight: 1, Cap: 20}, "velocity": {Weight: 1, Cap: 10}}}
	if err := config.Decode(&f.Policy, &p); err != nil {
		t.Fatal(err)
	}
	if p.HalfLife.D() != 30*time.Minute || p.Detectors["ip_drift"] != (detector{Weight: 1, Cap: 40}) ||
		p.Detectors["velocity"] != (detector{Weight: 0.5, Cap: 10, Seen: 3}) || len(p.Tiers) != 2 {
		t.Errorf("decoded over defaults = %+v", p)
	}
	bad, _ := config.Parse([]byte("policy:\n  detectors:\n    ip_drift: {cap: 40, weigth: 2}\n"))
	if err := config.Decode(&bad.Policy, &p); err == nil || !strings.Contains(err.Error(), `line 3: detectors.ip_drift: unknown key "weigth"`) {
		t.Errorf("Decode of a misspelt key = %v", err)
	}
}

func TestYAMLToJSON(t *testing.T) {
	got, err := config.YAMLToJSON([]byte("id: a\nscopes: [x, y]\nsensitivity: 2\njwks: {keys: []}\nttl: 15m\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id":"a","jwks":{"keys":[]},"scopes":["x","y"],"sensitivity":2,"ttl":"15m"}`; string(got) != want {
		t.Errorf("YAMLToJSON = %s, want %s", got, want)
	}
	for _, in := range []string{"", "a: &x 1\nb: *x\n", "a: [\n"} {
		if _, err := config.YAMLToJSON([]byte(in)); err == nil {
			t.Errorf("YAMLToJSON(%q) succeeded", in)
		}
	}
}

func TestDecodeScalarErrors(t *testing.T) {
	var out struct {
		W float64 `json:"w"`
		U uint8   `json:"u"`
		I int8    `json:"i"`
	}
	for _, in := range []string{"w: .nan", "w: abc", "u: -1", "u: 300", "i: 128", "w: [1]"} {
		f, err := config.Parse([]byte("policy:\n  " + in + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		if err := config.Decode(&f.Policy, &out); err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("Decode(%q) = %v, want an error on line 2", in, err)
		}
	}
}

// TestIssuerSSF: a trusted issuer's ssf settings as docs/SIGNALS.md shows them.
func TestIssuerSSF(t *testing.T) {
	f, err := config.Parse([]byte(`trusted_issuers:
  - issuer: https://idp.example
    jwks_uri: https://idp.example/jwks
    audience: vigil
    subjects:
      - subject: svc-reports
        client_id: reports-job
    ssf:
      audience: https://vigil.example
      events: [https://schemas.openid.net/secevent/caep/event-type/session-revoked]
      max_age: 1h
      push_authorization: Bearer from-idp
      poll_url: https://idp.example/ssf/poll/123
      poll_authorization: Bearer to-idp
      poll_interval: 5s
`))
	if err != nil {
		t.Fatal(err)
	}
	s := f.TrustedIssuers[0].SSF
	if s == nil || s.Audience != "https://vigil.example" || len(s.Events) != 1 || s.MaxAge.D() != time.Hour ||
		s.PushAuthorization != "Bearer from-idp" || s.PollURL != "https://idp.example/ssf/poll/123" ||
		s.PollAuthorization != "Bearer to-idp" || s.PollInterval.D() != 5*time.Second {
		t.Fatalf("ssf = %+v", s)
	}
	if err := f.TrustedIssuers[0].Validate(); err != nil {
		t.Fatalf("valid settings refused: %v", err)
	}
	for name, edit := range map[string]func(*storage.IssuerSSF){
		"plain http poll_url":       func(s *storage.IssuerSSF) { s.PollURL = "http://idp.example/poll" },
		"two-line push credential":  func(s *storage.IssuerSSF) { s.PushAuthorization = "Bearer a\r\nX-Evil: 1" },
		"poll more than once a sec": func(s *storage.IssuerSSF) { s.PollInterval = storage.Duration(time.Millisecond) },
		"event type not a URI":      func(s *storage.IssuerSSF) { s.Events = []string{"session-revoked"} },
	} {
		i := f.TrustedIssuers[0]
		c := *i.SSF
		edit(&c)
		i.SSF = &c
		if err := i.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

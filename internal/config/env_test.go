package config_test

import (
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/vigil-auth/vigil/internal/config"
)

var update = flag.Bool("update", false, "rewrite docs/CONFIG.md")

// TestReferenceCurrent keeps docs/CONFIG.md generated from the code.
func TestReferenceCurrent(t *testing.T) {
	const path = "../../docs/CONFIG.md"
	want := config.Reference()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatal("docs/CONFIG.md is out of date: run make docs")
	}
}

// TestFieldsCoverSettings checks that every Settings field with a key is in
// Fields (so in the reference and the environment) and the other way round.
func TestFieldsCoverSettings(t *testing.T) {
	listed := map[string]bool{}
	for _, f := range config.Fields {
		if listed[f.Key] {
			t.Errorf("%s listed twice", f.Key)
		}
		listed[f.Key] = true
	}
	st := reflect.TypeFor[config.Settings]()
	tagged := 0
	for i := range st.NumField() {
		key := st.Field(i).Tag.Get("key")
		if key == "" {
			continue
		}
		tagged++
		if !listed[key] {
			t.Errorf("setting %s (%s) is not in config.Fields", key, st.Field(i).Name)
		}
	}
	if tagged != len(listed) {
		t.Errorf("%d tagged settings, %d fields", tagged, len(listed))
	}
	if !strings.Contains(config.Reference(), "`VIGIL_ACCESS_TOKEN_TTL`") {
		t.Error("reference lacks VIGIL_ACCESS_TOKEN_TTL")
	}
}

func TestResolvePrecedence(t *testing.T) {
	f, err := config.Parse([]byte("listen: 127.0.0.1:7000\naccess_token_ttl: 10m\nmax_chain_depth: 2\ndpop_nonce: false\nlog_level: warn\ndata_cache_mib: 64\n"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"VIGIL_ACCESS_TOKEN_TTL": "5m", "VIGIL_LISTEN": "127.0.0.1:7001", "VIGIL_KEY_ALG": "EdDSA",
		"VIGIL_REFRESH_GRACE": "0s", "VIGIL_LOG_LEVEL": "debug",
	}
	flags := map[string]string{"listen": "127.0.0.1:7002"}
	s, origins, err := config.Resolve(f, func(k string) string { return env[k] }, flags)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key, value string
		origin     config.Origin
	}{
		{"listen", "127.0.0.1:7002", config.OriginFlag},
		{"access_token_ttl", "5m", config.OriginEnv},
		{"key_alg", "EdDSA", config.OriginEnv},
		{"log_level", "debug", config.OriginEnv},
		{"refresh_grace", "0s", config.OriginEnv},
		{"max_chain_depth", "2", config.OriginFile},
		{"dpop_nonce", "false", config.OriginFile},
		{"exchange_ttl", "5m", config.OriginDefault},
		{"data", config.DefaultData, config.OriginDefault},
		{"data_cache_mib", "64", config.OriginFile},
	}
	for _, tt := range tests {
		if got := s.Value(tt.key); got != tt.value || origins[tt.key] != tt.origin {
			t.Errorf("%s = %q from %s, want %q from %s", tt.key, got, origins[tt.key], tt.value, tt.origin)
		}
	}
}

func TestResolveBadEnvironment(t *testing.T) {
	tests := []struct{ env, value, want string }{
		{"VIGIL_ACCESS_TOKEN_TTL", "soon", "VIGIL_ACCESS_TOKEN_TTL"},
		{"VIGIL_MAX_CHAIN_DEPTH", "two", "VIGIL_MAX_CHAIN_DEPTH"},
		{"VIGIL_DPOP_NONCE", "maybe", "VIGIL_DPOP_NONCE"},
		{"VIGIL_LOG_LEVEL", "loud", "log_level"},
		{"VIGIL_KEY_ALG", "HS256", "key_alg"},
		{"VIGIL_DATA_CACHE_MIB", "-1", "data_cache_mib"},
		{"VIGIL_DATA_CACHE_MIB", "lots", "VIGIL_DATA_CACHE_MIB"},
	}
	for _, tt := range tests {
		_, _, err := config.Resolve(nil, func(k string) string {
			if k == tt.env {
				return tt.value
			}
			return ""
		}, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s=%s: err %v, want one naming %s", tt.env, tt.value, err, tt.want)
		}
	}
}

func TestChanged(t *testing.T) {
	a := config.Defaults()
	b := a
	if got := config.Changed(a, b); len(got) != 0 {
		t.Fatalf("equal settings changed %v", got)
	}
	f, err := config.Parse([]byte("access_token_ttl: 5m\npolicy:\n  report_only: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	b = f.Overlay(a)
	if got := strings.Join(config.Changed(a, b), ","); got != "access_token_ttl,policy" {
		t.Fatalf("Changed = %s", got)
	}
}

// TestREADMESettingsDefaults keeps the README's settings table to the
// defaults the code applies (which take the token lifetimes and bounds
// from internal/limits): every row naming a setting shows its default.
func TestREADMESettingsDefaults(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	d := config.Defaults()
	known := map[string]bool{}
	for _, f := range config.Fields {
		known[f.Key] = true
	}
	rows := 0
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			continue
		}
		key := strings.Trim(strings.TrimSpace(cells[1]), "`")
		def := strings.TrimSpace(cells[2])
		if !known[key] || !strings.HasPrefix(def, "`") {
			continue
		}
		rows++
		if want := "`" + d.Value(key) + "`"; def != want {
			t.Errorf("README: %s defaults to %s, the code to %s", key, def, want)
		}
	}
	if rows < 5 {
		t.Errorf("found %d settings rows in the README, want the settings table", rows)
	}
}

// TestDataCacheZero checks that data_cache_mib: 0 (the page cache left to
// the kernel) is kept, from the file and the environment, not replaced by
// the default.
func TestDataCacheZero(t *testing.T) {
	f, err := config.Parse([]byte("data_cache_mib: 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s, _, err := config.Resolve(f, func(string) string { return "" }, nil); err != nil || s.DataCacheMiB != 0 {
		t.Errorf("file: data_cache_mib = %d, %v; want 0", s.DataCacheMiB, err)
	}
	env := func(k string) string {
		if k == "VIGIL_DATA_CACHE_MIB" {
			return "0"
		}
		return ""
	}
	if s, _, err := config.Resolve(nil, env, nil); err != nil || s.DataCacheMiB != 0 {
		t.Errorf("environment: data_cache_mib = %d, %v; want 0", s.DataCacheMiB, err)
	}
	if s, _, _ := config.Resolve(nil, func(string) string { return "" }, nil); s.DataCacheMiB != config.DefaultDataCacheMiB {
		t.Errorf("default data_cache_mib = %d, want %d", s.DataCacheMiB, config.DefaultDataCacheMiB)
	}
}

package config

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts the name of every setting's environment variable:
// VIGIL_ and the setting's key in upper case (VIGIL_ACCESS_TOKEN_TTL).
const EnvPrefix = "VIGIL_"

// Origin says where a setting's effective value came from.
type Origin string

// Origins, lowest precedence first: a flag overrides the environment, which
// overrides the file, which overrides the default.
const (
	OriginDefault Origin = "default"
	OriginFile    Origin = "file"
	OriginEnv     Origin = "env"
	OriginFlag    Origin = "flag"
)

// Field describes one server setting for the reference and for `vigil
// config show`.
type Field struct {
	// Key is the setting's key in the file.
	Key string
	// Flag is the `vigil serve` flag, without dashes; "" when there is none.
	Flag string
	// Doc says what the setting means.
	Doc string
}

// Env is the setting's environment variable.
func (f Field) Env() string { return EnvName(f.Key) }

// EnvName is the environment variable of the setting with key.
func EnvName(key string) string { return EnvPrefix + strings.ToUpper(key) }

// Fields lists every server setting, in the order of the reference. Each
// Key is a `key` tag of [Settings] (a test checks both ways).
var Fields = []Field{
	{"listen", "listen", "host:port the server listens on"},
	{"issuer", "issuer", "issuer URL (RFC 8414); empty means http://<listen>, with an unspecified host replaced by 127.0.0.1. Behind TLS, set the public https URL"},
	{"data", "data", "data directory: the database, the key-encryption key (unless VIGIL_SECRET is set), the admin token"},
	{"data_required", "", "the data directory already holds a database: a missing or empty one is refused at start instead of created (serve --init creates it); set it once the server has started for the first time"},
	{"data_cache_mib", "", "MiB of the bolt data file's pages the page cache keeps for the server; beyond it they are handed back to the kernel (every 5s) and read from the file again when needed (Linux 5.4 or later); 0 leaves the page cache to the kernel"},
	{"store", "store", "the database: bolt (the file in the data directory) or a postgres:// URL that several instances share (then set VIGIL_SECRET, the same on every instance); pool_max_conns and statement_timeout in the URL override the defaults (16, 5s)"},
	{"cluster_url", "cluster-url", "with a postgres:// store: the base URL where the other instances reach this one (its risk peer endpoint); empty means http://<listen> with an unspecified host replaced by the host name; off keeps this instance out of risk ownership (it judges what it receives itself)"},
	{"log_level", "log-level", "least level logged: debug, info, warn or error (the access log is at info)"},
	{"access_token_ttl", "", "access-token lifetime for clients that set none"},
	{"refresh_token_ttl", "", "refresh-token lifetime for clients that set none"},
	{"exchange_ttl", "", "lifetime of tokens minted per tool call (RFC 8693 exchange)"},
	{"refresh_grace", "", "a rotated refresh token presented again within this (same client, same DPoP key) is a lost response, not theft; 0s means no grace"},
	{"max_chain_depth", "", "longest RFC 8693 actor chain; 0 allows no delegation"},
	{"key_alg", "", "signing algorithm: ES256 or EdDSA"},
	{"key_rotate_after", "", "signing-key age at which it rotates (at least 1h); retired keys stay published until every token they signed has expired"},
	{"dpop_nonce", "", "DPoP proofs must carry a server nonce (RFC 9449 §8)"},
}

// Resolve merges, lowest first: the defaults, the file f (nil for none),
// the environment (read through getenv) and flags (setting key to value,
// only the flags given). It validates the result and returns it with the
// origin of each setting, by key. An environment variable or flag that
// does not parse is an error naming it.
func Resolve(f *File, getenv func(string) string, flags map[string]string) (Settings, map[string]Origin, error) {
	s := Defaults()
	origins := make(map[string]Origin, len(Fields))
	for _, fd := range Fields {
		origins[fd.Key] = OriginDefault
	}
	if f != nil {
		s = f.Overlay(s)
		for key := range f.settingsSet() {
			origins[key] = OriginFile
		}
	}
	var errs []error
	for _, fd := range Fields {
		if v := getenv(fd.Env()); v != "" {
			errs = append(errs, s.set(fd.Key, v, fd.Env()))
			origins[fd.Key] = OriginEnv
		}
	}
	for _, fd := range Fields {
		if v, ok := flags[fd.Key]; ok {
			errs = append(errs, s.set(fd.Key, v, "--"+fd.Flag))
			origins[fd.Key] = OriginFlag
		}
	}
	if err := errors.Join(errs...); err != nil {
		return s, origins, err
	}
	if err := s.Validate(); err != nil {
		return s, origins, fmt.Errorf("settings: %w", err)
	}
	return s, origins, nil
}

// settingsSet returns the keys of the settings the file sets.
func (f *File) settingsSet() map[string]bool {
	set := map[string]bool{}
	v := reflect.ValueOf(f).Elem()
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		if _, ok := settingField(name); ok && !v.Field(i).IsZero() {
			set[name] = true
		}
	}
	return set
}

// settingField returns the index of the Settings field with key.
func settingField(key string) (int, bool) {
	t := reflect.TypeFor[Settings]()
	for i := range t.NumField() {
		if t.Field(i).Tag.Get("key") == key {
			return i, true
		}
	}
	return 0, false
}

// set parses v as the setting key; from names the source in errors.
func (s *Settings) set(key, v, from string) error {
	i, ok := settingField(key)
	if !ok {
		return fmt.Errorf("%s: no setting %q", from, key)
	}
	fv := reflect.ValueOf(s).Elem().Field(i)
	bad := func(want string) error { return fmt.Errorf("%s: %q is not %s", from, v, want) }
	switch p := fv.Addr().Interface().(type) {
	case *string:
		*p = v
	case *time.Duration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return bad("a duration such as 15m")
		}
		*p = d
	case *int:
		n, err := strconv.Atoi(v)
		if err != nil {
			return bad("a whole number")
		}
		*p = n
	case *bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return bad("true or false")
		}
		*p = b
	default:
		return fmt.Errorf("%s: setting %q has an unsupported type", from, key)
	}
	return nil
}

// Value returns the setting key of s as text, as a file or the environment
// would write it.
func (s Settings) Value(key string) string {
	i, ok := settingField(key)
	if !ok {
		return ""
	}
	if key == "store" {
		return redactURL(s.Store)
	}
	switch v := reflect.ValueOf(s).Field(i).Interface().(type) {
	case time.Duration:
		return formatDuration(v)
	default:
		return fmt.Sprint(v)
	}
}

// formatDuration writes d briefly: 15m rather than 15m0s.
func formatDuration(d time.Duration) string {
	out := d.String()
	if strings.HasSuffix(out, "m0s") {
		out = strings.TrimSuffix(out, "0s")
	}
	if strings.HasSuffix(out, "h0m") {
		out = strings.TrimSuffix(out, "0m")
	}
	return out
}

// Changed names the settings (and "policy") whose values differ between a
// and b: what a reload cannot apply to a running server.
func Changed(a, b Settings) []string {
	out := []string{}
	for _, f := range Fields {
		if a.Value(f.Key) != b.Value(f.Key) {
			out = append(out, f.Key)
		}
	}
	if !bytes.Equal(policyText(a.Policy), policyText(b.Policy)) {
		out = append(out, "policy")
	}
	return out
}

func policyText(n *yaml.Node) []byte {
	if n == nil {
		return nil
	}
	b, err := yaml.Marshal(n)
	if err != nil {
		return []byte(err.Error())
	}
	return b
}

// redactURL hides the password of a URL.
func redactURL(v string) string {
	u, err := url.Parse(v)
	if err != nil || u.User == nil {
		return v
	}
	return u.Redacted()
}

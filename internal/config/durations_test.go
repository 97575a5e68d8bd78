package config_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/config"
)

// TestDurations_EveryKey tries zero on every duration key a configuration
// file has: zero means zero where it is meaningful (refresh_grace: no
// grace) and is refused where it is not (a lifetime, a rotation period, a
// record's TTL or cap). Nothing is silently replaced by a default.
func TestDurations_EveryKey(t *testing.T) {
	const client = "clients:\n  - id: c1\n    kind: service\n    secret: s3cret-s3cret-s3cret-s3cret-s3cret\n    grant_types: [client_credentials]\n"
	const resource = "resources:\n  - audience: https://api.example\n    sensitivity: 1\n"
	tests := []struct {
		key, doc string
		ok       bool
		check    func(config.Settings) bool
	}{
		{"refresh_grace", "refresh_grace: 0s\n", true, func(s config.Settings) bool { return s.RefreshGrace == 0 }},
		{"refresh_grace 1s", "refresh_grace: 1s\n", true, func(s config.Settings) bool { return s.RefreshGrace == time.Second }},
		{"access_token_ttl", "access_token_ttl: 0s\n", false, nil},
		{"refresh_token_ttl", "refresh_token_ttl: 0s\n", false, nil},
		{"exchange_ttl", "exchange_ttl: 0s\n", false, nil},
		{"key_rotate_after", "key_rotate_after: 0s\n", false, nil},
		{"key_rotate_after 0", "key_rotate_after: 0\n", false, nil},
		{"client access_token_ttl", client + "    access_token_ttl: 0s\n", false, nil},
		{"client refresh_token_ttl", client + "    refresh_token_ttl: 0s\n", false, nil},
		{"client exchange_ttl", client + "    exchange_ttl: 0s\n", false, nil},
		{"resource max_ttl", resource + "    max_ttl: 0s\n", false, nil},
		{"client assertion_compat max_lifetime", client + "    assertion_compat: {max_lifetime: 0s}\n", false, nil},
	}
	// Every duration setting is in the table.
	st := reflect.TypeFor[config.Settings]()
	for i := range st.NumField() {
		f := st.Field(i)
		if f.Type != reflect.TypeFor[time.Duration]() {
			continue
		}
		key := f.Tag.Get("key")
		if !slices.ContainsFunc(tests, func(tt struct {
			key, doc string
			ok       bool
			check    func(config.Settings) bool
		}) bool {
			return strings.Fields(tt.key)[0] == key
		}) {
			t.Errorf("the duration setting %s is not tried", key)
		}
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			f, err := config.Parse([]byte(tt.doc))
			if err == nil {
				err = f.Validate()
			}
			if tt.ok != (err == nil) {
				t.Fatalf("%q: err = %v, want ok=%v", tt.doc, err, tt.ok)
			}
			if !tt.ok {
				name := strings.Fields(tt.key)[len(strings.Fields(tt.key))-1]
				if !strings.Contains(err.Error(), name) && !strings.Contains(err.Error(), "zero") {
					t.Errorf("the error does not name the key: %v", err)
				}
				return
			}
			if s := f.Overlay(config.Defaults()); !tt.check(s) {
				t.Errorf("%q gave %+v", tt.doc, s)
			}
		})
	}
}

// TestDurations_Environment: the environment is a door for the same
// settings: VIGIL_REFRESH_GRACE=0s is no grace, a zero lifetime or
// rotation period is refused, never replaced by a default.
func TestDurations_Environment(t *testing.T) {
	tests := []struct {
		env string
		ok  bool
	}{
		{"VIGIL_REFRESH_GRACE", true},
		{"VIGIL_ACCESS_TOKEN_TTL", false},
		{"VIGIL_REFRESH_TOKEN_TTL", false},
		{"VIGIL_EXCHANGE_TTL", false},
		{"VIGIL_KEY_ROTATE_AFTER", false},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			s, _, err := config.Resolve(nil, func(k string) string {
				if k == tt.env {
					return "0s"
				}
				return ""
			}, nil)
			if tt.ok != (err == nil) {
				t.Fatalf("%s=0s: err = %v, want ok=%v", tt.env, err, tt.ok)
			}
			if tt.ok && s.RefreshGrace != 0 {
				t.Fatalf("%s=0s gave refresh_grace %s", tt.env, s.RefreshGrace)
			}
		})
	}
}

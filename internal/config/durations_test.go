package config_test

import (
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

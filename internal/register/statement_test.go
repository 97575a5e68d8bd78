package register

import (
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzUnverifiedIssuer feeds arbitrary software statements to the reader
// of their issuer, which runs before any signature is checked: no panic,
// an issuer whenever it answers, and nothing longer than the size bound.
func FuzzUnverifiedIssuer(f *testing.F) {
	enc := base64.RawURLEncoding.EncodeToString
	for _, s := range []string{"", "a.b.c", "..", "a.b", "a.b.c.d",
		enc([]byte(`{"alg":"ES256"}`)) + "." + enc([]byte(`{"iss":"https://publisher.example"}`)) + ".sig",
		"x." + enc([]byte(`{"iss":""}`)) + ".y", "x." + enc([]byte(`{"iss":7}`)) + ".y", "x.%%%.y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		iss, err := unverifiedIssuer(raw)
		if err != nil {
			return
		}
		if iss == "" || len(raw) > maxStatement || strings.Count(raw, ".") != 2 {
			t.Fatalf("unverifiedIssuer(%q) = %q", raw, iss)
		}
	})
}

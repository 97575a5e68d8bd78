package config_test

import (
	"os"
	"testing"

	"github.com/vigil-auth/vigil/internal/config"
)

// FuzzParse checks that no input makes Parse or Validate panic, and that a
// parsed file's settings can always be merged and validated.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(example),
		"",
		"issuer: http://a\nlisten_addr: x\n",
		"clients:\n  - &a {id: a}\n  - *a\n",
		"clients:\n  - <<: {id: a}\n",
		"clients:\n  - id: a\n    jwks: '{nope'\n",
		"clients:\n  - id: a\n    jwks: {keys: [[[[[[[]]]]]]]}\n",
		"max_chain_depth: 99999999999999999999\n",
		"policy: !!binary aGVsbG8=\n",
		"resources: [{audience: a, sensitivity: 0x10}]\n",
		"issuer: a\n---\nissuer: b\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cf, err := config.Parse(b)
		if err != nil {
			return
		}
		_ = cf.Validate()
		_ = cf.Overlay(config.Defaults()).Validate()
	})
}

package keys

import (
	"testing"
	"time"
)

func BenchmarkSign(b *testing.B) {
	for _, alg := range []string{ES256, EdDSA} {
		b.Run(alg, func(b *testing.B) {
			m, _, clk := newTestManager(b, Config{Alg: alg})
			claims := validClaims(clk.Now())
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Sign("at+jwt", claims); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, alg := range []string{ES256, EdDSA} {
		b.Run(alg, func(b *testing.B) {
			m, _, clk := newTestManager(b, Config{Alg: alg})
			raw, err := m.Sign("at+jwt", validClaims(clk.Now()))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				var out testClaims
				if err := m.Verify(raw, "at+jwt", &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseDPoPProof(b *testing.B) {
	now := time.Unix(1_800_000_000, 0)
	raw := makeProof(b, proofSpec{claims: baseClaims(now)})
	opts := DPoPOptions{Method: "POST", URL: tokenURL}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseDPoPProof(raw, now, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyWithJWKS(b *testing.B) {
	now := time.Now()
	ec, other := newECKey(b), newECKey(b)
	set := jwksOf(b, pubJWK(other, "other", "ES256"), pubJWK(ec, "ec", "ES256"))
	raw := signJWS(b, "ES256", ec, map[string]any{"kid": "ec"}, mustJSON(b, assertion(now)))
	algs := []string{"ES256"}
	b.ReportAllocs()
	for b.Loop() {
		var out testClaims
		if _, err := VerifyWithJWKS(raw, set, algs, &out); err != nil {
			b.Fatal(err)
		}
	}
}

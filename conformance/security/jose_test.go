package security

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// SECURITY.md §4.7: JWT access tokens, keys and JOSE parsing, at every place
// Vigil accepts a JOSE object: client assertions, subject tokens, DPoP
// proofs and introspection. Cases 72 and 73 are in conformance/protocol.

// joseEntry sends one JOSE object to one entry point and checks the refusal.
type joseEntry struct {
	name string
	send func(t *testing.T, e *env, tok string)
}

func joseEntries() []joseEntry {
	return []joseEntry{
		{"client assertion", func(t *testing.T, e *env, tok string) {
			r := e.post(t, pathToken, withAssertion(form("grant_type", "client_credentials"), tok))
			if r.status != 401 && r.status != 400 {
				t.Fatalf("got %d %s", r.status, r.raw)
			}
			wantRefused(t, r)
		}},
		{"subject token", func(t *testing.T, e *env, tok string) {
			wantRefused(t, e.post(t, pathToken, withAssertion(form("grant_type", grantExchange, "subject_token", tok,
				"subject_token_type", typeJWT), e.assertion(t, "pkjwt", nil))))
		}},
		{"DPoP proof", func(t *testing.T, e *env, tok string) {
			wantRefused(t, e.post(t, pathToken, form("grant_type", "client_credentials"), e.as("dpop"), header("DPoP", tok)))
		}},
		{"introspected token", func(t *testing.T, e *env, tok string) {
			r := e.introspect(t, "rs1", tok)
			if r.active() || r.status >= 500 {
				t.Fatalf("got %d %s", r.status, r.raw)
			}
		}},
	}
}

// SECURITY.md #75 (CVE-2025-27144, CVE-2025-30204): oversized and
// separator-stuffed tokens are refused by their length before any JOSE
// parsing.
func TestJOSE_75_SizeBeforeParsing(t *testing.T) {
	e := newEnv(t, withMemory(), withReportOnly())
	shapes := map[string]string{
		"15 KiB of dots":        strings.Repeat(".", 15<<10),
		"dots with a JWS shape": "eyJhbGciOiJFUzI1NiJ9." + strings.Repeat(".", 14<<10) + "x",
		"one huge segment":      strings.Repeat("A", 15<<10) + ".e30.AA",
	}
	for _, entry := range joseEntries() {
		for shape, tok := range shapes {
			t.Run(entry.name+"/"+shape, func(t *testing.T) { entry.send(t, e, tok) })
		}
	}
	t.Run("request header of 2 MiB", func(t *testing.T) {
		r := e.post(t, pathToken, form("grant_type", "client_credentials"), e.as("agent"),
			header("DPoP", strings.Repeat("a", 2<<20)))
		if r.status != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("got %d", r.status)
		}
	})
}

// SECURITY.md #76: JWE in any place a JWS is expected (PBES2 with an
// enormous iteration count, a DEFLATE payload, an unknown enc) is refused by
// the algorithm allow-list, before any key derivation.
func TestJOSE_76_JWERefused(t *testing.T) {
	e := newEnv(t, withMemory(), withReportOnly())
	hdrs := map[string]string{
		"PBES2 p2c 2^31": `{"alg":"PBES2-HS512+A256KW","enc":"A256GCM","p2c":2147483647,"p2s":"c2FsdHNhbHQ"}`,
		"DEFLATE":        `{"alg":"dir","enc":"A256GCM","zip":"DEF"}`,
		"unknown enc":    `{"alg":"RSA-OAEP","enc":"X-UNKNOWN"}`,
	}
	for _, entry := range joseEntries() {
		for name, h := range hdrs {
			jwe := b64([]byte(h)) + "." + b64(randomBytes(40)) + "." + b64(randomBytes(12)) + "." + b64(randomBytes(64)) + "." + b64(randomBytes(16))
			t.Run(entry.name+"/"+name, func(t *testing.T) { entry.send(t, e, jwe) })
		}
	}
	// A JWS whose header names a JWE or symmetric algorithm, signed anyway.
	for name, alg := range map[string]string{"PBES2": "PBES2-HS256+A128KW", "dir": "dir", "HS256": "HS256"} {
		t.Run("JWS labelled "+name, func(t *testing.T) {
			claims := e.assertionClaims("pkjwt", nil)
			e.wantAssertion(t, sign(t, e.keys["pkjwt"], map[string]any{"alg": alg, "kid": "pkjwt-key", "p2c": 2147483647}, claims), false)
		})
	}
}

// SECURITY.md #79, #80, #81: a trusted issuer's subject token with
// duplicate members, trailing data, a malformed aud, or several faults at
// once (expired and badly signed) is refused.
func TestJOSE_79_80_81_SubjectTokenClaims(t *testing.T) {
	e := newEnv(t, withMemory(), withReportOnly())
	now := e.clock.Now()
	good := `{"iss":"` + workloadIssuer + `","sub":"system:serviceaccount:ci:builder","aud":"vigil","iat":` + itoa(now.Unix()) +
		`,"exp":` + itoa(now.Add(10*time.Minute).Unix()) + `}`
	hdr := mustJSON(t, map[string]any{"alg": "ES256", "kid": "wl-1"})
	ex := func(tok string) result {
		return e.post(t, pathToken, withAssertion(form("grant_type", grantExchange, "subject_token", tok,
			"subject_token_type", typeJWT, "audience", rs1), e.assertion(t, "pkjwt", nil)))
	}
	cases := map[string]string{
		"sub twice":        strings.TrimSuffix(good, "}") + `,"sub":"system:serviceaccount:ci:other"}`,
		"exp twice":        strings.TrimSuffix(good, "}") + `,"exp":` + itoa(now.Add(24*time.Hour).Unix()) + `}`,
		"trailing garbage": good + "garbage",
		"aud empty list":   strings.Replace(good, `"aud":"vigil"`, `"aud":[]`, 1),
		"aud empty string": strings.Replace(good, `"aud":"vigil"`, `"aud":[""]`, 1),
		"aud a number":     strings.Replace(good, `"aud":"vigil"`, `"aud":123`, 1),
		"aud mixed":        strings.Replace(good, `"aud":"vigil"`, `"aud":["vigil",{"x":1}]`, 1),
		"no exp":           strings.Replace(good, `,"exp":`+itoa(now.Add(10*time.Minute).Unix()), ``, 1),
	}
	for name, payload := range cases {
		t.Run(name, func(t *testing.T) {
			if payload == good {
				t.Fatal("the case did not change the claims")
			}
			wantError(t, ex(signRaw(t, e.issuerKey, hdr, []byte(payload))), 400, "invalid_request")
		})
	}
	t.Run("expired and badly signed", func(t *testing.T) {
		expired := strings.Replace(good, itoa(now.Add(10*time.Minute).Unix()), itoa(now.Add(-time.Hour).Unix()), 1)
		tok := signRaw(t, e.issuerKey, hdr, []byte(expired))
		wantError(t, ex(tok[:len(tok)-6]+"AAAAAA"), 400, "invalid_request")
	})
	t.Run("control: unchanged", func(t *testing.T) {
		if r := ex(signRaw(t, e.issuerKey, hdr, []byte(good))); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	})
}

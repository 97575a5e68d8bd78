package security

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

// SECURITY.md §4.4: introspection. Cases 48-52 and 56 are in
// conformance/protocol.

// SECURITY.md #53: a bearer credential is not caller authentication, not
// even when it is the very token being introspected.
func TestIntrospection_53_BearerIsNotACaller(t *testing.T) {
	e := newEnv(t, withMemory())
	at := e.cc(t, "agent", "audience", rs1).str("access_token")
	tests := []struct {
		name string
		f    []string
		opt  reqOpt
	}{
		{"the token itself as bearer", nil, header("Authorization", "Bearer "+at)},
		{"another access token as bearer", nil, header("Authorization", "Bearer "+e.cc(t, "agent").str("access_token"))},
		{"DPoP scheme", nil, header("Authorization", "DPoP "+at)},
		{"the token as client_id", []string{"client_id", at}, header("X-Nothing", "")},
		{"the token as client_secret of rs1", []string{"client_id", "rs1", "client_secret", at}, header("X-Nothing", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post(t, pathIntrospect, form(append([]string{"token", at}, tt.f...)...), tt.opt)
			if r.status != 401 || r.body["active"] != nil {
				t.Fatalf("got %d %s, want 401 and no verdict", r.status, r.raw)
			}
		})
	}
	wantActive(t, e.introspect(t, "rs1", at))
}

// SECURITY.md #54 (RFC 7662 §4): a caller that presents many tokens that do
// not exist is throttled with 429 and Retry-After; it never learns of an
// active token; other callers and tokens that exist are unaffected.
func TestIntrospection_54_ScanningThrottled(t *testing.T) {
	e := newEnv(t, withMemory(), withReportOnly())
	valid := e.cc(t, "agent", "audience", rs1).str("access_token")
	revoked := e.cc(t, "agent", "audience", rs1).str("access_token")
	e.revoke(t, "agent", revoked)
	// Tokens that exist cost nothing, active or not.
	for range 400 {
		wantActive(t, e.introspect(t, "rs1", valid))
		wantInactive(t, e.introspect(t, "rs1", revoked))
	}
	throttled := -1
	for i := range 1000 {
		r := e.introspect(t, "rs1", "vgl_at_"+b64(randomBytes(32)))
		if r.active() {
			t.Fatalf("a guessed token is active: %s", r.raw)
		}
		if r.status == 429 {
			throttled = i
			if r.header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
			break
		}
		wantInactive(t, r)
	}
	if throttled < 0 {
		t.Fatal("1000 unknown tokens from one caller were never throttled")
	}
	t.Logf("throttled after %d unknown tokens", throttled)
	// A token that exists is never throttled: the answers for valid tokens
	// do not degrade, whoever sent the unknown ones.
	wantActive(t, e.introspect(t, "rs1", valid))
	wantError(t, e.introspect(t, "rs1", "vgl_at_"+b64(randomBytes(32))), 429, "temporarily_unavailable")
	// Another resource server is not affected.
	wantInactive(t, e.introspect(t, "rs2", "vgl_at_"+b64(randomBytes(32))))
	// The budget refills with time.
	e.clock.Advance(time.Second)
	wantInactive(t, e.introspect(t, "rs1", "vgl_at_"+b64(randomBytes(32))))
}

// The scanning throttle cannot be turned on an honest resource server: a
// client that sends it unknown tokens (the server reports the client's
// address as ip) throttles only the unknown tokens from that address; the
// server's introspections of valid tokens, from that address or any other,
// keep their answers.
func TestIntrospection_54_ScanningThroughHonestServer(t *testing.T) {
	e := newEnv(t, withMemory(), withReportOnly())
	valid := e.cc(t, "agent", "audience", rs1).str("access_token")
	const attacker, honest = "203.0.113.66", "198.51.100.7"
	seen429 := false
	for range 400 {
		r := e.introspect(t, "rs1", "vgl_at_"+b64(randomBytes(32)), "ip", attacker)
		if r.status == 429 {
			seen429 = true
		}
		wantActive(t, e.introspect(t, "rs1", valid, "ip", honest))
		wantActive(t, e.introspect(t, "rs1", valid))
	}
	if !seen429 {
		t.Fatal("400 unknown tokens from one origin were never throttled")
	}
	wantActive(t, e.introspect(t, "rs1", valid, "ip", attacker))
	wantInactive(t, e.introspect(t, "rs1", "vgl_at_"+b64(randomBytes(32)), "ip", honest))
	wantInactive(t, e.introspect(t, "rs1", "vgl_at_"+b64(randomBytes(32))))
}

// SECURITY.md #55: the same token asked about by different callers and in
// different contexts, interleaved, gets each caller its own answer.
func TestIntrospection_55_AnswerPerCaller(t *testing.T) {
	e := newEnv(t, withMemory(), withReportOnly())
	at := e.cc(t, "agent", "audience", rs1).str("access_token")
	for i := range 50 {
		wantActive(t, e.introspect(t, "rs1", at, "tool", "t"+itoa(int64(i))))
		wantInactive(t, e.introspect(t, "rs2", at, "tool", "t"+itoa(int64(i))))
		j := e.post(t, pathIntrospect, form("token", at), e.as("rs2"), header("Accept", "application/token-introspection+jwt"))
		parts := strings.Split(string(j.raw), ".")
		if j.status != 200 || len(parts) != 3 {
			t.Fatalf("JWT answer: %d %s", j.status, j.raw)
		}
		claims := string(mustDecode(t, parts[1]))
		if !strings.Contains(claims, `"aud":"rs2"`) || !strings.Contains(claims, `"token_introspection":{"active":false}`) {
			t.Fatalf("rs2's signed answer: %s", claims)
		}
	}
}

func mustDecode(t testing.TB, seg string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("base64url %q: %v", seg, err)
	}
	return b
}

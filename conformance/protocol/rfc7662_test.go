package protocol

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestRFC7662_2_2_ActiveResponse(t *testing.T) {
	tg := newTarget(t)
	at := tg.cc(t, "conf-agent", "scope", "tickets.read", "audience", "https://rs1.example").str("access_token")
	r := tg.introspect(t, "conf-rs1", at)
	if r.status != 200 || r.body["active"] != true {
		t.Fatalf("introspect: %d %s", r.status, r.raw)
	}
	for _, k := range []string{"scope", "client_id", "sub", "aud", "iss", "exp", "iat", "nbf", "jti", "token_type", "sid"} {
		if _, ok := r.body[k]; !ok {
			t.Errorf("active answer lacks %q: %s", k, r.raw)
		}
	}
	if r.str("client_id") != "conf-agent" || r.str("scope") != "tickets.read" || r.str("iss") != tg.issuer {
		t.Fatalf("claims: %s", r.raw)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Fatal("introspection answer is cacheable")
	}
}

// SECURITY.md #48: no or bad caller authentication is 401, never a verdict.
func TestRFC7662_2_1_CallerMustAuthenticate(t *testing.T) {
	tg := newTarget(t)
	at := tg.cc(t, "conf-agent").str("access_token")
	wantError(t, tg.post(t, pathIntrospect, form("token", at)), 401, "invalid_client")
	wantError(t, tg.post(t, pathIntrospect, form("token", at), basic("conf-rs1", "wrong")), 401, "invalid_client")
	// A client that may not introspect is not a resource server.
	if r := tg.post(t, pathIntrospect, form("token", at), tg.as("conf-other")); r.status != 401 {
		t.Fatalf("non-introspecting client got %d %s", r.status, r.raw)
	}
}

// SECURITY.md #49: a resource server learns nothing about tokens not meant for it.
func TestRFC7662_4_AudienceRestricted(t *testing.T) {
	tg := newTarget(t)
	at := tg.cc(t, "conf-agent", "audience", "https://rs1.example").str("access_token")
	wantInactive(t, tg.introspect(t, "conf-rs2", at))
	if r := tg.introspect(t, "conf-rs1", at); r.body["active"] != true {
		t.Fatalf("rs1: %s", r.raw)
	}
}

// SECURITY.md #51, #52: every inactive case is byte-identical.
func TestRFC7662_2_2_InactiveIsIdentical(t *testing.T) {
	tg := newTarget(t)
	first := tg.cc(t, "conf-agent", "audience", "https://rs1.example")
	revoked := tg.cc(t, "conf-agent", "audience", "https://rs1.example").str("access_token")
	if r := tg.post(t, pathRevoke, form("token", revoked), tg.as("conf-agent")); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	cases := map[string]string{
		"never issued":    "vgl_at_" + strings.Repeat("A", 43),
		"random":          randomID() + randomID(),
		"malformed":       "a.b",
		"revoked":         revoked,
		"refresh token":   first.str("refresh_token"),
		"other audience":  tg.cc(t, "conf-agent", "audience", "https://rs2.example").str("access_token"),
		"unicode garbage": "\u00e9\u00e8\u0000x",
	}
	var want []byte
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			r := tg.introspect(t, "conf-rs1", tok)
			wantInactive(t, r)
			if want == nil {
				want = r.raw
			} else if !bytes.Equal(want, r.raw) {
				t.Fatalf("body differs: %s vs %s", r.raw, want)
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Fatal("inactive answer is cacheable")
			}
		})
	}
}

func TestRFC7662_2_2_ExpiredIsInactive(t *testing.T) {
	tg := newTarget(t)
	clk := tg.needClock(t)
	at := tg.cc(t, "conf-agent").str("access_token")
	clk.Advance(24 * time.Hour)
	wantInactive(t, tg.introspect(t, "conf-rs1", at))
}

// A wrong token_type_hint does not make introspection fail (RFC 7662 §2.1).
func TestRFC7662_2_1_HintIsOnlyAHint(t *testing.T) {
	tg := newTarget(t)
	at := tg.cc(t, "conf-agent").str("access_token")
	for _, hint := range []string{"refresh_token", "nonsense"} {
		if r := tg.introspect(t, "conf-rs1", at, "token_type_hint", hint); r.body["active"] != true {
			t.Fatalf("hint %q: %s", hint, r.raw)
		}
	}
}

func TestRFC7662_2_1_TokenRequired(t *testing.T) {
	tg := newTarget(t)
	wantError(t, tg.post(t, pathIntrospect, url.Values{"token_type_hint": {"access_token"}}, tg.as("conf-rs1")), 400, "invalid_request")
}

// Vigil's risk member rides on every active answer (RISK.md).
func TestRFC7662_2_2_RiskMember(t *testing.T) {
	tg := newTarget(t)
	at := tg.cc(t, "conf-agent").str("access_token")
	r := tg.introspect(t, "conf-rs1", at, "tool", "tickets.get", "ip", "127.0.0.1")
	risk, ok := r.body["risk"].(map[string]any)
	if !ok {
		t.Skip("no risk member: not a Vigil server")
	}
	for _, k := range []string{"level", "score", "action", "reasons"} {
		if _, ok := risk[k]; !ok {
			t.Errorf("risk lacks %q: %s", k, r.raw)
		}
	}
}

// RFC 9701 §5; SECURITY.md #50: a signed answer, and nothing embedded when inactive.
func TestRFC9701_5_JWTResponse(t *testing.T) {
	tg := newTarget(t)
	at := tg.cc(t, "conf-agent", "audience", "https://rs1.example").str("access_token")
	for name, tc := range map[string]struct {
		rs     string
		active bool
	}{"active": {"conf-rs1", true}, "not meant for caller": {"conf-rs2", false}} {
		t.Run(name, func(t *testing.T) {
			r := tg.introspect(t, tc.rs, at)
			r = tg.post(t, pathIntrospect, form("token", at), tg.as(tc.rs), header("Accept", "application/token-introspection+jwt"))
			if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/token-introspection+jwt") {
				t.Fatalf("got %d %q", r.status, r.header.Get("Content-Type"))
			}
			hdr, claims := splitJWT(t, string(r.raw))
			if hdr["typ"] != "token-introspection+jwt" {
				t.Fatalf("typ = %v", hdr["typ"])
			}
			if claims["iss"] != tg.issuer || claims["aud"] != tc.rs || claims["iat"] == nil {
				t.Fatalf("claims: %v", claims)
			}
			ti, _ := claims["token_introspection"].(map[string]any)
			if ti["active"] != tc.active || (!tc.active && len(ti) != 1) {
				t.Fatalf("token_introspection = %v", ti)
			}
			verifyWithJWKS(t, tg, string(r.raw))
		})
	}
}

func splitJWT(t *testing.T, raw string) (map[string]any, map[string]any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", raw)
	}
	var h, c map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Unmarshal(hb, &h) != nil || json.Unmarshal(cb, &c) != nil {
		t.Fatalf("undecodable JWS %q", raw)
	}
	return h, c
}

// RFC 7662 §2.2: jti is the token's identifier. A JWT access token answers
// with its own jti claim, in the JSON and the RFC 9701 answers alike; an
// opaque token with a stable identifier that is not its storage key (the
// SHA-256 of the token).
func TestRFC7662_2_2_JTIIsTheTokens(t *testing.T) {
	tg := newTarget(t)
	jwtAT := tg.cc(t, "conf-jwt", "scope", "tickets.read").str("access_token")
	_, claims := splitJWT(t, jwtAT)
	if got := tg.introspect(t, "conf-rs1", jwtAT).str("jti"); got == "" || got != claims["jti"] {
		t.Fatalf("introspection jti = %q, the token's jti claim = %v", got, claims["jti"])
	}
	r := tg.post(t, pathIntrospect, form("token", jwtAT), tg.as("conf-rs1"), header("Accept", "application/token-introspection+jwt"))
	_, signed := splitJWT(t, string(r.raw))
	if ti, _ := signed["token_introspection"].(map[string]any); ti["jti"] != claims["jti"] {
		t.Fatalf("RFC 9701 jti = %v, the token's jti claim = %v", ti["jti"], claims["jti"])
	}

	opaque := tg.cc(t, "conf-agent", "audience", "https://rs1.example").str("access_token")
	first, again := tg.introspect(t, "conf-rs1", opaque).str("jti"), tg.introspect(t, "conf-rs1", opaque).str("jti")
	sum := sha256.Sum256([]byte(opaque))
	switch {
	case first == "" || first != again:
		t.Fatalf("opaque jti not stable: %q then %q", first, again)
	case first == base64.RawURLEncoding.EncodeToString(sum[:]) || strings.Contains(base64.RawURLEncoding.EncodeToString(sum[:]), first):
		t.Fatalf("opaque jti %q reveals the storage key", first)
	}
	other := tg.cc(t, "conf-agent", "audience", "https://rs1.example").str("access_token")
	if tg.introspect(t, "conf-rs1", other).str("jti") == first {
		t.Fatal("two tokens answer the same jti")
	}
}

package protocol

import (
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/limits"
)

func TestRFC7523_2_2_PrivateKeyJWT(t *testing.T) {
	tg := newTarget(t)
	a := tg.assertion(t, "conf-pkjwt", nil)
	r := tg.post(t, pathToken, withAssertion(form("grant_type", "client_credentials"), a))
	if r.status != 200 || r.str("access_token") == "" {
		t.Fatalf("private_key_jwt: %d %s", r.status, r.raw)
	}
	// SECURITY.md #5: the same assertion again is refused.
	wantError(t, tg.post(t, pathToken, withAssertion(form("grant_type", "client_credentials"), a)), 401, "invalid_client")
}

// SECURITY.md #7-#11, #14, #15: every malformed or misdirected assertion is invalid_client.
func TestRFC7523_3_AssertionClaims(t *testing.T) {
	tg := newTarget(t)
	now := tg.now()
	tests := []struct {
		name string
		over map[string]any
		ok   bool
	}{
		{"issuer as aud", nil, true},
		{"issuer as one-element aud array", map[string]any{"aud": []string{tg.issuer}}, true},
		{"aud array with another server", map[string]any{"aud": []string{tg.issuer, "https://other-as.example"}}, false},
		{"token endpoint as aud", map[string]any{"aud": tg.issuer + pathToken}, false},
		{"foreign aud", map[string]any{"aud": "https://other-as.example"}, false},
		{"exp a year ahead", map[string]any{"exp": now.Add(365 * 24 * time.Hour).Unix()}, false},
		{"no jti", map[string]any{"jti": nil}, false},
		{"no exp", map[string]any{"exp": nil}, false},
		{"iss is not the client", map[string]any{"iss": "conf-agent"}, false},
		{"sub is not the client", map[string]any{"sub": "conf-agent"}, false},
		{"no sub", map[string]any{"sub": nil}, false},
		{"expired 5 minutes ago", map[string]any{"exp": now.Add(-5 * time.Minute).Unix()}, false},
		{"nbf 8s ahead accepted", map[string]any{"nbf": now.Add(8 * time.Second).Unix()}, true},
		{"nbf 61s ahead refused", map[string]any{"nbf": now.Add(61 * time.Second).Unix()}, false},
		{"iat 61s ahead refused", map[string]any{"iat": now.Add(61 * time.Second).Unix()}, false},
		{"exp as a string", map[string]any{"exp": "2099-01-01"}, false},
		{"aud as a number", map[string]any{"aud": 123}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tg.post(t, pathToken, withAssertion(form("grant_type", "client_credentials"), tg.assertion(t, "conf-pkjwt", tt.over)))
			if tt.ok && r.status != 200 {
				t.Fatalf("want success, got %d %s", r.status, r.raw)
			}
			if !tt.ok {
				wantError(t, r, 401, "invalid_client")
			}
		})
	}
}

// SECURITY.md #11, #12: unsigned, wrongly keyed and attacker-keyed assertions.
func TestRFC7523_3_AssertionSignature(t *testing.T) {
	tg := newTarget(t)
	now := tg.now()
	claims := map[string]any{"iss": "conf-pkjwt", "sub": "conf-pkjwt", "aud": tg.issuer, "jti": randomID(),
		"exp": now.Add(time.Minute).Unix()}
	other := loadSigner(t, "issuer")
	none := b64([]byte(`{"alg":"none"}`)) + "." + b64(mustJSON(t, claims)) + "."
	tests := map[string]string{
		"alg none":            none,
		"another key":         other.sign(t, map[string]any{"kid": "conf-0"}, claims),
		"embedded jwk header": other.sign(t, map[string]any{"kid": "zzz", "jwk": map[string]any{"kty": "EC"}}, claims),
		"jku header":          other.sign(t, map[string]any{"kid": "zzz", "jku": "https://attacker.example/jwks"}, claims),
		"garbage":             "a.b.c",
		"crit header":         loadSigner(t, "client").sign(t, map[string]any{"crit": []string{"x-ext"}, "x-ext": true}, claims),
	}
	for name, a := range tests {
		t.Run(name, func(t *testing.T) {
			wantError(t, tg.post(t, pathToken, withAssertion(form("grant_type", "client_credentials"), a)), 401, "invalid_client")
		})
	}
}

// SECURITY.md #15: client_id names another client than the assertion.
func TestRFC7523_3_ClientIDMismatch(t *testing.T) {
	tg := newTarget(t)
	f := withAssertion(form("grant_type", "client_credentials", "client_id", "conf-agent"), tg.assertion(t, "conf-pkjwt", nil))
	wantError(t, tg.post(t, pathToken, f), 401, "invalid_client")
}

// The documented limits hold exactly: exp at most limits.AssertionLifetime
// ahead for a strict client, and assertion_compat widens only what it names,
// only for its client.
func TestRFC7523_3_AssertionLimits(t *testing.T) {
	tg := newTarget(t)
	now := tg.now()
	endpoint := tg.issuer + pathToken
	tests := []struct {
		name   string
		client string
		over   map[string]any
		ok     bool
	}{
		{"strict: exp at the limit", "conf-pkjwt", map[string]any{"exp": now.Add(limits.AssertionLifetime).Unix()}, true},
		{"strict: exp past the limit", "conf-pkjwt", map[string]any{"exp": now.Add(limits.AssertionLifetime + 20*time.Second).Unix()}, false},
		{"strict: exp an hour ahead", "conf-pkjwt", map[string]any{"exp": now.Add(time.Hour).Unix()}, false},
		{"strict: token endpoint as aud", "conf-pkjwt", map[string]any{"aud": endpoint}, false},
		{"compat: token endpoint as aud", "conf-pkjwt-compat", map[string]any{"aud": endpoint}, true},
		{"compat: issuer as aud", "conf-pkjwt-compat", nil, true},
		{"compat: exp an hour ahead", "conf-pkjwt-compat", map[string]any{"aud": endpoint, "exp": now.Add(time.Hour).Unix()}, true},
		{"compat: exp past its max_lifetime", "conf-pkjwt-compat", map[string]any{"exp": now.Add(time.Hour + time.Minute).Unix()}, false},
		{"compat: endpoint and issuer both", "conf-pkjwt-compat", map[string]any{"aud": []string{tg.issuer, endpoint}}, false},
		{"compat: another endpoint path", "conf-pkjwt-compat", map[string]any{"aud": tg.issuer + "/oauth2/introspect"}, false},
		{"compat: another server's endpoint", "conf-pkjwt-compat", map[string]any{"aud": "https://other-as.example/oauth2/token"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tg.post(t, pathToken, withAssertion(form("grant_type", "client_credentials"), tg.assertion(t, tt.client, tt.over)))
			if tt.ok && r.status != 200 {
				t.Fatalf("want success, got %d %s", r.status, r.raw)
			}
			if !tt.ok && !throttled(tg, r) {
				wantError(t, r, 401, "invalid_client")
			}
		})
	}
}

// throttled reports whether r is the failed-authentication throttle's
// answer from a long-running server, which earlier tests' refused
// assertions for the same client can set off; a fresh in-process server
// never throttles these tests.
func throttled(tg *target, r result) bool {
	return tg.clock == nil && r.status == 429 && r.str("error") == "temporarily_unavailable"
}

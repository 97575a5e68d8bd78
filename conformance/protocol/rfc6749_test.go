package protocol

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRFC6749_5_1_SuccessfulResponse(t *testing.T) {
	tg := newTarget(t)
	r := tg.cc(t, "conf-agent", "scope", "tickets.read")
	if r.str("access_token") == "" || !strings.EqualFold(r.str("token_type"), "Bearer") {
		t.Fatalf("missing access_token or token_type: %s", r.raw)
	}
	if exp, ok := r.body["expires_in"].(float64); !ok || exp <= 0 {
		t.Fatalf("expires_in = %v", r.body["expires_in"])
	}
	if r.str("scope") != "tickets.read" {
		t.Fatalf("scope = %q", r.str("scope"))
	}
	if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Pragma") != "no-cache" {
		t.Fatalf("cache headers: %v", r.header)
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("content type %q", r.header.Get("Content-Type"))
	}
}

func TestRFC6749_4_4_3_RefreshTokenOnlyWhenRegistered(t *testing.T) {
	tg := newTarget(t)
	if tg.cc(t, "conf-agent").str("refresh_token") == "" {
		t.Fatal("client registered for refresh_token got no refresh token")
	}
	if rt := tg.cc(t, "conf-jwt").str("refresh_token"); rt != "" {
		t.Fatal("client not registered for refresh_token got one")
	}
}

func TestRFC6749_5_2_ErrorResponses(t *testing.T) {
	tg := newTarget(t)
	tests := []struct {
		name   string
		form   []string
		opt    reqOpt
		status int
		code   string
	}{
		{"wrong secret", []string{"grant_type", "client_credentials"}, basic("conf-agent", "wrong"), 401, "invalid_client"},
		{"unknown client", []string{"grant_type", "client_credentials"}, basic("nobody", "wrong"), 401, "invalid_client"},
		{"no authentication", []string{"grant_type", "client_credentials"}, nil, 401, "invalid_client"},
		{"missing grant_type", []string{"scope", "tickets.read"}, tg.as("conf-agent"), 400, "invalid_request"},
		{"unsupported grant", []string{"grant_type", "password", "username", "u", "password", "p"}, tg.as("conf-agent"), 400, "unsupported_grant_type"},
		{"scope not registered", []string{"grant_type", "client_credentials", "scope", "secrets.read"}, tg.as("conf-agent"), 400, "invalid_scope"},
		{"audience not registered", []string{"grant_type", "client_credentials", "audience", "https://admin.example"}, tg.as("conf-agent"), 400, "invalid_target"},
		{"resource not registered", []string{"grant_type", "client_credentials", "resource", "https://admin.example"}, tg.as("conf-agent"), 400, "invalid_target"},
		{"resource with fragment", []string{"grant_type", "client_credentials", "resource", "https://rs1.example#x"}, tg.as("conf-agent"), 400, "invalid_target"},
		{"resource server may not get tokens", []string{"grant_type", "client_credentials"}, tg.as("conf-rs1"), 400, "unauthorized_client"},
		{"refresh grant not registered", []string{"grant_type", "refresh_token", "refresh_token", "x"}, tg.as("conf-jwt"), 400, "unauthorized_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []reqOpt
			if tt.opt != nil {
				opts = append(opts, tt.opt)
			}
			r := tg.post(t, pathToken, form(tt.form...), opts...)
			wantError(t, r, tt.status, tt.code)
			if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Pragma") != "no-cache" {
				t.Fatalf("error without no-store headers: %v", r.header)
			}
			if tt.status == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
}

// SECURITY.md #1: an unknown client and a wrong secret are indistinguishable.
func TestRFC6749_5_2_InvalidClientIndistinguishable(t *testing.T) {
	tg := newTarget(t)
	a := tg.post(t, pathToken, form("grant_type", "client_credentials"), basic("conf-agent", "wrong-secret"))
	b := tg.post(t, pathToken, form("grant_type", "client_credentials"), basic("no-such-client", "wrong-secret"))
	if a.status != b.status || !bytes.Equal(a.raw, b.raw) {
		t.Fatalf("bodies differ:\n%s\n%s", a.raw, b.raw)
	}
}

func TestRFC6749_2_3_1_ClientSecretPost(t *testing.T) {
	tg := newTarget(t)
	r := tg.post(t, pathToken, form("grant_type", "client_credentials", "client_id", "conf-agent",
		"client_secret", tg.secrets["conf-agent"]))
	if r.status != 200 {
		t.Fatalf("client_secret_post: %d %s", r.status, r.raw)
	}
}

// SECURITY.md #3: two authentication methods in one request.
func TestRFC6749_2_3_OneMethodOnly(t *testing.T) {
	tg := newTarget(t)
	r := tg.post(t, pathToken, form("grant_type", "client_credentials", "client_id", "conf-agent",
		"client_secret", tg.secrets["conf-agent"]), tg.as("conf-agent"))
	wantError(t, r, 400, "invalid_request")
}

// SECURITY.md #4: a client registered for private_key_jwt cannot fall back to a secret.
func TestRFC6749_2_3_NoMethodDowngrade(t *testing.T) {
	tg := newTarget(t)
	r := tg.post(t, pathToken, form("grant_type", "client_credentials"), basic("conf-pkjwt", "anything-at-all"))
	wantError(t, r, 401, "invalid_client")
}

// SECURITY.md #88, #90: repeated parameters, JSON bodies and GET are refused.
func TestRFC6749_3_2_RequestShape(t *testing.T) {
	tg := newTarget(t)
	r := tg.post(t, pathToken, form("grant_type", "client_credentials", "scope", "tickets.read", "scope", "kb.read"), tg.as("conf-agent"))
	wantError(t, r, 400, "invalid_request")
	r = tg.post(t, pathToken, form("grant_type", "client_credentials", "grant_type", "client_credentials"), tg.as("conf-agent"))
	wantError(t, r, 400, "invalid_request")

	req, _ := http.NewRequest(http.MethodPost, tg.url+pathToken, strings.NewReader(`{"grant_type":"client_credentials"}`))
	req.Header.Set("Content-Type", "application/json")
	tg.as("conf-agent")(req)
	wantError(t, tg.do(t, req), 400, "invalid_request")

	req, _ = http.NewRequest(http.MethodGet, tg.url+pathToken+"?grant_type=client_credentials", nil)
	tg.as("conf-agent")(req)
	if r := tg.do(t, req); r.status != 405 && r.status != 400 {
		t.Fatalf("GET token endpoint: %d", r.status)
	}
}

// SECURITY.md #89: an oversized body is refused before parsing.
func TestRFC6749_3_2_BodyLimit(t *testing.T) {
	tg := newTarget(t)
	r := tg.post(t, pathToken, form("grant_type", "client_credentials", "scope", strings.Repeat("a", 1<<20)), tg.as("conf-agent"))
	if r.status != 413 && r.status != 400 {
		t.Fatalf("oversized body: %d", r.status)
	}
}

func TestRFC6749_6_RefreshRotates(t *testing.T) {
	tg := newTarget(t)
	first := tg.cc(t, "conf-agent")
	r := tg.post(t, pathToken, form("grant_type", "refresh_token", "refresh_token", first.str("refresh_token")), tg.as("conf-agent"))
	if r.status != 200 || r.str("refresh_token") == "" || r.str("refresh_token") == first.str("refresh_token") {
		t.Fatalf("refresh: %d %s", r.status, r.raw)
	}
	if got := tg.introspect(t, "conf-rs1", r.str("access_token")); got.body["active"] != true {
		t.Fatalf("refreshed access token inactive: %s", got.raw)
	}
}

// SECURITY.md #39, #40, #41: a refresh narrows, never widens; the family keeps its scope.
func TestRFC6749_6_RefreshNarrowsNeverWidens(t *testing.T) {
	tg := newTarget(t)
	first := tg.cc(t, "conf-agent", "scope", "tickets.read kb.read")
	rt := first.str("refresh_token")
	wide := tg.post(t, pathToken, form("grant_type", "refresh_token", "refresh_token", rt, "scope", "tickets.read tickets.write"), tg.as("conf-agent"))
	wantError(t, wide, 400, "invalid_scope")
	res := tg.post(t, pathToken, form("grant_type", "refresh_token", "refresh_token", rt, "resource", "https://other.example/"), tg.as("conf-agent"))
	wantError(t, res, 400, "invalid_target")
	narrow := tg.post(t, pathToken, form("grant_type", "refresh_token", "refresh_token", rt, "scope", "kb.read"), tg.as("conf-agent"))
	if narrow.status != 200 || narrow.str("scope") != "kb.read" {
		t.Fatalf("narrow refresh: %d %s", narrow.status, narrow.raw)
	}
	again := tg.post(t, pathToken, form("grant_type", "refresh_token", "refresh_token", narrow.str("refresh_token")), tg.as("conf-agent"))
	if again.status != 200 || again.str("scope") != "kb.read tickets.read" {
		t.Fatalf("family lost its scope: %d %s", again.status, again.raw)
	}
}

// SECURITY.md #42, #43: another client's refresh token, or no authentication.
func TestRFC6749_6_RefreshBoundToClient(t *testing.T) {
	tg := newTarget(t)
	rt := tg.cc(t, "conf-agent").str("refresh_token")
	wantError(t, tg.post(t, pathToken, form("grant_type", "refresh_token", "refresh_token", rt), tg.as("conf-other")), 400, "invalid_grant")
	wantError(t, tg.post(t, pathToken, form("grant_type", "refresh_token", "refresh_token", rt)), 401, "invalid_client")
	if r := tg.post(t, pathToken, form("grant_type", "refresh_token", "refresh_token", rt), tg.as("conf-agent")); r.status != 200 {
		t.Fatalf("owner's refresh after another client's attempt: %d %s", r.status, r.raw)
	}
}

// Within the grace window a retried refresh gets the same successor: the family never forks.
func TestRFC6749_6_RefreshRetryWithinGrace(t *testing.T) {
	tg := newTarget(t)
	rt := tg.cc(t, "conf-agent").str("refresh_token")
	a := tg.post(t, pathToken, form("grant_type", "refresh_token", "refresh_token", rt), tg.as("conf-agent"))
	b := tg.post(t, pathToken, form("grant_type", "refresh_token", "refresh_token", rt), tg.as("conf-agent"))
	if a.status != 200 || b.status != 200 || a.str("refresh_token") != b.str("refresh_token") {
		t.Fatalf("retry inside grace: %d %s / %d %s", a.status, a.raw, b.status, b.raw)
	}
}

// SECURITY.md #44 (RFC 9700 §4.14.2): reuse after the grace window revokes everything.
func TestRFC6749_6_RefreshReuseRevokesFamily(t *testing.T) {
	tg := newTarget(t)
	clk := tg.needClock(t)
	first := tg.cc(t, "conf-agent")
	second := tg.post(t, pathToken, form("grant_type", "refresh_token", "refresh_token", first.str("refresh_token")), tg.as("conf-agent"))
	if second.status != 200 {
		t.Fatalf("refresh: %d %s", second.status, second.raw)
	}
	clk.Advance(time.Minute)
	reuse := tg.post(t, pathToken, form("grant_type", "refresh_token", "refresh_token", first.str("refresh_token")), tg.as("conf-agent"))
	wantError(t, reuse, 400, "invalid_grant")
	for _, tok := range []string{first.str("access_token"), second.str("access_token")} {
		wantInactive(t, tg.introspect(t, "conf-rs1", tok))
	}
	next := tg.post(t, pathToken, form("grant_type", "refresh_token", "refresh_token", second.str("refresh_token")), tg.as("conf-agent"))
	wantError(t, next, 400, "invalid_grant")
}

func TestRFC6749_6_ExpiredRefreshToken(t *testing.T) {
	tg := newTarget(t)
	clk := tg.needClock(t)
	rt := tg.cc(t, "conf-agent").str("refresh_token")
	clk.Advance(1000 * time.Hour)
	wantError(t, tg.post(t, pathToken, form("grant_type", "refresh_token", "refresh_token", rt), tg.as("conf-agent")), 400, "invalid_grant")
}

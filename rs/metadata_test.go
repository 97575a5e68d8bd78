package rs

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const testMetadataURL = "https://rs1.example/.well-known/oauth-protected-resource/mcp"

func TestResourceMetadata_MetadataURL(t *testing.T) {
	tests := []struct{ resource, want string }{
		{"https://rs1.example", "https://rs1.example/.well-known/oauth-protected-resource"},
		{"https://rs1.example/", "https://rs1.example/.well-known/oauth-protected-resource"},
		{"https://rs1.example/mcp", "https://rs1.example/.well-known/oauth-protected-resource/mcp"},
		{"http://127.0.0.1:8090/a/b", "http://127.0.0.1:8090/.well-known/oauth-protected-resource/a/b"},
		{"https://rs1.example/a%20b?x=1", "https://rs1.example/.well-known/oauth-protected-resource/a%20b?x=1"},
	}
	for _, tt := range tests {
		if got := (ResourceMetadata{Resource: tt.resource}).MetadataURL(); got != tt.want {
			t.Errorf("MetadataURL(%q) = %q, want %q", tt.resource, got, tt.want)
		}
	}
}

func TestWithResourceMetadata_Invalid(t *testing.T) {
	for _, md := range []ResourceMetadata{
		{},
		{Resource: "rs1.example/mcp"},
		{Resource: "https://rs1.example/mcp#frag"},
		{Resource: "https://rs1.example/mcp", AuthorizationServers: []string{"vigil"}},
		{Resource: "https://rs1.example/mcp", ScopesSupported: []string{"a b"}},
	} {
		_, err := New(Config{IntrospectionURL: "https://vigil.example/i", ClientID: "rs1", ClientSecret: "s",
			Audience: testAudience}, WithResourceMetadata(md))
		if err == nil {
			t.Errorf("New accepted metadata %+v", md)
		}
	}
}

func TestMiddleware_MetadataHandler(t *testing.T) {
	e := newEnv(t, nil, WithResourceMetadata(ResourceMetadata{Resource: "https://rs1.example/mcp",
		ScopesSupported: []string{"tickets.write"}}))
	md, ok := e.m.Metadata()
	if !ok || md.MetadataPath() != "/.well-known/oauth-protected-resource/mcp" {
		t.Fatalf("Metadata() = %+v, %v", md, ok)
	}
	w := httptest.NewRecorder()
	e.m.MetadataHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, testMetadataURL, nil))
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET metadata: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	var got map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"resource":                          "https://rs1.example/mcp",
		"authorization_servers":             []any{testIssuer},
		"scopes_supported":                  []any{"tickets.write", "tickets.read"},
		"bearer_methods_supported":          []any{"header"},
		"dpop_signing_alg_values_supported": []any{"ES256", "ES384", "EdDSA", "RS256", "PS256"},
	}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if string(gb) != string(wb) {
		t.Errorf("metadata = %s\nwant       %s", gb, wb)
	}
	w = httptest.NewRecorder()
	e.m.MetadataHandler().ServeHTTP(w, httptest.NewRequest(http.MethodPost, testMetadataURL, nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST metadata: %d, want 405", w.Code)
	}
	bare := newEnv(t, nil)
	w = httptest.NewRecorder()
	bare.m.MetadataHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, testMetadataURL, nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("GET metadata without metadata: %d, want 404", w.Code)
	}
}

// TestRFC9728_5_1_ChallengesCarryResourceMetadata checks that every 401 and
// 403 names the metadata URL, in each challenge, next to the RFC 6750 error.
func TestRFC9728_5_1_ChallengesCarryResourceMetadata(t *testing.T) {
	const tok = "tok-abc"
	const rm = `resource_metadata="` + testMetadataURL + `"`
	stepUp := `Bearer error="insufficient_user_authentication", error_description="session revalidation required"`
	tests := []struct {
		name          string
		auth          string
		answer        func(time.Time) any
		wantStatus    int
		wantErr       error
		wantChallenge string
	}{
		{"no token", "", nil, 401, ErrNoToken,
			`Bearer ` + rm + `, DPoP algs="ES256 ES384 EdDSA RS256 PS256", ` + rm},
		{"inactive", "Bearer " + tok, nil, 401, ErrInactive,
			`Bearer error="invalid_token", error_description="the access token is not active", ` + rm},
		{"insufficient scope names the scope", "Bearer " + tok,
			func(n time.Time) any { return active(n, map[string]any{"scope": "kb.read"}) }, 403, ErrInsufficientScope,
			`Bearer error="insufficient_scope", error_description="the token lacks a required scope", scope="tickets.read", ` + rm},
		{"step-up", "Bearer " + tok,
			func(n time.Time) any { return active(n, map[string]any{"risk": verdict("step_up", stepUp)}) }, 401, ErrStepUp,
			stepUp + ", " + rm},
		{"deny", "Bearer " + tok,
			func(n time.Time) any { return active(n, map[string]any{"risk": verdict("deny", "")}) }, 403, ErrDenied,
			`Bearer error="access_denied", error_description="the call is denied by risk policy", ` + rm},
		{"unavailable has no challenge", "Bearer " + tok,
			func(time.Time) any { return `{"active":"yes"}` }, 503, ErrUnavailable, "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, WithCache(0, 0), WithResourceMetadata(ResourceMetadata{Resource: "https://rs1.example/mcp"}))
			if tt.answer != nil {
				e.as.set(tok, tt.answer(e.clock.Now()))
			}
			_, err := e.m.Authorize(request(tt.auth))
			var rerr *Error
			if !errors.Is(err, tt.wantErr) || !errors.As(err, &rerr) {
				t.Fatalf("Authorize error = %v, want %v", err, tt.wantErr)
			}
			if want := strings.TrimPrefix(tt.wantChallenge, "-"); rerr.Challenge != want {
				t.Errorf("Authorize challenge = %q, want %q", rerr.Challenge, want)
			}
			w := e.serve(request(tt.auth))
			if w.Code != tt.wantStatus || w.Header().Get("WWW-Authenticate") != strings.TrimPrefix(tt.wantChallenge, "-") {
				t.Errorf("Wrap answered %d %q, want %d %q", w.Code, w.Header().Get("WWW-Authenticate"),
					tt.wantStatus, tt.wantChallenge)
			}
		})
	}
}

func TestMiddleware_Refuse(t *testing.T) {
	e := newEnv(t, nil, WithResourceMetadata(ResourceMetadata{Resource: "https://rs1.example/mcp"}))
	w := httptest.NewRecorder()
	scope := InsufficientScope("tickets.write")
	e.m.Refuse(w, scope)
	want := `Bearer error="insufficient_scope", error_description="the token lacks a required scope", scope="tickets.write", resource_metadata="` +
		testMetadataURL + `"`
	if w.Code != 403 || w.Header().Get("WWW-Authenticate") != want {
		t.Errorf("Refuse: %d %q, want 403 %q", w.Code, w.Header().Get("WWW-Authenticate"), want)
	}
	if strings.Contains(scope.Challenge, "resource_metadata") {
		t.Error("Refuse changed the error it was given")
	}
}

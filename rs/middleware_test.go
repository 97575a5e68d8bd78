package rs

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const resourceURL = "https://rs1.example/tickets/42"

// noTokenChallenge answers a request without a token (RFC 6750 §3.1, RFC 9449 §7.1).
const noTokenChallenge = `Bearer, DPoP algs="ES256 ES384 EdDSA RS256 PS256"`

// env is one resource server under test, in front of a fake Vigil.
type env struct {
	as    *fakeAS
	clock *clock
	m     *Middleware
	p     prover
}

func newEnv(t testing.TB, cfg func(*Config), opts ...Option) *env {
	t.Helper()
	e := &env{as: newFakeAS(t), clock: newClock(), p: newProver(t)}
	c := Config{IntrospectionURL: e.as.srv.URL + "/oauth2/introspect", ClientID: testClientID, ClientSecret: testSecret,
		Audience: testAudience, Issuer: testIssuer, RequiredScopes: []string{"tickets.read"}}
	if cfg != nil {
		cfg(&c)
	}
	opts = append([]Option{WithClock(e.clock.Now), WithTool(func(r *http.Request) string { return r.Header.Get("X-Tool") }),
		WithTenant(func(*http.Request) string { return "acme" })}, opts...)
	m, err := New(c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	return e
}

// request builds a GET to resourceURL; auth is the Authorization header
// ("" for none), proofs the DPoP headers.
func request(auth string, proofs ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, resourceURL, nil)
	r.RemoteAddr = "192.0.2.7:5555"
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	for _, p := range proofs {
		r.Header.Add("DPoP", p)
	}
	return r
}

// serve runs r through the wrapped handler, which echoes the claims' subject.
func (e *env) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := FromContext(r.Context())
		if !ok {
			http.Error(w, "no claims", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(c.Subject))
	})).ServeHTTP(w, r)
	return w
}

func TestMiddleware_Answers(t *testing.T) {
	const tok = "tok-abc.def"
	challengeStep := `Bearer error="insufficient_user_authentication", error_description="session revalidation required"`
	tests := []struct {
		name          string
		answer        func(now time.Time) any // nil: the fake's default, inactive
		auth          string
		wantStatus    int
		wantErr       error
		wantChallenge string // exact WWW-Authenticate; "-" for none
		wantCalls     int32
	}{
		{name: "no token", auth: "", wantStatus: 401, wantErr: ErrNoToken,
			wantChallenge: noTokenChallenge},
		{name: "other scheme", auth: "Basic cnMxOnNlY3JldA==", wantStatus: 401, wantErr: ErrNoToken,
			wantChallenge: noTokenChallenge},
		{name: "malformed token", auth: "Bearer a b", wantStatus: 400, wantErr: ErrInvalidRequest,
			wantChallenge: `Bearer error="invalid_request", error_description="malformed access token"`},
		{name: "empty token", auth: "Bearer ", wantStatus: 400, wantErr: ErrInvalidRequest,
			wantChallenge: `Bearer error="invalid_request", error_description="malformed access token"`},
		{name: "inactive", auth: "Bearer " + tok, wantStatus: 401, wantErr: ErrInactive, wantCalls: 1,
			wantChallenge: `Bearer error="invalid_token", error_description="the access token is not active"`},
		{name: "active allow", auth: "Bearer " + tok, answer: func(n time.Time) any { return active(n, nil) },
			wantStatus: 200, wantChallenge: "-", wantCalls: 1},
		{name: "scheme is case-insensitive", auth: "bearer " + tok, answer: func(n time.Time) any { return active(n, nil) },
			wantStatus: 200, wantChallenge: "-", wantCalls: 1},
		{name: "no risk member passes", auth: "Bearer " + tok,
			answer: func(n time.Time) any { return active(n, map[string]any{"risk": nil}) }, wantStatus: 200, wantChallenge: "-", wantCalls: 1},
		{name: "other audience", auth: "Bearer " + tok, wantStatus: 401, wantErr: ErrInactive, wantCalls: 1,
			answer:        func(n time.Time) any { return active(n, map[string]any{"aud": []string{"https://rs2.example"}}) },
			wantChallenge: `Bearer error="invalid_token", error_description="the access token is not meant for this resource"`},
		{name: "audience among several", auth: "Bearer " + tok, wantStatus: 200, wantChallenge: "-", wantCalls: 1,
			answer: func(n time.Time) any {
				return active(n, map[string]any{"aud": []string{"https://rs2.example", testAudience}})
			}},
		{name: "other issuer", auth: "Bearer " + tok, wantStatus: 401, wantErr: ErrInactive, wantCalls: 1,
			answer:        func(n time.Time) any { return active(n, map[string]any{"iss": "https://evil.example"}) },
			wantChallenge: `Bearer error="invalid_token", error_description="the access token is from another issuer"`},
		{name: "expired although active", auth: "Bearer " + tok, wantStatus: 401, wantErr: ErrInactive, wantCalls: 1,
			answer:        func(n time.Time) any { return active(n, map[string]any{"exp": n.Unix()}) },
			wantChallenge: `Bearer error="invalid_token", error_description="the access token has expired"`},
		{name: "not yet valid", auth: "Bearer " + tok, wantStatus: 401, wantErr: ErrInactive, wantCalls: 1,
			answer:        func(n time.Time) any { return active(n, map[string]any{"nbf": n.Add(time.Minute).Unix()}) },
			wantChallenge: `Bearer error="invalid_token", error_description="the access token is not yet valid"`},
		{name: "missing scope", auth: "Bearer " + tok, wantStatus: 403, wantErr: ErrInsufficientScope, wantCalls: 1,
			answer:        func(n time.Time) any { return active(n, map[string]any{"scope": "kb.read tickets.write"}) },
			wantChallenge: `Bearer error="insufficient_scope", error_description="the token lacks a required scope", scope="tickets.read"`},
		{name: "step up answers vigil's challenge", auth: "Bearer " + tok, wantStatus: 401, wantErr: ErrStepUp, wantCalls: 1,
			answer:        func(n time.Time) any { return active(n, map[string]any{"risk": verdict("step_up", challengeStep)}) },
			wantChallenge: challengeStep},
		{name: "step up without challenge", auth: "Bearer " + tok, wantStatus: 401, wantErr: ErrStepUp, wantCalls: 1,
			answer:        func(n time.Time) any { return active(n, map[string]any{"risk": verdict("step_up", "")}) },
			wantChallenge: challengeStep},
		{name: "deny", auth: "Bearer " + tok, wantStatus: 403, wantErr: ErrDenied, wantCalls: 1, wantChallenge: "-",
			answer: func(n time.Time) any { return active(n, map[string]any{"risk": verdict("deny", "")}) }},
		{name: "terminate", auth: "Bearer " + tok, wantStatus: 401, wantErr: ErrInactive, wantCalls: 1,
			answer:        func(n time.Time) any { return active(n, map[string]any{"risk": verdict("terminate", "")}) },
			wantChallenge: `Bearer error="invalid_token", error_description="the session was terminated"`},
		{name: "unknown action fails closed", auth: "Bearer " + tok, wantStatus: 403, wantErr: ErrDenied, wantCalls: 1,
			wantChallenge: "-",
			answer:        func(n time.Time) any { return active(n, map[string]any{"risk": verdict("maybe", "")}) }},
		{name: "answer without active fails closed", auth: "Bearer " + tok, wantStatus: 503, wantErr: ErrUnavailable,
			wantCalls: 1, wantChallenge: "-", answer: func(time.Time) any { return map[string]any{"sub": "x"} }},
		{name: "active as a string fails closed", auth: "Bearer " + tok, wantStatus: 503, wantErr: ErrIntrospection,
			wantCalls: 1, wantChallenge: "-", answer: func(time.Time) any { return `{"active":"true"}` }},
		{name: "malformed aud fails closed", auth: "Bearer " + tok, wantStatus: 503, wantErr: ErrIntrospection,
			wantCalls: 1, wantChallenge: "-", answer: func(n time.Time) any { return active(n, map[string]any{"aud": 7}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, WithCache(0, 0))
			if tt.answer != nil {
				e.as.set(tok, tt.answer(e.clock.Now()))
			}
			r := request(tt.auth)
			_, err := e.m.Authorize(r)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Authorize error = %v, want %v", err, tt.wantErr)
			}
			w := e.serve(request(tt.auth))
			checkAnswer(t, w, tt.wantStatus, tt.wantChallenge)
			if tt.wantStatus == 200 && w.Body.String() != "agent-1" {
				t.Errorf("handler saw subject %q, want agent-1", w.Body.String())
			}
			if got := e.as.calls.Load(); got != 2*tt.wantCalls {
				t.Errorf("introspection calls = %d, want %d per request", got, tt.wantCalls)
			}
		})
	}
}

func checkAnswer(t *testing.T, w *httptest.ResponseRecorder, status int, challenge string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d (%s), want %d", w.Code, w.Body, status)
	}
	got := w.Header().Get("WWW-Authenticate")
	if challenge == "-" {
		challenge = ""
	}
	if got != challenge {
		t.Errorf("WWW-Authenticate = %q, want %q", got, challenge)
	}
	if status != 200 {
		var body struct {
			Error       *string `json:"error"`
			Description string  `json:"error_description"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Description == "" ||
			(body.Error == nil) != (status == 401 && challenge == noTokenChallenge) {
			t.Errorf("refusal body %q is not the error object for %d %q", w.Body, status, challenge)
		}
	}
}

func TestMiddleware_IntrospectionFailureFailsClosed(t *testing.T) {
	const tok = "tok-1"
	tests := []struct {
		name  string
		setup func(e *env)
	}{
		{"server error", func(e *env) { e.as.setRaw(tok, 500, "application/json", `{"error":"server_error"}`) }},
		{"unavailable", func(e *env) { e.as.setRaw(tok, 503, "application/json", `{"error":"temporarily_unavailable"}`) }},
		{"resource server rejected", func(e *env) { e.m.in.cfg.ClientSecret = "wrong" }},
		{"not json", func(e *env) { e.as.setRaw(tok, 200, "text/html", `{"active":true}`) }},
		{"garbage", func(e *env) { e.as.setRaw(tok, 200, "application/json", `{"active":tru`) }},
		{"unreachable", func(e *env) { e.as.srv.Close() }},
		{"assertion cannot be signed", func(e *env) {
			e.m.in.cfg.ClientSecret = ""
			e.m.in.cfg.ClientAssertion = func(context.Context) (string, error) { return "", errors.New("kms down") }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.as.set(tok, active(e.clock.Now(), nil))
			tt.setup(e)
			w := e.serve(request("Bearer " + tok))
			checkAnswer(t, w, http.StatusServiceUnavailable, "-")
			_, err := e.m.Authorize(request("Bearer " + tok))
			if !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrIntrospection) {
				t.Errorf("error = %v, want ErrUnavailable and ErrIntrospection", err)
			}
		})
	}
}

func TestMiddleware_SendsCredentialsAndUsage(t *testing.T) {
	e := newEnv(t, nil)
	e.as.set("tok-1", active(e.clock.Now(), nil))
	r := request("Bearer tok-1")
	r.Header.Set("X-Tool", "tickets.get")
	if w := e.serve(r); w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	f := e.as.lastForm()
	want := map[string]string{"token": "tok-1", "token_type_hint": "access_token", "tool": "tickets.get",
		"ip": "192.0.2.7", "tenant": "acme"}
	for k, v := range want {
		if f.Get(k) != v {
			t.Errorf("form %s = %q, want %q", k, f.Get(k), v)
		}
	}
}

func TestMiddleware_ClaimsInContext(t *testing.T) {
	e := newEnv(t, nil)
	now := e.clock.Now()
	e.as.set("tok-1", active(now, map[string]any{"scope": "tickets.read tickets.write",
		"act": map[string]any{"sub": "actor-1", "act": map[string]any{"sub": "actor-0"}}}))
	var got Claims
	h := e.m.Wrap(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got, _ = FromContext(r.Context()) }))
	h.ServeHTTP(httptest.NewRecorder(), request("Bearer tok-1"))
	if got.Subject != "agent-1" || got.SessionID != "sess-1" || !got.HasScopes("tickets.read", "tickets.write") ||
		got.HasScopes("kb.read") || got.Actor == nil || got.Actor.Subject != "actor-1" || got.Actor.Actor.Subject != "actor-0" ||
		!got.Expiry.Equal(now.Add(time.Hour)) || got.Risk == nil || got.Risk.Action != ActionAllow {
		t.Errorf("claims = %+v", got)
	}
	if _, ok := FromContext(t.Context()); ok {
		t.Error("FromContext outside a wrapped handler reported claims")
	}
}

func TestInsufficientScope_Write(t *testing.T) {
	w := httptest.NewRecorder()
	InsufficientScope("tickets.write", "kb.read").Write(w)
	checkAnswer(t, w, 403,
		`Bearer error="insufficient_scope", error_description="the token lacks a required scope", scope="tickets.write kb.read"`)
}

func TestCredentials(t *testing.T) {
	tests := []struct {
		name, header, wantToken, wantScheme string
		wantErr                             error
	}{
		{"bearer", "Bearer abc", "abc", schemeBearer, nil},
		{"dpop", "DPoP abc", "abc", schemeDPoP, nil},
		{"upper case", "BEARER abc", "abc", schemeBearer, nil},
		{"b64token with padding", "Bearer ab/c+d-_.~==", "ab/c+d-_.~==", schemeBearer, nil},
		{"only padding", "Bearer ==", "", "", ErrInvalidRequest},
		{"trailing junk", "Bearer abc def", "", "", ErrInvalidRequest},
		{"quote", `Bearer "abc"`, "", "", ErrInvalidRequest},
		{"scheme only", "Bearer", "", "", ErrInvalidRequest},
		{"basic", "Basic abc", "", "", ErrNoToken},
		{"oversized", "Bearer " + strings.Repeat("a", 17<<10), "", "", ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, scheme, err := credentials(request(tt.header))
			if tt.wantErr != nil {
				if err == nil || !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || tok != tt.wantToken || scheme != tt.wantScheme {
				t.Fatalf("got %q %q %v, want %q %q", tok, scheme, err, tt.wantToken, tt.wantScheme)
			}
		})
	}
	r := request("Bearer a")
	r.Header.Add("Authorization", "Bearer b")
	if _, _, err := credentials(r); err == nil || !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("two Authorization headers: error = %v, want ErrInvalidRequest", err)
	}
}

func TestConfig_Validate(t *testing.T) {
	assertion := func(context.Context) (string, error) { return "", nil }
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr []string
	}{
		{"valid", func(*Config) {}, nil},
		{"valid with assertion", func(c *Config) { c.ClientSecret, c.ClientAssertion = "", assertion }, nil},
		{"empty", func(c *Config) { *c = Config{} },
			[]string{"introspection URL", "client ID is required", "exactly one of", "audience is required"}},
		{"relative URL", func(c *Config) { c.IntrospectionURL = "/oauth2/introspect" }, []string{"introspection URL"}},
		{"other scheme", func(c *Config) { c.IntrospectionURL = "ftp://vigil.example/x" }, []string{"introspection URL"}},
		{"secret and assertion", func(c *Config) { c.ClientAssertion = assertion }, []string{"exactly one of"}},
		{"bad public URL", func(c *Config) { c.PublicURL = "rs1.example" }, []string{"public URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{IntrospectionURL: "https://vigil.example/oauth2/introspect", ClientID: "rs1", ClientSecret: "s",
				Audience: testAudience}
			tt.edit(&c)
			err := c.Validate()
			if (err != nil) != (len(tt.wantErr) > 0) {
				t.Fatalf("Validate() = %v, want errors %q", err, tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v, want it to mention %q", err, w)
				}
			}
			if _, nerr := New(c); (nerr != nil) != (err != nil) {
				t.Errorf("New error %v disagrees with Validate %v", nerr, err)
			}
		})
	}
}

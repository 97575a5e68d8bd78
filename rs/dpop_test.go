package rs

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestMiddleware_DPoP(t *testing.T) {
	const tok = "dpop-bound-token"
	const unbound = "bearer-token"
	type req struct {
		auth   string
		proofs []string
	}
	tests := []struct {
		name          string
		build         func(t *testing.T, e *env) req
		wantStatus    int
		wantErr       error
		wantChallenge string
	}{
		{name: "valid proof", wantStatus: 200, wantChallenge: "-", build: func(t *testing.T, e *env) req {
			return req{"DPoP " + tok, []string{e.p.proof(t, "GET", resourceURL, tok, e.clock.Now(), nil)}}
		}},
		{name: "htu compared after normalisation", wantStatus: 200, wantChallenge: "-", build: func(t *testing.T, e *env) req {
			return req{"DPoP " + tok, []string{e.p.proof(t, "GET", "https://RS1.example:443/tickets/42", tok, e.clock.Now(), nil)}}
		}},
		{name: "bound token as bearer", wantStatus: 401, wantErr: ErrInactive,
			wantChallenge: `DPoP error="invalid_token", error_description="the token is DPoP-bound: present it with the DPoP scheme and a proof"`,
			build:         func(*testing.T, *env) req { return req{"Bearer " + tok, nil} }},
		{name: "unbound token with dpop scheme", wantStatus: 401, wantErr: ErrInactive,
			wantChallenge: `DPoP error="invalid_token", error_description="the token is not DPoP-bound"`,
			build: func(t *testing.T, e *env) req {
				return req{"DPoP " + unbound, []string{e.p.proof(t, "GET", resourceURL, unbound, e.clock.Now(), nil)}}
			}},
		{name: "no proof", wantStatus: 401, wantErr: ErrInvalidProof, wantChallenge: proofChallenge("a DPoP proof is required"),
			build: func(*testing.T, *env) req { return req{"DPoP " + tok, nil} }},
		{name: "two proofs", wantStatus: 401, wantErr: ErrInvalidProof,
			wantChallenge: proofChallenge("exactly one DPoP header is allowed"), build: func(t *testing.T, e *env) req {
				p := e.p.proof(t, "GET", resourceURL, tok, e.clock.Now(), nil)
				return req{"DPoP " + tok, []string{p, p}}
			}},
		{name: "wrong method", wantStatus: 401, wantErr: ErrInvalidProof, wantChallenge: proofChallenge("the DPoP proof is invalid"),
			build: func(t *testing.T, e *env) req {
				return req{"DPoP " + tok, []string{e.p.proof(t, "POST", resourceURL, tok, e.clock.Now(), nil)}}
			}},
		{name: "wrong url", wantStatus: 401, wantErr: ErrInvalidProof, wantChallenge: proofChallenge("the DPoP proof is invalid"),
			build: func(t *testing.T, e *env) req {
				return req{"DPoP " + tok, []string{e.p.proof(t, "GET", "https://rs2.example/tickets/42", tok, e.clock.Now(), nil)}}
			}},
		{name: "proof for another token", wantStatus: 401, wantErr: ErrInvalidProof,
			wantChallenge: proofChallenge("the DPoP proof is invalid"), build: func(t *testing.T, e *env) req {
				return req{"DPoP " + tok, []string{e.p.proof(t, "GET", resourceURL, "other", e.clock.Now(), nil)}}
			}},
		{name: "no ath", wantStatus: 401, wantErr: ErrInvalidProof, wantChallenge: proofChallenge("the DPoP proof is invalid"),
			build: func(t *testing.T, e *env) req {
				return req{"DPoP " + tok, []string{e.p.proof(t, "GET", resourceURL, tok, e.clock.Now(), map[string]any{"ath": nil})}}
			}},
		{name: "stale proof", wantStatus: 401, wantErr: ErrInvalidProof, wantChallenge: proofChallenge("the DPoP proof is invalid"),
			build: func(t *testing.T, e *env) req {
				return req{"DPoP " + tok, []string{e.p.proof(t, "GET", resourceURL, tok, e.clock.Now().Add(-5*time.Minute), nil)}}
			}},
		{name: "proof by another key", wantStatus: 401, wantErr: ErrInvalidProof,
			wantChallenge: proofChallenge("the DPoP proof is not by the token's key"), build: func(t *testing.T, e *env) req {
				return req{"DPoP " + tok, []string{newProver(t).proof(t, "GET", resourceURL, tok, e.clock.Now(), nil)}}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.as.set(tok, active(e.clock.Now(), map[string]any{"token_type": "DPoP", "cnf": map[string]string{"jkt": e.p.jkt}}))
			e.as.set(unbound, active(e.clock.Now(), nil))
			rq := tt.build(t, e)
			_, err := e.m.Authorize(request(rq.auth, rq.proofs...))
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Authorize error = %v, want %v", err, tt.wantErr)
			}
			checkAnswer(t, written(err), tt.wantStatus, tt.wantChallenge)
		})
	}
}

func proofChallenge(desc string) string {
	return `DPoP error="invalid_dpop_proof", error_description="` + desc + `", algs="ES256 ES384 EdDSA RS256 PS256"`
}

func TestMiddleware_DPoPReplay(t *testing.T) {
	const tok = "dpop-bound-token"
	e := newEnv(t, nil)
	e.as.set(tok, active(e.clock.Now(), map[string]any{"cnf": map[string]string{"jkt": e.p.jkt}}))
	proof := e.p.proof(t, "GET", resourceURL, tok, e.clock.Now(), nil)
	if w := e.serve(request("DPoP "+tok, proof)); w.Code != 200 {
		t.Fatalf("first use: %d %s", w.Code, w.Body)
	}
	w := e.serve(request("DPoP "+tok, proof))
	checkAnswer(t, w, 401, proofChallenge("the DPoP proof was already used"))
	fresh := e.p.proof(t, "GET", resourceURL, tok, e.clock.Now(), nil)
	if w := e.serve(request("DPoP "+tok, fresh)); w.Code != 200 {
		t.Fatalf("fresh proof: %d %s", w.Code, w.Body)
	}
}

func TestMiddleware_DPoPPublicURL(t *testing.T) {
	const tok = "dpop-bound-token"
	e := newEnv(t, func(c *Config) { c.PublicURL = "https://api.example/" })
	e.as.set(tok, active(e.clock.Now(), map[string]any{"cnf": map[string]string{"jkt": e.p.jkt}}))
	ok := e.p.proof(t, "GET", "https://api.example/tickets/42", tok, e.clock.Now(), nil)
	if w := e.serve(request("DPoP "+tok, ok)); w.Code != 200 {
		t.Fatalf("proof for the public URL: %d %s", w.Code, w.Body)
	}
	// The request's Host (rs1.example) is not trusted once PublicURL is set.
	host := e.p.proof(t, "GET", resourceURL, tok, e.clock.Now(), nil)
	checkAnswer(t, e.serve(request("DPoP "+tok, host)), 401, proofChallenge("the DPoP proof is invalid"))
}

func TestReplayCache(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := newReplayCache(2)
	steps := []struct {
		id      string
		until   time.Duration
		at      time.Duration
		wantErr error
	}{
		{"a", 10 * time.Second, 0, nil},
		{"a", 10 * time.Second, time.Second, errReplayed},
		{"b", 20 * time.Second, time.Second, nil},
		{"c", 20 * time.Second, 2 * time.Second, errReplayFull}, // full of live entries: refuse, forget nothing
		{"a", 20 * time.Second, 5 * time.Second, errReplayed},
		{"c", 30 * time.Second, 10 * time.Second, nil}, // a expired at 10s
		{"a", 30 * time.Second, 11 * time.Second, errReplayFull},
		{"a", 40 * time.Second, 20 * time.Second, nil}, // b expired
		{"c", 40 * time.Second, 21 * time.Second, errReplayed},
	}
	for i, s := range steps {
		err := c.use(s.id, now.Add(s.until), now.Add(s.at))
		if !errors.Is(err, s.wantErr) || (s.wantErr == nil) != (err == nil) {
			t.Fatalf("step %d use(%s): %v, want %v", i, s.id, err, s.wantErr)
		}
	}
}

func TestMiddleware_DPoPRequestURLWithoutPublicURL(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name, target, want string
	}{
		{"https", "https://rs1.example/a/b?x=1", "https://rs1.example/a/b"},
		{"http with port", "http://127.0.0.1:8443/mcp", "http://127.0.0.1:8443/mcp"},
		{"escaped path", "https://rs1.example/a%20b", "https://rs1.example/a%20b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.m.requestURL(httptest.NewRequest(http.MethodGet, tt.target, nil)); got != tt.want {
				t.Errorf("requestURL = %q, want %q", got, tt.want)
			}
		})
	}
}

// written renders what Wrap answers for Authorize's result err.
func written(err error) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	var rerr *Error
	switch {
	case err == nil:
		w.WriteHeader(http.StatusOK)
	case errors.As(err, &rerr):
		rerr.Write(w)
	default:
		w.WriteHeader(http.StatusTeapot)
	}
	return w
}

// TestRFC9449_7_1_RefusalsOfDPoPTokensUseTheDPoPScheme: a DPoP-bound
// token's step-up, insufficient scope and denial are challenged with the
// DPoP scheme and its algorithms (and resource_metadata), a bearer token's
// with Bearer; handlers refusing per operation get the same through For.
func TestRFC9449_7_1_RefusalsOfDPoPTokensUseTheDPoPScheme(t *testing.T) {
	const tok = "dpop-bound-token"
	const rm = `, resource_metadata="` + testMetadataURL + `"`
	algs := `, algs="ES256 ES384 EdDSA RS256 PS256"`
	stepUp := `Bearer error="insufficient_user_authentication", error_description="session revalidation required"`
	tests := []struct {
		name          string
		over          map[string]any
		wantStatus    int
		wantChallenge string
	}{
		{"step-up", map[string]any{"risk": verdict("step_up", stepUp)}, 401,
			`DPoP error="insufficient_user_authentication", error_description="session revalidation required"` + algs + rm},
		{"insufficient scope", map[string]any{"scope": "kb.read"}, 403,
			`DPoP error="insufficient_scope", error_description="the token lacks a required scope", scope="tickets.read"` + algs + rm},
		{"deny", map[string]any{"risk": verdict("deny", "")}, 403,
			`DPoP error="access_denied", error_description="the call is denied by risk policy"` + algs + rm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, WithCache(0, 0), WithResourceMetadata(ResourceMetadata{Resource: "https://rs1.example/mcp"}))
			over := map[string]any{"token_type": "DPoP", "cnf": map[string]string{"jkt": e.p.jkt}}
			for k, v := range tt.over {
				over[k] = v
			}
			e.as.set(tok, active(e.clock.Now(), over))
			w := e.serve(request("DPoP "+tok, e.p.proof(t, "GET", resourceURL, tok, e.clock.Now(), nil)))
			if w.Code != tt.wantStatus || w.Header().Get("WWW-Authenticate") != tt.wantChallenge {
				t.Errorf("got %d %q\nwant %d %q", w.Code, w.Header().Get("WWW-Authenticate"), tt.wantStatus, tt.wantChallenge)
			}
		})
	}
	bound, bearer := Claims{JKT: "thumbprint"}, Claims{}
	scope := InsufficientScope("tickets.write")
	if got := scope.For(bearer); got != scope {
		t.Errorf("For a bearer token changed the refusal: %q", got.Challenge)
	}
	want := `DPoP error="insufficient_scope", error_description="the token lacks a required scope", scope="tickets.write"` + algs
	if got := scope.For(bound); got.Challenge != want || scope.Challenge == want {
		t.Errorf("For a DPoP-bound token: %q, want %q (and the original kept)", got.Challenge, want)
	}
}

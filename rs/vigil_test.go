package rs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/internal/server"
	"github.com/vigil-auth/vigil/internal/server/servertest"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// Tools the scripted risk engine answers specially at introspection.
const (
	toolStepUp = "tickets.delete"
	toolDeny   = "tickets.purge"
)

// scriptedRisk is Vigil's default risk engine, except that introspection
// for toolStepUp answers step_up and for toolDeny answers deny. It records
// the usage context of every introspection.
type scriptedRisk struct {
	real   server.Risk
	mu     sync.Mutex
	events []risk.Event
}

func (s *scriptedRisk) Observe(ev risk.Event) risk.Decision {
	d := s.real.Observe(ev)
	if ev.Op != risk.OpIntrospect {
		return d
	}
	s.mu.Lock()
	s.events = append(s.events, ev)
	s.mu.Unlock()
	switch ev.Tool {
	case toolStepUp:
		d.Action, d.Level, d.Score, d.ReportOnly = risk.StepUp, risk.LevelMedium, 50, false
	case toolDeny:
		d.Action, d.Level, d.Score, d.ReportOnly = risk.Deny, risk.LevelHigh, 80, false
	}
	return d
}

func (s *scriptedRisk) last() risk.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.events[len(s.events)-1]
}

// vigil is an in-process Vigil with the conformance clients, plus conf-rs-pk:
// a resource server for rs1 that authenticates with private_key_jwt.
type vigil struct {
	url     string
	secrets map[string]string
	rsKey   *ecdsa.PrivateKey
	risk    *scriptedRisk
}

func startVigil(t *testing.T) *vigil {
	t.Helper()
	f, err := config.Load("../conformance/vigil.yaml")
	if err != nil {
		t.Fatal(err)
	}
	v := &vigil{secrets: map[string]string{}}
	for _, c := range f.Clients {
		v.secrets[c.ID] = c.Secret
	}
	v.rsKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.Clients = append(f.Clients, config.Client{Client: storage.Client{ID: "conf-rs-pk", Kind: "resource_server",
		JWKS: jwksOf(t, v.rsKey), Introspect: []string{"https://rs1.example"}}})
	real, err := risk.New(risk.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	v.risk = &scriptedRisk{real: real}
	s := servertest.Settings()
	s.DPoPNonce = false
	v.url = servertest.Start(t, s, server.WithConfigFile(f, ""), server.WithRisk(v.risk)).URL
	return v
}

func jwksOf(t *testing.T, k *ecdsa.PrivateKey) json.RawMessage {
	t.Helper()
	pub, _ := k.PublicKey.ECDH()
	raw := pub.Bytes()
	b, _ := json.Marshal(map[string]any{"keys": []map[string]string{{"kty": "EC", "crv": "P-256", "kid": "rs-pk-1",
		"alg": "ES256", "use": "sig", "x": b64(raw[1:33]), "y": b64(raw[33:])}}})
	return b
}

// token runs client_credentials for client id and returns the access token.
func (v *vigil) token(t *testing.T, id string, form url.Values, proof string) string {
	t.Helper()
	form.Set("grant_type", "client_credentials")
	req, _ := http.NewRequest(http.MethodPost, v.url+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, v.secrets[id])
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	return v.call(t, req, "access_token")
}

// revoke revokes token as client id (RFC 7009).
func (v *vigil) revoke(t *testing.T, id, token string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, v.url+"/oauth2/revoke", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, v.secrets[id])
	v.call(t, req, "")
}

func (v *vigil) call(t *testing.T, req *http.Request, member string) string {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %v", req.URL.Path, resp.StatusCode, body)
	}
	s, _ := body[member].(string)
	if member != "" && s == "" {
		t.Fatalf("%s: no %s in %v", req.URL.Path, member, body)
	}
	return s
}

// resourceServer is a resource server at https://rs1.example guarded by rs.
type resourceServer struct {
	m *Middleware
}

func (v *vigil) resourceServer(t *testing.T, edit func(*Config), opts ...Option) resourceServer {
	t.Helper()
	cfg := Config{IntrospectionURL: v.url + "/oauth2/introspect", ClientID: "conf-rs1", ClientSecret: v.secrets["conf-rs1"],
		Audience: "https://rs1.example", Issuer: v.url, RequiredScopes: []string{"tickets.read"}}
	if edit != nil {
		edit(&cfg)
	}
	opts = append([]Option{WithTool(func(r *http.Request) string { return r.URL.Query().Get("tool") }),
		WithTenant(func(*http.Request) string { return "acme" })}, opts...)
	m, err := New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return resourceServer{m: m}
}

// get calls the resource at resourceURL?tool=tool and returns the answer and
// the claims the handler saw.
func (s resourceServer) get(auth, tool string, proof string) (*httptest.ResponseRecorder, Claims) {
	r := httptest.NewRequest(http.MethodGet, resourceURL+"?tool="+url.QueryEscape(tool), nil)
	r.RemoteAddr = "192.0.2.7:4444"
	r.Header.Set("Authorization", auth)
	if proof != "" {
		r.Header.Set("DPoP", proof)
	}
	var seen Claims
	w := httptest.NewRecorder()
	s.m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = FromContext(r.Context())
		w.WriteHeader(http.StatusNoContent)
	})).ServeHTTP(w, r)
	return w, seen
}

func TestVigil_EndToEnd(t *testing.T) {
	v := startVigil(t)
	rs1 := v.resourceServer(t, nil, WithCache(0, 0))
	rs1Token := func(t *testing.T) string {
		return v.token(t, "conf-agent", url.Values{"audience": {"https://rs1.example"}, "scope": {"tickets.read"}}, "")
	}

	t.Run("active token passes with claims and usage context", func(t *testing.T) {
		w, c := rs1.get("Bearer "+rs1Token(t), "tickets.get", "")
		if w.Code != http.StatusNoContent || c.ClientID != "conf-agent" || c.Risk == nil || c.Risk.Action != ActionAllow ||
			!c.HasScopes("tickets.read") || c.Issuer != v.url {
			t.Fatalf("status %d (%s), claims %+v", w.Code, w.Body, c)
		}
		ev := v.risk.last()
		if ev.Tool != "tickets.get" || ev.Tenant != "acme" || ev.IP.String() != "192.0.2.7" || ev.Caller != "conf-rs1" {
			t.Errorf("Vigil saw tool %q tenant %q ip %v caller %q", ev.Tool, ev.Tenant, ev.IP, ev.Caller)
		}
	})
	t.Run("revoked token is refused", func(t *testing.T) {
		tok := rs1Token(t)
		v.revoke(t, "conf-agent", tok)
		w, _ := rs1.get("Bearer "+tok, "tickets.get", "")
		checkAnswer(t, w, 401, `Bearer error="invalid_token", error_description="the access token is not active"`)
	})
	t.Run("token for another resource is refused", func(t *testing.T) {
		tok := v.token(t, "conf-agent", url.Values{"audience": {"https://rs2.example"}, "scope": {"tickets.read"}}, "")
		w, _ := rs1.get("Bearer "+tok, "tickets.get", "")
		checkAnswer(t, w, 401, `Bearer error="invalid_token", error_description="the access token is not active"`)
	})
	t.Run("missing scope is refused", func(t *testing.T) {
		strict := v.resourceServer(t, func(c *Config) { c.RequiredScopes = []string{"tickets.write"} })
		w, _ := strict.get("Bearer "+rs1Token(t), "tickets.comment", "")
		checkAnswer(t, w, 403, `Bearer error="insufficient_scope", error_description="the token lacks a required scope", scope="tickets.write"`)
	})
	t.Run("step up carries vigil's challenge", func(t *testing.T) {
		w, _ := rs1.get("Bearer "+rs1Token(t), toolStepUp, "")
		checkAnswer(t, w, 401, `Bearer error="insufficient_user_authentication", error_description="session revalidation required"`)
	})
	t.Run("deny is refused", func(t *testing.T) {
		// Vigil answers a denied token as inactive (RFC 7662 §2.2).
		w, _ := rs1.get("Bearer "+rs1Token(t), toolDeny, "")
		checkAnswer(t, w, 401, `Bearer error="invalid_token", error_description="the access token is not active"`)
	})
	t.Run("wrong resource server secret fails closed", func(t *testing.T) {
		bad := v.resourceServer(t, func(c *Config) { c.ClientSecret = "not-the-secret-0123456789" })
		w, _ := bad.get("Bearer "+rs1Token(t), "tickets.get", "")
		checkAnswer(t, w, 503, "-")
	})
}

func TestVigil_DPoPBoundToken(t *testing.T) {
	v := startVigil(t)
	rs1 := v.resourceServer(t, nil)
	p := newProver(t)
	now := time.Now()
	tokenProof := p.proof(t, http.MethodPost, v.url+"/oauth2/token", "", now, map[string]any{"ath": nil})
	tok := v.token(t, "conf-agent", url.Values{"audience": {"https://rs1.example"}, "scope": {"tickets.read"}}, tokenProof)

	w, c := rs1.get("DPoP "+tok, "tickets.get", p.proof(t, http.MethodGet, resourceURL, tok, now, nil))
	if w.Code != http.StatusNoContent || c.JKT != p.jkt || c.TokenType != "DPoP" {
		t.Fatalf("bound token with proof: %d %s, claims %+v", w.Code, w.Body, c)
	}
	w, _ = rs1.get("Bearer "+tok, "tickets.get", "")
	checkAnswer(t, w, 401, `DPoP error="invalid_token", error_description="the token is DPoP-bound: present it with the DPoP scheme and a proof"`)
	w, _ = rs1.get("DPoP "+tok, "tickets.get", newProver(t).proof(t, http.MethodGet, resourceURL, tok, now, nil))
	checkAnswer(t, w, 401, proofChallenge("the DPoP proof is not by the token's key"))
}

func TestVigil_AssertionAuthenticatedResourceServer(t *testing.T) {
	v := startVigil(t)
	sign, err := NewAssertionSigner(AssertionConfig{ClientID: "conf-rs-pk", Audience: v.url, Key: v.rsKey, KeyID: "rs-pk-1"})
	if err != nil {
		t.Fatal(err)
	}
	rs := v.resourceServer(t, func(c *Config) { c.ClientID, c.ClientSecret, c.ClientAssertion = "conf-rs-pk", "", sign })
	tok := v.token(t, "conf-agent", url.Values{"audience": {"https://rs1.example"}, "scope": {"tickets.read"}}, "")
	for i := range 2 { // a fresh assertion each time: Vigil refuses a replayed jti
		if w, c := rs.get("Bearer "+tok, "tickets.get", ""); w.Code != http.StatusNoContent || c.ClientID != "conf-agent" {
			t.Fatalf("call %d: %d %s", i, w.Code, w.Body)
		}
		rs.m.cache = newLRU(0)
	}
}

package rs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/keys"
)

// Test credentials of the resource server at the fake introspection endpoint.
const (
	testClientID = "rs1"
	testSecret   = "rs1-secret"
	testAudience = "https://rs1.example"
	testIssuer   = "https://vigil.example"
)

// clock is a controllable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Unix(1_800_000_000, 0)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// fakeAS is a fake introspection endpoint: it authenticates the resource
// server with client_secret_basic and answers from a table of tokens.
type fakeAS struct {
	srv     *httptest.Server
	mu      sync.Mutex
	answers map[string]func() (int, string, any) // token -> status, content type, body
	forms   []url.Values
	calls   atomic.Int32
}

func newFakeAS(t testing.TB) *fakeAS {
	t.Helper()
	f := &fakeAS{answers: map[string]func() (int, string, any){}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAS) serve(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	id, secret, ok := r.BasicAuth()
	if !ok || id != testClientID || secret != testSecret || r.ParseForm() != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
		return
	}
	f.mu.Lock()
	f.forms = append(f.forms, r.PostForm)
	answer := f.answers[r.PostForm.Get("token")]
	f.mu.Unlock()
	status, ctype, body := http.StatusOK, "application/json", any(map[string]any{"active": false})
	if answer != nil {
		status, ctype, body = answer()
	}
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(status)
	if s, ok := body.(string); ok {
		_, _ = w.Write([]byte(s))
		return
	}
	_ = json.NewEncoder(w).Encode(body)
}

// set makes token answer body with 200 application/json.
func (f *fakeAS) set(token string, body any) {
	f.setRaw(token, http.StatusOK, "application/json", body)
}

func (f *fakeAS) setRaw(token string, status int, ctype string, body any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[token] = func() (int, string, any) { return status, ctype, body }
}

func (f *fakeAS) lastForm() url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.forms) == 0 {
		return nil
	}
	return f.forms[len(f.forms)-1]
}

// active is an allowing answer for token audience testAudience, valid for
// an hour from now, with scope tickets.read; over replaces members (a nil
// value deletes one).
func active(now time.Time, over map[string]any) map[string]any {
	a := map[string]any{"active": true, "scope": "tickets.read", "client_id": "agent-1", "sub": "agent-1",
		"aud": testAudience, "iss": testIssuer, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(),
		"nbf": now.Unix(), "jti": "tok-1", "token_type": "Bearer", "sid": "sess-1",
		"risk": map[string]any{"level": "none", "score": 0, "action": "allow", "reasons": []string{}}}
	for k, v := range over {
		if v == nil {
			delete(a, k)
		} else {
			a[k] = v
		}
	}
	return a
}

func verdict(action, challenge string) map[string]any {
	v := map[string]any{"level": "medium", "score": 50, "action": action, "reasons": []string{"new_tool"}}
	if challenge != "" {
		v["challenge"] = challenge
	}
	return v
}

// prover signs DPoP proofs with its own P-256 key.
type prover struct {
	key *ecdsa.PrivateKey
	jwk map[string]string
	jkt string
}

func newProver(t testing.TB) prover {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := k.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	raw := pub.Bytes() // 0x04 || X || Y
	jwk := map[string]string{"kty": "EC", "crv": "P-256", "x": b64(raw[1:33]), "y": b64(raw[33:])}
	jb, _ := json.Marshal(jwk)
	jkt, err := keys.Thumbprint(jb)
	if err != nil {
		t.Fatal(err)
	}
	return prover{key: k, jwk: jwk, jkt: jkt}
}

// proof returns a DPoP proof for method and htu, bound to token, issued at
// iat; over replaces claims (a nil value deletes one).
func (p prover) proof(t testing.TB, method, htu, token string, iat time.Time, over map[string]any) string {
	t.Helper()
	claims := map[string]any{"jti": randomID(t), "htm": method, "htu": htu, "iat": iat.Unix(),
		"ath": keys.AccessTokenHash(token)}
	for k, v := range over {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	hb, _ := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": p.jwk})
	cb, _ := json.Marshal(claims)
	input := b64(hb) + "." + b64(cb)
	sig, err := signJWS(p.key, "ES256", []byte(input))
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64(sig)
}

func randomID(t testing.TB) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b64(b)
}

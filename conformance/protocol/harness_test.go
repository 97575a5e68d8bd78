package protocol

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/internal/server"
	"github.com/vigil-auth/vigil/internal/server/servertest"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/memory"
)

// Endpoint paths of the server under test.
const (
	pathToken      = "/oauth2/token"
	pathIntrospect = "/oauth2/introspect"
	pathRevoke     = "/oauth2/revoke"
	pathMetadata   = "/.well-known/oauth-authorization-server"
	pathJWKS       = "/.well-known/jwks.json"

	grantExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	typeAccess    = "urn:ietf:params:oauth:token-type:access_token"
	typeRefresh   = "urn:ietf:params:oauth:token-type:refresh_token"
	typeJWT       = "urn:ietf:params:oauth:token-type:jwt"
	typeIDToken   = "urn:ietf:params:oauth:token-type:id_token"
	typeTxn       = "urn:ietf:params:oauth:token-type:txn_token"
	assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// clock is a controllable time source for the in-process server.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// target is the server under test.
type target struct {
	url     string
	issuer  string
	secrets map[string]string
	clock   *clock        // nil against an external server
	store   storage.Store // nil against an external server
	srv     *server.Server
	http    *http.Client
}

// newTarget starts a fresh in-process server, or returns the external one.
func newTarget(t *testing.T) *target {
	t.Helper()
	f, err := config.Load("../vigil.yaml")
	if err != nil {
		t.Fatalf("load conformance config: %v", err)
	}
	secrets := map[string]string{}
	for _, c := range f.Clients {
		secrets[c.ID] = c.Secret
	}
	if u := os.Getenv("VIGIL_CONFORMANCE_URL"); u != "" {
		return &target{url: strings.TrimSuffix(u, "/"), issuer: discoverIssuer(t, u), secrets: secrets, http: http.DefaultClient}
	}
	return startInProcess(t, f, secrets)
}

func startInProcess(t *testing.T, f *config.File, secrets map[string]string) *target {
	clk := &clock{now: time.Now().Truncate(time.Second)}
	store := memory.New()
	srv := servertest.Start(t, servertest.Settings(), server.WithStore(store), server.WithClock(clk.Now),
		server.WithConfigFile(f, ""), server.WithGetenv(servertest.Env("conf-admin-token")))
	return &target{secrets: secrets, clock: clk, store: store, http: http.DefaultClient,
		url: srv.URL, issuer: srv.URL, srv: srv.Server}
}

func discoverIssuer(t *testing.T, u string) string {
	resp, err := http.Get(strings.TrimSuffix(u, "/") + pathMetadata)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	defer resp.Body.Close()
	var m struct {
		Issuer string `json:"issuer"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || m.Issuer == "" {
		t.Fatalf("discovery: no issuer (%v)", err)
	}
	return m.Issuer
}

// needClock skips tests that move time unless the server is in-process.
func (tg *target) needClock(t *testing.T) *clock {
	t.Helper()
	if tg.clock == nil {
		t.Skip("needs a controllable clock: in-process Vigil only")
	}
	return tg.clock
}

// needStore skips tests that inspect Vigil's storage.
func (tg *target) needStore(t *testing.T) storage.Store {
	t.Helper()
	if tg.store == nil {
		t.Skip("inspects Vigil's storage: in-process Vigil only")
	}
	return tg.store
}

// result is one HTTP answer.
type result struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r result) str(k string) string { s, _ := r.body[k].(string); return s }

// reqOpt changes an outgoing request.
type reqOpt func(*http.Request)

func basic(id, secret string) reqOpt {
	return func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret)) }
}

func header(k, v string) reqOpt { return func(r *http.Request) { r.Header.Add(k, v) } }

// post sends a form POST to path.
func (tg *target) post(t *testing.T, path string, form url.Values, opts ...reqOpt) result {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, tg.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, o := range opts {
		o(req)
	}
	return tg.do(t, req)
}

func (tg *target) do(t *testing.T, req *http.Request) result {
	t.Helper()
	resp, err := tg.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := result{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// as authenticates with client_secret_basic as client id.
func (tg *target) as(id string) reqOpt { return basic(id, tg.secrets[id]) }

// form builds url.Values from key, value pairs.
func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// cc runs client_credentials for client id and fails the test on error.
func (tg *target) cc(t *testing.T, id string, kv ...string) result {
	t.Helper()
	r := tg.post(t, pathToken, form(append([]string{"grant_type", "client_credentials"}, kv...)...), tg.as(id))
	if r.status != 200 {
		t.Fatalf("client_credentials for %s: %d %s", id, r.status, r.raw)
	}
	return r
}

// introspect asks as resource server rs about token.
func (tg *target) introspect(t *testing.T, rs, token string, kv ...string) result {
	t.Helper()
	return tg.post(t, pathIntrospect, form(append([]string{"token", token}, kv...)...), tg.as(rs))
}

// wantError checks an OAuth error answer.
func wantError(t *testing.T, r result, status int, code string) {
	t.Helper()
	if r.status != status || r.str("error") != code {
		t.Fatalf("got %d %s, want %d %s", r.status, r.raw, status, code)
	}
}

// wantInactive checks the exact inactive answer.
func wantInactive(t *testing.T, r result) {
	t.Helper()
	if r.status != 200 || strings.TrimSpace(string(r.raw)) != `{"active":false}` {
		t.Fatalf("got %d %s, want exactly {\"active\":false}", r.status, r.raw)
	}
}

// signer signs compact JWS with an EC P-256 test key (ES256), independently
// of Vigil's own JOSE code.
type signer struct {
	kid string
	key *ecdsa.PrivateKey
}

func loadSigner(t *testing.T, name string) signer {
	t.Helper()
	b, err := os.ReadFile("testdata/keys.json")
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]struct{ Kid, X, Y, D string }
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	k := all[name]
	dec := func(s string) *big.Int {
		v, _ := base64.RawURLEncoding.DecodeString(s)
		return new(big.Int).SetBytes(v)
	}
	priv := &ecdsa.PrivateKey{D: dec(k.D)}
	priv.PublicKey = ecdsa.PublicKey{Curve: elliptic.P256(), X: dec(k.X), Y: dec(k.Y)}
	return signer{kid: k.Kid, key: priv}
}

// sign returns a compact JWS of claims with the given header members.
func (s signer) sign(t *testing.T, hdr map[string]any, claims any) string {
	t.Helper()
	h := map[string]any{"alg": "ES256", "kid": s.kid}
	for k, v := range hdr {
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	hb, _ := json.Marshal(h)
	cb, _ := json.Marshal(claims)
	input := b64(hb) + "." + b64(cb)
	sum := sha256.Sum256([]byte(input))
	r, sgn, err := ecdsa.Sign(rand.Reader, s.key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	sgn.FillBytes(sig[32:])
	return input + "." + b64(sig)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return b64(b)
}

// now is the server's current time: the in-process clock, or the wall clock.
func (tg *target) now() time.Time {
	if tg.clock != nil {
		return tg.clock.Now()
	}
	return time.Now()
}

// assertion returns a client assertion for client id, with claims
// overridden by over (a nil value deletes the claim).
func (tg *target) assertion(t *testing.T, id string, over map[string]any) string {
	now := tg.now()
	claims := map[string]any{"iss": id, "sub": id, "aud": tg.issuer, "jti": randomID(),
		"iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix()}
	for k, v := range over {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	return loadSigner(t, "client").sign(t, nil, claims)
}

// withAssertion authenticates a form with private_key_jwt.
func withAssertion(f url.Values, assertion string) url.Values {
	f.Set("client_assertion_type", assertionType)
	f.Set("client_assertion", assertion)
	return f
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/limits"
	"github.com/vigil-auth/vigil/internal/register"
	"github.com/vigil-auth/vigil/internal/server"
	"github.com/vigil-auth/vigil/internal/server/servertest"
)

const regAdminToken = "vat_registration-test-admin-token-0123456789abcdef"

var b64 = base64.RawURLEncoding

func startWithRegistration(t *testing.T, p *register.Policy) *servertest.Server {
	t.Helper()
	s := servertest.Settings()
	s.Registration = p
	return servertest.Start(t, s, server.WithGetenv(servertest.Env(regAdminToken)))
}

func do(t *testing.T, method, u, auth, ctype, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func TestRFC8414_RegistrationEndpointAdvertised(t *testing.T) {
	on := startWithRegistration(t, &register.Policy{Scopes: []string{"tickets:read"}})
	_, md := do(t, http.MethodGet, on.URL+"/.well-known/oauth-authorization-server", "", "", "")
	if md["registration_endpoint"] != on.URL+register.Path || md["authorization_endpoint"] != on.URL+server.PathAuthorize ||
		len(md["code_challenge_methods_supported"].([]any)) != 1 || len(md["response_types_supported"].([]any)) != 0 {
		t.Fatalf("metadata %v", md)
	}
	off := startWithRegistration(t, nil)
	_, md = do(t, http.MethodGet, off.URL+"/.well-known/oauth-authorization-server", "", "", "")
	if _, ok := md["registration_endpoint"]; ok {
		t.Error("registration_endpoint advertised without a registration policy")
	}
	if code, _ := do(t, http.MethodPost, off.URL+register.Path, "", "application/json", `{}`); code != http.StatusNotFound &&
		code != http.StatusMethodNotAllowed {
		t.Errorf("registration without a policy: %d", code)
	}
	code, body := do(t, http.MethodGet, on.URL+server.PathAuthorize+"?response_type=code&client_id=x", "", "", "")
	if code != http.StatusBadRequest || body["error"] != "unsupported_response_type" {
		t.Errorf("authorization endpoint: %d %v", code, body)
	}
}

// TestRFC7591_RegisteredClientGetsTokens: an admin issues an initial
// access token, a client registers for private_key_jwt with it, and the
// token endpoint accepts the new client's assertion.
func TestRFC7591_RegisteredClientGetsTokens(t *testing.T) {
	srv := startWithRegistration(t, &register.Policy{Scopes: []string{"tickets:read"},
		Audiences: []string{"https://tools.example/mcp"}})
	admin := "Bearer " + regAdminToken
	if code, _ := do(t, http.MethodPost, srv.URL+"/admin/initial-access-tokens", admin, "application/json",
		`{"max_uses":1,"expires_in":"0s"}`); code != http.StatusBadRequest {
		t.Errorf("an initial access token with no life: %d, want 400", code)
	}
	code, it := do(t, http.MethodPost, srv.URL+"/admin/initial-access-tokens", admin, "application/json",
		`{"description":"ci agents","max_uses":1,"expires_in":"10m"}`)
	initial, _ := it["token"].(string)
	if code != http.StatusCreated || !strings.HasPrefix(initial, register.InitialTokenPrefix) {
		t.Fatalf("initial access token: %d %v", code, it)
	}
	_, list := do(t, http.MethodGet, srv.URL+"/admin/initial-access-tokens", admin, "", "")
	if b, _ := json.Marshal(list); strings.Contains(string(b), initial) || !strings.Contains(string(b), "ci agents") {
		t.Errorf("list %s", b)
	}

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	raw, _ := key.PublicKey.Bytes()
	jwks := `{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","alg":"ES256","use":"sig","x":"` + b64.EncodeToString(raw[1:33]) +
		`","y":"` + b64.EncodeToString(raw[33:]) + `"}]}`
	code, reg := do(t, http.MethodPost, srv.URL+register.Path, "Bearer "+initial, "application/json",
		`{"client_name":"agent","token_endpoint_auth_method":"private_key_jwt","jwks":`+jwks+`}`)
	id, _ := reg["client_id"].(string)
	if code != http.StatusCreated || id == "" || reg["scope"] != "tickets:read" {
		t.Fatalf("register: %d %v", code, reg)
	}
	if code, _ := do(t, http.MethodPost, srv.URL+register.Path, "Bearer "+initial, "application/json",
		`{"jwks":`+jwks+`}`); code != http.StatusUnauthorized {
		t.Errorf("the single-use initial token registered twice: %d", code)
	}

	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion(t, key, id, srv.URL)}}
	code, tok := do(t, http.MethodPost, srv.URL+"/oauth2/token", "", "application/x-www-form-urlencoded", form.Encode())
	if code != http.StatusOK || tok["access_token"] == nil {
		t.Fatalf("token for the registered client: %d %v", code, tok)
	}
	code, read := do(t, http.MethodGet, reg["registration_client_uri"].(string), "Bearer "+reg["registration_access_token"].(string), "", "")
	if code != http.StatusOK || read["client_id"] != id {
		t.Errorf("RFC 7592 read: %d %v", code, read)
	}
}

// assertion signs an RFC 7523 client assertion with key.
func assertion(t *testing.T, key *ecdsa.PrivateKey, id, aud string) string {
	t.Helper()
	now := time.Now()
	h, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": "k1"})
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	c, _ := json.Marshal(map[string]any{"iss": id, "sub": id, "aud": aud, "iat": now.Unix(),
		"exp": now.Add(time.Minute).Unix(), "jti": b64.EncodeToString(jti)})
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64.EncodeToString(sig)
}

// registerSecretClient registers a client_secret_basic client with the
// metadata members in extra (JSON object members, without braces).
func registerSecretClient(t *testing.T, srv *servertest.Server, extra string) (id, secret string) {
	t.Helper()
	_, it := do(t, http.MethodPost, srv.URL+"/admin/initial-access-tokens", "Bearer "+regAdminToken, "application/json",
		`{"max_uses":1,"expires_in":"10m"}`)
	body := `{"client_name":"learner","token_endpoint_auth_method":"client_secret_basic"`
	if extra != "" {
		body += "," + extra
	}
	code, reg := do(t, http.MethodPost, srv.URL+register.Path, "Bearer "+it["token"].(string), "application/json", body+"}")
	if code != http.StatusCreated {
		t.Fatalf("register: %d %v", code, reg)
	}
	return reg["client_id"].(string), reg["client_secret"].(string)
}

// TestRFC7591_RegisteredClientStartsLearningFromItsDeclarations: a newly
// registered client has no history, so the risk engine weighs what it
// learns from a client's past only lightly (learning mode) and trusts what
// the client declared at registration. Two new clients use their tokens
// from an address they were not issued at: the one that declared its
// networks, and is outside them, is stopped; the one that declared none is
// let through.
func TestRFC7591_RegisteredClientStartsLearningFromItsDeclarations(t *testing.T) {
	const aud = "https://tools.example/mcp"
	srv := startWithRegistration(t, &register.Policy{Kinds: []string{"service"}, Scopes: []string{"tickets:read"},
		Audiences: []string{aud}, AuthMethods: []string{"client_secret_basic"}})
	const rsSecret = "learn-rs-secret-0123456789abcdefghijklmnop"
	if code, body := do(t, http.MethodPost, srv.URL+"/admin/clients", "Bearer "+regAdminToken, "application/json",
		`{"id":"learn-rs","kind":"resource_server","secret":"`+rsSecret+`","introspect":["`+aud+`"]}`); code != http.StatusCreated {
		t.Fatalf("resource server: %d %v", code, body)
	}
	if code, body := do(t, http.MethodPost, srv.URL+"/admin/resources", "Bearer "+regAdminToken, "application/json",
		`{"audience":"`+aud+`","sensitivity":1}`); code != http.StatusCreated {
		t.Fatalf("resource: %d %v", code, body)
	}
	introspect := func(t *testing.T, id, secret, ip string) map[string]any {
		t.Helper()
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {"tickets:read"}, "resource": {aud}}
		code, tok := do(t, http.MethodPost, srv.URL+"/oauth2/token", basic(id, secret), "application/x-www-form-urlencoded", form.Encode())
		if code != http.StatusOK {
			t.Fatalf("token for %s: %d %v", id, code, tok)
		}
		form = url.Values{"token": {tok["access_token"].(string)}, "tool": {"tickets.get"}, "ip": {ip}}
		code, got := do(t, http.MethodPost, srv.URL+"/oauth2/introspect", basic("learn-rs", rsSecret),
			"application/x-www-form-urlencoded", form.Encode())
		if code != http.StatusOK {
			t.Fatalf("introspect: %d %v", code, got)
		}
		return got
	}
	action := func(got map[string]any) string {
		if got["active"] != true {
			return "inactive"
		}
		r, _ := got["risk"].(map[string]any)
		a, _ := r["action"].(string)
		return a
	}

	declared, declaredSecret := registerSecretClient(t, srv, `"networks":["127.0.0.0/8"],"purposes":["ticket triage"]`)
	if got := introspect(t, declared, declaredSecret, "127.0.0.1"); action(got) != "allow" {
		t.Errorf("a call inside the declared networks: %v", got)
	}
	declared2, declaredSecret2 := registerSecretClient(t, srv, `"networks":["127.0.0.0/8"]`)
	got := introspect(t, declared2, declaredSecret2, "203.0.113.9")
	if a := action(got); a == "allow" {
		t.Errorf("a call outside the declared networks was allowed: %v", got)
	}
	if b, _ := json.Marshal(got); action(got) != "inactive" && !strings.Contains(string(b), "net.new_network") {
		t.Errorf("the refusal does not name the network: %s", b)
	}
	undeclared, undeclaredSecret := registerSecretClient(t, srv, "")
	if got := introspect(t, undeclared, undeclaredSecret, "203.0.113.9"); action(got) != "allow" {
		t.Errorf("a new client without declared networks, from a new network: %v", got)
	}
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// TestRFC7591_JWKSURIFetchedUnderTheCacheLimits: a client registered
// with a jwks_uri has it fetched once at registration, through the JWKS
// cache that verifies assertions (the same client, size limit and cache):
// a document past the size limit, or one that does not answer, is
// invalid_client_metadata; a good one serves the client's assertions
// without another fetch.
func TestRFC7591_JWKSURIFetchedUnderTheCacheLimits(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	raw, _ := key.PublicKey.Bytes()
	jwks := `{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","alg":"ES256","use":"sig","x":"` + b64.EncodeToString(raw[1:33]) +
		`","y":"` + b64.EncodeToString(raw[33:]) + `"}]}`
	var fetches atomic.Int32
	keysrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/jwks.json":
			fetches.Add(1)
			w.Header().Set("Content-Type", "application/jwk-set+json")
			_, _ = io.WriteString(w, jwks)
		case "/huge.json":
			// A valid key set padded past the limit of a fetched JWK Set.
			_, _ = io.WriteString(w, `{"pad":"`+strings.Repeat("x", limits.JWKSDocument)+`",`+jwks[1:])
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(keysrv.Close)
	s := servertest.Settings()
	s.Registration = &register.Policy{Scopes: []string{"tickets:read"}, Audiences: []string{"https://tools.example/mcp"}}
	srv := servertest.Start(t, s, server.WithGetenv(servertest.Env(regAdminToken)), server.WithHTTPClient(keysrv.Client()))

	reg := func(uri string) (int, map[string]any) {
		_, it := do(t, http.MethodPost, srv.URL+"/admin/initial-access-tokens", "Bearer "+regAdminToken, "application/json",
			`{"max_uses":1,"expires_in":"10m"}`)
		return do(t, http.MethodPost, srv.URL+register.Path, "Bearer "+it["token"].(string), "application/json",
			`{"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"`+uri+`"}`)
	}
	for _, path := range []string{"/huge.json", "/missing.json"} {
		if code, body := reg(keysrv.URL + path); code != http.StatusBadRequest || body["error"] != "invalid_client_metadata" {
			t.Errorf("jwks_uri %s: %d %v", path, code, body)
		}
	}
	code, body := reg(keysrv.URL + "/jwks.json")
	id, _ := body["client_id"].(string)
	if code != http.StatusCreated || body["jwks_uri"] != keysrv.URL+"/jwks.json" {
		t.Fatalf("register with a jwks_uri: %d %v", code, body)
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches at registration, want 1", n)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion(t, key, id, srv.URL)}}
	if code, tok := do(t, http.MethodPost, srv.URL+"/oauth2/token", "", "application/x-www-form-urlencoded", form.Encode()); code != http.StatusOK {
		t.Fatalf("token by an assertion verified with the jwks_uri's key: %d %v", code, tok)
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches after the first assertion, want 1 (the cached set)", n)
	}
}

// signES256 signs claims as a compact JWS with key.
func signES256(t *testing.T, key *ecdsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": kid})
	c, _ := json.Marshal(claims)
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64.EncodeToString(sig)
}

func publicJWKS(key *ecdsa.PrivateKey, kid string) string {
	raw, _ := key.PublicKey.Bytes()
	return `{"keys":[{"kty":"EC","crv":"P-256","kid":"` + kid + `","alg":"ES256","use":"sig","x":"` +
		b64.EncodeToString(raw[1:33]) + `","y":"` + b64.EncodeToString(raw[33:]) + `"}]}`
}

// TestRFC7591_2_3_SoftwareStatementSignedByTrustedIssuer: a software
// statement signed by a trusted issuer the policy names is verified with
// that issuer's keys, and its metadata takes precedence over the
// request's; one signed by another key, or from an issuer the policy does
// not name, is refused.
func TestRFC7591_2_3_SoftwareStatementSignedByTrustedIssuer(t *testing.T) {
	const publisher = "https://publisher.example"
	pub, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srv := startWithRegistration(t, &register.Policy{Scopes: []string{"tickets:read", "tickets:write"},
		Audiences: []string{"https://tools.example/mcp"}, AuthMethods: []string{"private_key_jwt", "client_secret_basic"},
		StatementIssuers: []string{publisher}, RequireStatement: true})
	admin := "Bearer " + regAdminToken
	for _, iss := range []struct{ issuer, jwks string }{{publisher, publicJWKS(pub, "pub-1")},
		{"https://other-publisher.example", publicJWKS(forger, "other-1")}} {
		if code, body := do(t, http.MethodPost, srv.URL+"/admin/issuers", admin, "application/json",
			`{"issuer":"`+iss.issuer+`","jwks":`+iss.jwks+`,"audience":"vigil","subjects":[{"subject":"svc","client_id":"svc"}]}`); code != http.StatusCreated {
			t.Fatalf("trusted issuer %s: %d %v", iss.issuer, code, body)
		}
	}
	now := time.Now()
	claims := func(iss string) map[string]any {
		return map[string]any{"iss": iss, "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
			"software_id": "vetted-agent-kit", "client_name": "Vetted Agent", "scope": "tickets:read"}
	}
	submit := func(stmt string) (int, map[string]any) {
		_, it := do(t, http.MethodPost, srv.URL+"/admin/initial-access-tokens", admin, "application/json",
			`{"max_uses":1,"expires_in":"10m"}`)
		body := `{"client_name":"my own name","scope":"tickets:write","token_endpoint_auth_method":"client_secret_basic"`
		if stmt != "" {
			body += `,"software_statement":"` + stmt + `"`
		}
		return do(t, http.MethodPost, srv.URL+register.Path, "Bearer "+it["token"].(string), "application/json", body+"}")
	}
	code, reg := submit(signES256(t, pub, "pub-1", claims(publisher)))
	if code != http.StatusCreated || reg["software_id"] != "vetted-agent-kit" || reg["client_name"] != "Vetted Agent" ||
		reg["scope"] != "tickets:read" {
		t.Fatalf("a statement signed by the trusted issuer: %d %v", code, reg)
	}
	for name, tc := range map[string]struct {
		stmt string
		want string
	}{
		"no statement":                  {"", "unapproved_software_statement"},
		"signed by another key":         {signES256(t, forger, "pub-1", claims(publisher)), "invalid_software_statement"},
		"trusted, but not named":        {signES256(t, forger, "other-1", claims("https://other-publisher.example")), "unapproved_software_statement"},
		"from an unknown issuer":        {signES256(t, pub, "pub-1", claims("https://stranger.example")), "unapproved_software_statement"},
		"payload changed after signing": {tamper(signES256(t, pub, "pub-1", claims(publisher))), "invalid_software_statement"},
	} {
		if code, body := submit(tc.stmt); code != http.StatusBadRequest || body["error"] != tc.want {
			t.Errorf("%s: %d %v, want 400 %s", name, code, body, tc.want)
		}
	}
}

// tamper widens the scope in a signed JWT's payload, keeping the signature.
func tamper(jws string) string {
	parts := strings.Split(jws, ".")
	payload, _ := b64.DecodeString(parts[1])
	var c map[string]any
	_ = json.Unmarshal(payload, &c)
	c["scope"] = "tickets:read tickets:write"
	b, _ := json.Marshal(c)
	return parts[0] + "." + b64.EncodeToString(b) + "." + parts[2]
}

// TestRFC7591_InvalidKeysNeverRegistered: dynamic registration and its
// update (RFC 7592) are entry points of the key rule like the admin API and
// the configuration file: a JWK Set with any key off its curve, of the wrong
// length or private is refused whole, even next to a good key.
func TestRFC7591_InvalidKeysNeverRegistered(t *testing.T) {
	srv := startWithRegistration(t, &register.Policy{Scopes: []string{"tickets:read"}, Open: true})
	good := func() string {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		raw, _ := key.PublicKey.Bytes()
		return `{"kty":"EC","crv":"P-256","kid":"k1","x":"` + b64.EncodeToString(raw[1:33]) + `","y":"` + b64.EncodeToString(raw[33:]) + `"}`
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	raw, _ := key.PublicKey.Bytes()
	x := append([]byte{}, raw[1:33]...)
	x[31] ^= 1
	zero := b64.EncodeToString(make([]byte, 32))
	bad := map[string]string{
		"off curve":         `{"kty":"EC","crv":"P-256","kid":"k2","x":"` + b64.EncodeToString(x) + `","y":"` + b64.EncodeToString(raw[33:]) + `"}`,
		"point at infinity": `{"kty":"EC","crv":"P-256","kid":"k2","x":"` + zero + `","y":"` + zero + `"}`,
		"short coordinate":  `{"kty":"EC","crv":"P-256","kid":"k2","x":"` + b64.EncodeToString(raw[2:33]) + `","y":"` + b64.EncodeToString(raw[33:]) + `"}`,
		"private member":    `{"kty":"EC","crv":"P-256","kid":"k2","x":"` + b64.EncodeToString(raw[1:33]) + `","y":"` + b64.EncodeToString(raw[33:]) + `","d":"` + zero + `"}`,
		"use enc":           `{"kty":"EC","crv":"P-256","kid":"k2","use":"enc","x":"` + b64.EncodeToString(raw[1:33]) + `","y":"` + b64.EncodeToString(raw[33:]) + `"}`,
		"alg mismatch":      `{"kty":"EC","crv":"P-256","kid":"k2","alg":"RS256","x":"` + b64.EncodeToString(raw[1:33]) + `","y":"` + b64.EncodeToString(raw[33:]) + `"}`,
	}
	for name, k := range bad {
		t.Run(name, func(t *testing.T) {
			set := `{"keys":[` + good() + `,` + k + `]}`
			code, body := do(t, http.MethodPost, srv.URL+register.Path, "", "application/json",
				`{"token_endpoint_auth_method":"private_key_jwt","jwks":`+set+`}`)
			if code != http.StatusBadRequest || body["error"] != "invalid_client_metadata" {
				t.Errorf("register: %d %v", code, body)
			}
			code, reg := do(t, http.MethodPost, srv.URL+register.Path, "", "application/json",
				`{"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[`+good()+`]}}`)
			if code != http.StatusCreated {
				t.Fatalf("register a good key: %d %v", code, reg)
			}
			code, body = do(t, http.MethodPut, reg["registration_client_uri"].(string), "Bearer "+reg["registration_access_token"].(string),
				"application/json", `{"client_id":"`+reg["client_id"].(string)+`","token_endpoint_auth_method":"private_key_jwt","jwks":`+set+`}`)
			if code != http.StatusBadRequest || body["error"] != "invalid_client_metadata" {
				t.Errorf("update: %d %v", code, body)
			}
		})
	}
}

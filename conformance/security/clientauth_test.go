package security

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// SECURITY.md §4.1: client authentication. Cases 3, 4 (one direction), 5,
// 7-11, 14 (exp as a string), 15 and 17 are in conformance/protocol.

// SECURITY.md #1: at every endpoint that authenticates clients, an unknown
// client and a wrong secret get the same status, headers and body.
func TestClientAuth_1_IdenticalAtEveryEndpoint(t *testing.T) {
	e := newEnv(t, withMemory())
	at := e.cc(t, "agent").str("access_token")
	bodies := map[string][]string{
		pathToken:      {"grant_type", "client_credentials"},
		pathIntrospect: {"token", at},
		pathRevoke:     {"token", at},
		pathRevalidate: {"token", at},
	}
	for path, kv := range bodies {
		t.Run(path, func(t *testing.T) {
			wrong := e.post(t, path, form(kv...), basic("agent", "vcs_not-the-secret-0123456789abcdefghijklmnop"))
			unknown := e.post(t, path, form(kv...), basic("no-such-client", "vcs_not-the-secret-0123456789abcdefghijklmnop"))
			wantError(t, wrong, 401, "invalid_client")
			if wrong.status != unknown.status || !bytes.Equal(wrong.raw, unknown.raw) {
				t.Fatalf("answers differ:\n%d %s\n%d %s", wrong.status, wrong.raw, unknown.status, unknown.raw)
			}
			for _, h := range []string{"WWW-Authenticate", "Cache-Control", "Content-Type"} {
				if wrong.header.Get(h) != unknown.header.Get(h) {
					t.Errorf("%s differs: %q vs %q", h, wrong.header.Get(h), unknown.header.Get(h))
				}
			}
		})
	}
	wantActive(t, e.introspect(t, "rs1", at)) // the failed revocations left the token alone
}

// SECURITY.md #4 (the reverse of the protocol suite's case): a client
// registered with a secret cannot authenticate with keys it never registered.
func TestClientAuth_4_NoSwitchToUnregisteredMethod(t *testing.T) {
	e := newEnv(t, withMemory())
	attacker := newECKey(t)
	a := sign(t, attacker, map[string]any{"kid": "agent-key"}, e.assertionClaims("agent", nil))
	wantError(t, e.post(t, pathToken, withAssertion(form("grant_type", "client_credentials"), a)), 401, "invalid_client")
}

// SECURITY.md #11: verification uses the registered key's algorithm only:
// RS256 with an RSA key under the registered kid, HS256 keyed with the
// registered public key, and alg none are all refused.
func TestClientAuth_11_AlgorithmAllowList(t *testing.T) {
	e := newEnv(t, withMemory())
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	claims := e.assertionClaims("pkjwt", nil)
	pubJWK := mustJSON(t, ecJWK(&e.keys["pkjwt"].PublicKey, "pkjwt-key"))
	x, _ := ecJWK(&e.keys["pkjwt"].PublicKey, "")["x"].(string)
	cases := map[string]string{
		"RS256 under the registered kid":    sign(t, rk, map[string]any{"alg": "RS256", "kid": "pkjwt-key"}, claims),
		"HS256 keyed with the public JWK":   sign(t, pubJWK, map[string]any{"alg": "HS256", "kid": "pkjwt-key"}, claims),
		"HS256 keyed with the x coordinate": sign(t, []byte(x), map[string]any{"alg": "HS256", "kid": "pkjwt-key"}, claims),
		"alg none":                          sign(t, nil, map[string]any{"alg": "none", "kid": "pkjwt-key"}, claims),
		"alg none, mixed case":              sign(t, nil, map[string]any{"alg": "nOnE", "kid": "pkjwt-key"}, claims),
		"ES384 label on an ES256 signature": sign(t, e.keys["pkjwt"], map[string]any{"alg": "ES384", "kid": "pkjwt-key"}, claims),
	}
	for name, a := range cases {
		t.Run(name, func(t *testing.T) { e.wantAssertion(t, a, false) })
	}
	t.Run("control: ES256 with the registered key", func(t *testing.T) { e.wantAssertion(t, e.assertion(t, "pkjwt", nil), true) })
}

// SECURITY.md #12: keys named by the assertion's own header (jku, x5u,
// jwk) are never fetched or trusted.
func TestClientAuth_12_NoFetchFromTokenHeaders(t *testing.T) {
	e := newEnv(t, withMemory())
	var fetched atomic.Int32
	canary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetched.Add(1)
		w.WriteHeader(http.StatusNotFound)
	}))
	defer canary.Close()
	attacker := newECKey(t)
	claims := e.assertionClaims("pkjwt", nil)
	cases := map[string]map[string]any{
		"jku":            {"kid": "nothing-matches", "jku": canary.URL + "/jwks.json"},
		"x5u":            {"kid": "nothing-matches", "x5u": canary.URL + "/cert.pem"},
		"jwk":            {"kid": "nothing-matches", "jwk": ecJWK(&attacker.PublicKey, "")},
		"jku, known kid": {"kid": "pkjwt-key", "jku": canary.URL + "/jwks.json"},
	}
	for name, hdr := range cases {
		t.Run(name, func(t *testing.T) { e.wantAssertion(t, sign(t, attacker, hdr, claims), false) })
	}
	// The same for a subject token of a trusted issuer.
	sub := sign(t, attacker, map[string]any{"kid": "x", "jku": canary.URL + "/jwks.json"},
		map[string]any{"iss": workloadIssuer, "sub": "system:serviceaccount:ci:b", "aud": "vigil", "exp": e.clock.Now().Add(time.Minute).Unix()})
	r := e.post(t, pathToken, withAssertion(form("grant_type", grantExchange, "subject_token", sub, "subject_token_type", typeJWT),
		e.assertion(t, "pkjwt", nil)))
	wantError(t, r, 400, "invalid_request")
	if n := fetched.Load(); n != 0 {
		t.Fatalf("the server fetched %d URL(s) named by a token header", n)
	}
}

// SECURITY.md #13: critical header parameters Vigil does not understand
// (including RFC 7797's b64) invalidate the assertion.
func TestClientAuth_13_UnknownCriticalHeaders(t *testing.T) {
	e := newEnv(t, withMemory())
	k := e.keys["pkjwt"]
	claims := e.assertionClaims("pkjwt", nil)
	cases := map[string]map[string]any{
		"crit x-ext":             {"kid": "pkjwt-key", "crit": []string{"x-ext"}, "x-ext": true},
		"crit b64 false":         {"kid": "pkjwt-key", "crit": []string{"b64"}, "b64": false},
		"crit names a missing":   {"kid": "pkjwt-key", "crit": []string{"x-missing"}},
		"crit empty list":        {"kid": "pkjwt-key", "crit": []string{}},
		"crit not a list":        {"kid": "pkjwt-key", "crit": "x-ext", "x-ext": 1},
		"b64 false without crit": {"kid": "pkjwt-key", "b64": false},
	}
	for name, hdr := range cases {
		t.Run(name, func(t *testing.T) { e.wantAssertion(t, sign(t, k, hdr, claims), false) })
	}
	t.Run("control: no crit", func(t *testing.T) {
		e.wantAssertion(t, sign(t, k, map[string]any{"kid": "pkjwt-key"}, e.assertionClaims("pkjwt", nil)), true)
	})
}

// SECURITY.md #14, #79: claim sets with duplicate member names, trailing
// data, or absurd numbers are refused, the same way every time.
func TestClientAuth_14_MalformedClaimSets(t *testing.T) {
	e := newEnv(t, withMemory())
	k := e.keys["pkjwt"]
	now := e.clock.Now()
	exp := now.Add(time.Minute).Unix()
	good := string(mustJSON(t, e.assertionClaims("pkjwt", map[string]any{"exp": exp})))
	hdr := mustJSON(t, map[string]any{"alg": "ES256", "kid": "pkjwt-key"})
	cases := map[string]string{
		"exp twice":           strings.TrimSuffix(good, "}") + `,"exp":` + itoa(now.Add(time.Hour).Unix()) + `}`,
		"sub twice":           strings.TrimSuffix(good, "}") + `,"sub":"agent"}`,
		"trailing garbage":    good + `garbage`,
		"second object":       good + `{}`,
		"exp 1e30":            strings.Replace(good, `"exp":`+itoa(exp), `"exp":1e30`, 1),
		"exp negative":        strings.Replace(good, `"exp":`+itoa(exp), `"exp":-1`, 1),
		"exp as a string":     strings.Replace(good, `"exp":`+itoa(exp), `"exp":"`+itoa(exp)+`"`, 1),
		"not an object":       `["iss","sub"]`,
		"aud empty list":      strings.Replace(good, `"aud":"`+e.issuer+`"`, `"aud":[]`, 1),
		"aud empty string":    strings.Replace(good, `"aud":"`+e.issuer+`"`, `"aud":[""]`, 1),
		"aud mixed types":     strings.Replace(good, `"aud":"`+e.issuer+`"`, `"aud":["`+e.issuer+`",{"x":1}]`, 1),
		"jti is a number":     strings.Replace(good, `"jti":"`, `"jti":7,"x":"`, 1),
		"unicode-escaped iss": strings.Replace(good, `"iss":"pkjwt"`, `"iss":"pkjw\u0074\u0000"`, 1),
	}
	for name, payload := range cases {
		t.Run(name, func(t *testing.T) {
			if payload == good {
				t.Fatal("the case did not change the claims")
			}
			for range 2 {
				e.wantAssertion(t, signRaw(t, k, hdr, []byte(payload)), false)
			}
		})
	}
	t.Run("control: unchanged", func(t *testing.T) { e.wantAssertion(t, signRaw(t, k, hdr, []byte(good)), true) })
}

// SECURITY.md #77: hostile key ids name nothing; a key set holding one kid
// twice gives the same answer every time.
func TestClientAuth_77_HostileKeyIDs(t *testing.T) {
	e := newEnv(t, withMemory())
	k := e.keys["pkjwt"]
	for name, kid := range map[string]string{
		"path traversal": "../../../../etc/passwd",
		"sql":            "' OR 1=1 --",
		"6 KiB":          strings.Repeat("k", 6<<10), // the assertion stays within its 8 KiB bound
		"confusable":     "pkjwt-kеy",                // Cyrillic е
		"NUL":            "pkjwt-key\x00",
	} {
		t.Run(name, func(t *testing.T) {
			a := sign(t, k, map[string]any{"kid": kid}, e.assertionClaims("pkjwt", nil))
			r := e.post(t, pathToken, withAssertion(form("grant_type", "client_credentials"), a))
			if name == "6 KiB" && r.status == 400 { // refused for its size before parsing
				return
			}
			wantError(t, r, 401, "invalid_client")
		})
	}
	t.Run("duplicate kid", func(t *testing.T) {
		other := newECKey(t)
		e.editClient(t, "pkjwt", func(c *storage.Client) {
			c.JWKS = mustJSON(t, map[string]any{"keys": []any{ecJWK(&other.PublicKey, "pkjwt-key"), ecJWK(&k.PublicKey, "pkjwt-key")}})
		})
		var first int
		for i := range 4 {
			r := e.post(t, pathToken, withAssertion(form("grant_type", "client_credentials"), e.assertion(t, "pkjwt", nil)))
			if i == 0 {
				first = r.status
			} else if r.status != first {
				t.Fatalf("answer %d is %d, the first was %d: not deterministic", i, r.status, first)
			}
		}
	})
}

// SECURITY.md #16, #87: a deleted client is gone everywhere at once: its
// credentials, its access and refresh tokens, and the tokens exchanged from
// them (by itself or by actors), and the deletion is audited.
func TestClientAuth_16_DeletedClientLosesEverything(t *testing.T) {
	e := newEnv(t)
	first := e.cc(t, "agent", "audience", rs1)
	at, rt := first.str("access_token"), first.str("refresh_token")
	hop := e.exchange(t, "agent", "subject_token", at, "subject_token_type", typeAccess, "audience", rs1).str("access_token")
	delegated := e.delegate(t, "actor1", at, "audience", rs1).str("access_token")
	for _, tok := range []string{at, hop, delegated} {
		wantActive(t, e.introspect(t, "rs1", tok))
	}
	if r := e.admin(t, http.MethodDelete, "/admin/clients/agent", nil); r.status != 200 && r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	for name, tok := range map[string]string{"access token": at, "exchanged": hop, "delegated": delegated} {
		t.Run(name, func(t *testing.T) { wantInactive(t, e.introspect(t, "rs1", tok)) })
	}
	wantError(t, e.cc2(t, "agent"), 401, "invalid_client")
	wantError(t, e.refresh(t, "agent", rt), 401, "invalid_client")
	// The actor cannot keep acting for a deleted subject either.
	wantRefused(t, e.exchange(t, "actor1", "subject_token", delegated, "subject_token_type", typeAccess))
	found := false
	for _, rec := range e.audit(t, storage.AuditFilter{ClientID: "agent"}) {
		found = found || (rec.Type == "admin" && rec.Outcome == "deleted")
	}
	if !found {
		t.Error("no audit record of the deletion")
	}
}

// wantAssertion posts client_credentials authenticated by assertion a and
// checks the answer: success when ok, else 401 invalid_client.
func (e *env) wantAssertion(t testing.TB, a string, ok bool) {
	t.Helper()
	r := e.post(t, pathToken, withAssertion(form("grant_type", "client_credentials"), a))
	if ok && r.status != 200 {
		t.Fatalf("control assertion refused: %d %s", r.status, r.raw)
	}
	if !ok {
		wantError(t, r, 401, "invalid_client")
	}
}

// cc2 is client_credentials that returns the answer whatever it is.
func (e *env) cc2(t testing.TB, id string, kv ...string) result {
	t.Helper()
	return e.post(t, pathToken, form(append([]string{"grant_type", "client_credentials"}, kv...)...), e.as(id))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

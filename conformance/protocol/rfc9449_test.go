package protocol

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
)

// prover makes DPoP proofs (RFC 9449 §4.2) with its own P-256 key.
type prover struct {
	key   *ecdsa.PrivateKey
	nonce string
}

func newProver(t *testing.T) *prover {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &prover{key: k}
}

func (p *prover) jwk() map[string]any {
	return map[string]any{"kty": "EC", "crv": "P-256", "x": b64(p.key.X.FillBytes(make([]byte, 32))),
		"y": b64(p.key.Y.FillBytes(make([]byte, 32)))}
}

// thumbprint is the RFC 7638 thumbprint of the prover's key.
func (p *prover) thumbprint() string {
	j := p.jwk()
	canon := `{"crv":"P-256","kty":"EC","x":"` + j["x"].(string) + `","y":"` + j["y"].(string) + `"}`
	sum := sha256.Sum256([]byte(canon))
	return b64(sum[:])
}

// proof returns a proof for POST htu, with header and claim overrides.
func (p *prover) proof(t *testing.T, htu string, hdr, over map[string]any) string {
	t.Helper()
	h := map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": p.jwk()}
	for k, v := range hdr {
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	c := map[string]any{"jti": randomID(), "htm": "POST", "htu": htu, "iat": time.Now().Unix()}
	if p.nonce != "" {
		c["nonce"] = p.nonce
	}
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	hb, _ := json.Marshal(h)
	cb, _ := json.Marshal(c)
	input := b64(hb) + "." + b64(cb)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, p.key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64(append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...))
}

// dpopPost sends a token request with a proof, fetching a server nonce first
// when the server demands one (RFC 9449 §8).
func (tg *target) dpopPost(t *testing.T, p *prover, f url.Values, opts ...reqOpt) result {
	t.Helper()
	r := tg.post(t, pathToken, f, append(opts, header("DPoP", p.proof(t, tg.issuer+pathToken, nil, nil)))...)
	if r.str("error") == "use_dpop_nonce" {
		p.nonce = r.header.Get("DPoP-Nonce")
		r = tg.post(t, pathToken, f, append(opts, header("DPoP", p.proof(t, tg.issuer+pathToken, nil, nil)))...)
	}
	return r
}

func TestRFC9449_5_BoundAccessToken(t *testing.T) {
	tg := newTarget(t)
	p := newProver(t)
	r := tg.dpopPost(t, p, form("grant_type", "client_credentials"), tg.as("conf-dpop"))
	if r.status != 200 || r.str("token_type") != "DPoP" {
		t.Fatalf("DPoP token: %d %s", r.status, r.raw)
	}
	// SECURITY.md #56: introspection exposes the binding.
	in := tg.introspect(t, "conf-rs1", r.str("access_token"))
	cnf, _ := in.body["cnf"].(map[string]any)
	if in.str("token_type") != "DPoP" || cnf["jkt"] != p.thumbprint() {
		t.Fatalf("introspection: %s (want jkt %s)", in.raw, p.thumbprint())
	}
}

// SECURITY.md #71: a server nonce is demanded with a fresh DPoP-Nonce header.
func TestRFC9449_8_ServerNonce(t *testing.T) {
	tg := newTarget(t)
	p := newProver(t)
	r := tg.post(t, pathToken, form("grant_type", "client_credentials"), tg.as("conf-dpop"),
		header("DPoP", p.proof(t, tg.issuer+pathToken, nil, nil)))
	if r.str("error") != "use_dpop_nonce" {
		t.Skip("server does not require DPoP nonces")
	}
	if r.status != 400 || r.header.Get("DPoP-Nonce") == "" {
		t.Fatalf("nonce challenge: %d %v", r.status, r.header)
	}
	p.nonce = "stale-or-forged"
	r = tg.post(t, pathToken, form("grant_type", "client_credentials"), tg.as("conf-dpop"),
		header("DPoP", p.proof(t, tg.issuer+pathToken, nil, nil)))
	wantError(t, r, 400, "use_dpop_nonce")
}

// SECURITY.md #62-#69 and jti replay: malformed or misdirected proofs.
func TestRFC9449_4_3_ProofChecks(t *testing.T) {
	tg := newTarget(t)
	p := newProver(t)
	tg.dpopPost(t, p, form("grant_type", "client_credentials"), tg.as("conf-dpop")) // learn the nonce
	htu := tg.issuer + pathToken
	withD := p.jwk()
	withD["d"] = b64(p.key.D.FillBytes(make([]byte, 32)))
	now := time.Now()
	tests := map[string]string{
		"typ JWT":            p.proof(t, htu, map[string]any{"typ": "JWT"}, nil),
		"no typ":             p.proof(t, htu, map[string]any{"typ": nil}, nil),
		"private key in jwk": p.proof(t, htu, map[string]any{"jwk": withD}, nil),
		"symmetric jwk":      p.proof(t, htu, map[string]any{"jwk": map[string]any{"kty": "oct", "k": "c2VjcmV0"}}, nil),
		"no jti":             p.proof(t, htu, nil, map[string]any{"jti": nil}),
		"no htm":             p.proof(t, htu, nil, map[string]any{"htm": nil}),
		"no iat":             p.proof(t, htu, nil, map[string]any{"iat": nil}),
		"htm GET":            p.proof(t, htu, nil, map[string]any{"htm": "GET"}),
		"htu other path":     p.proof(t, tg.issuer+pathIntrospect, nil, nil),
		"htu other host":     p.proof(t, "https://evil.example"+pathToken, nil, nil),
		"iat an hour ago":    p.proof(t, htu, nil, map[string]any{"iat": now.Add(-time.Hour).Unix()}),
		"iat an hour ahead":  p.proof(t, htu, nil, map[string]any{"iat": now.Add(time.Hour).Unix()}),
		"not a JWT":          "not-a-jwt",
		"broken signature":   p.proof(t, htu, nil, nil)[:40] + "AAAA" + p.proof(t, htu, nil, nil)[44:],
		"alg none":           b64([]byte(`{"typ":"dpop+jwt","alg":"none"}`)) + "." + b64([]byte(`{"jti":"x","htm":"POST","htu":"`+htu+`","iat":1}`)) + ".",
	}
	for name, proof := range tests {
		t.Run(name, func(t *testing.T) {
			r := tg.post(t, pathToken, form("grant_type", "client_credentials"), tg.as("conf-dpop"), header("DPoP", proof))
			wantError(t, r, 400, "invalid_dpop_proof")
		})
	}
	t.Run("two DPoP headers", func(t *testing.T) {
		r := tg.post(t, pathToken, form("grant_type", "client_credentials"), tg.as("conf-dpop"),
			header("DPoP", p.proof(t, htu, nil, nil)), header("DPoP", p.proof(t, htu, nil, nil)))
		wantError(t, r, 400, "invalid_dpop_proof")
	})
	t.Run("replayed proof", func(t *testing.T) {
		proof := p.proof(t, htu, nil, nil)
		first := tg.post(t, pathToken, form("grant_type", "client_credentials"), tg.as("conf-dpop"), header("DPoP", proof))
		if first.status != 200 {
			t.Fatalf("first use: %d %s", first.status, first.raw)
		}
		wantError(t, tg.post(t, pathToken, form("grant_type", "client_credentials"), tg.as("conf-dpop"), header("DPoP", proof)), 400, "invalid_dpop_proof")
	})
	t.Run("htu with query and fragment accepted", func(t *testing.T) {
		r := tg.post(t, pathToken, form("grant_type", "client_credentials"), tg.as("conf-dpop"),
			header("DPoP", p.proof(t, htu+"?a=b#c", nil, nil)))
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	})
}

// SECURITY.md #47: a bound refresh token needs a proof by the same key.
func TestRFC9449_5_BoundRefresh(t *testing.T) {
	tg := newTarget(t)
	p := newProver(t)
	first := tg.dpopPost(t, p, form("grant_type", "client_credentials"), tg.as("conf-dpop"))
	rt := first.str("refresh_token")
	wantError(t, tg.post(t, pathToken, form("grant_type", "refresh_token", "refresh_token", rt), tg.as("conf-dpop")), 400, "invalid_dpop_proof")
	r := tg.dpopPost(t, p, form("grant_type", "refresh_token", "refresh_token", rt), tg.as("conf-dpop"))
	if r.status != 200 || r.str("token_type") != "DPoP" {
		t.Fatalf("bound refresh: %d %s", r.status, r.raw)
	}
	// A proof by another key is theft of a bound token: refused, and a fact
	// on the session.
	other := newProver(t)
	other.nonce = p.nonce
	r = tg.post(t, pathToken, form("grant_type", "refresh_token", "refresh_token", r.str("refresh_token")), tg.as("conf-dpop"),
		header("DPoP", other.proof(t, tg.issuer+pathToken, nil, nil)))
	wantError(t, r, 400, "invalid_dpop_proof")
}

// In exchange, a bound subject needs a proof by its key, and the issued token is bound to it.
func TestRFC9449_ExchangeKeepsBinding(t *testing.T) {
	tg := newTarget(t)
	p := newProver(t)
	sess := tg.dpopPost(t, p, form("grant_type", "client_credentials"), tg.as("conf-dpop-exchange")).str("access_token")
	ex := form("grant_type", grantExchange, "subject_token", sess, "subject_token_type", typeAccess, "audience", "https://rs1.example")
	wantError(t, tg.post(t, pathToken, ex, tg.as("conf-dpop-exchange")), 400, "invalid_dpop_proof")
	r := tg.dpopPost(t, p, ex, tg.as("conf-dpop-exchange"))
	if r.status != 200 || r.str("token_type") != "DPoP" {
		t.Fatalf("bound exchange: %d %s", r.status, r.raw)
	}
	cnf, _ := tg.introspect(t, "conf-rs1", r.str("access_token")).body["cnf"].(map[string]any)
	if cnf["jkt"] != p.thumbprint() {
		t.Fatalf("exchanged token not bound to the subject's key: %v", cnf)
	}
	other := newProver(t)
	other.nonce = p.nonce
	r = tg.post(t, pathToken, ex, tg.as("conf-dpop-exchange"), header("DPoP", other.proof(t, tg.issuer+pathToken, nil, nil)))
	wantError(t, r, 400, "invalid_dpop_proof")
}

func TestRFC8414_DPoPAlgsAdvertised(t *testing.T) {
	tg := newTarget(t)
	algs, _ := tg.get(t, pathMetadata).body["dpop_signing_alg_values_supported"].([]any)
	if len(algs) == 0 {
		t.Fatal("dpop_signing_alg_values_supported missing")
	}
	for _, a := range algs {
		if s, _ := a.(string); s == "none" || strings.HasPrefix(s, "HS") {
			t.Fatalf("unsafe DPoP alg advertised: %v", a)
		}
	}
}

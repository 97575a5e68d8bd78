package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/memory"
)

// addKeyClient registers resource server id authenticating with
// private_key_jwt (RFC 7523) under key k.
func addKeyClient(b *testing.B, store storage.Store, id string, k *ecdsa.PrivateKey) {
	b.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{{"kty": "EC", "crv": "P-256", "kid": "k1",
		"alg": "ES256", "use": "sig", "x": enc(k.X.FillBytes(make([]byte, 32))), "y": enc(k.Y.FillBytes(make([]byte, 32)))}}})
	ctx := context.Background()
	err := store.Update(ctx, func(w storage.Writer) error {
		return w.PutClient(ctx, storage.Client{ID: id, Kind: storage.KindResourceServer, JWKS: jwks,
			Introspect: []string{"https://rs.example"}})
	})
	if err != nil {
		b.Fatal(err)
	}
}

// assertion signs a client assertion for client id: iss = sub = id, aud the
// issuer, a fresh jti.
func assertion(k *ecdsa.PrivateKey, id string) string {
	enc := base64.RawURLEncoding.EncodeToString
	hb, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": "k1"})
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	now := time.Now().Unix()
	cb, _ := json.Marshal(map[string]any{"iss": id, "sub": id, "aud": benchIssuer, "iat": now, "exp": now + 60, "jti": enc(jti)})
	input := enc(hb) + "." + enc(cb)
	sum := sha256.Sum256([]byte(input))
	r, s, _ := ecdsa.Sign(rand.Reader, k, sum[:])
	return input + "." + enc(append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...))
}

// introspectAs introspects tok authenticating with a client assertion.
func introspectAs(b *testing.B, h http.Handler, tok, clientAssertion string) {
	form := url.Values{"token": {tok}, "client_assertion": {clientAssertion},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}}
	req := httptest.NewRequest(http.MethodPost, benchIssuer+PathIntrospect, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"active":true`) {
		b.Fatalf("introspection: %d %s", rec.Code, rec.Body)
	}
}

// BenchmarkIntrospectionAuth compares what the caller's authentication
// costs an introspection: a client secret (HMAC-SHA256 of a 256-bit
// secret) against private_key_jwt, whose cost is the ES256 verification
// plus the durable record of the assertion's single-use jti (a write
// transaction per request; on bolt, a share of an fsync). The assertion is
// signed outside the timer.
func BenchmarkIntrospectionAuth(b *testing.B) {
	b.Run("client_secret_basic/memory", func(b *testing.B) {
		h := benchServer(b, memory.New())
		tok := call(b, h, PathToken, "agent", url.Values{"grant_type": {"client_credentials"}})["access_token"].(string)
		f := url.Values{"token": {tok}}
		b.ReportAllocs()
		for b.Loop() {
			call(b, h, PathIntrospect, "rs", f)
		}
	})
	for _, st := range []struct {
		name string
		open func(b *testing.B) storage.Store
	}{{"memory", func(*testing.B) storage.Store { return memory.New() }}, {"bolt", openBolt}} {
		b.Run("private_key_jwt/"+st.name, func(b *testing.B) {
			store := st.open(b)
			h := benchServer(b, store)
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			addKeyClient(b, store, "rs-key", k)
			tok := call(b, h, PathToken, "agent", url.Values{"grant_type": {"client_credentials"}})["access_token"].(string)
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				a := assertion(k, "rs-key")
				b.StartTimer()
				introspectAs(b, h, tok, a)
			}
		})
	}
}

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
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/authz"
	"github.com/vigil-auth/vigil/internal/secret"
	"github.com/vigil-auth/vigil/keys"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/bolt"
	"github.com/vigil-auth/vigil/storage/memory"
)

const benchIssuer = "http://vigil.bench"

// benchServer builds a server over store with an agent, an actor and a
// resource server registered.
func benchServer(b testing.TB, store storage.Store) http.Handler {
	b.Helper()
	return benchServerWith(b, store, Deps{})
}

// benchServerWith is benchServer with d's Tracing and Log.
func benchServerWith(b testing.TB, store storage.Store, d Deps) http.Handler {
	b.Helper()
	ctx := context.Background()
	kek := make([]byte, 32)
	_, _ = rand.Read(kek)
	km, err := keys.Open(ctx, store, kek, keys.Config{})
	if err != nil {
		b.Fatal(err)
	}
	h, _ := secret.NewHasher(kek)
	grants := []string{"client_credentials", "refresh_token", "urn:ietf:params:oauth:grant-type:token-exchange"}
	clients := []storage.Client{
		{ID: "agent", Kind: storage.KindAgent, SecretHash: h.Hash(benchSecret("agent")), GrantTypes: grants,
			Scopes: []string{"a", "b"}, Audiences: []string{"https://rs.example"}, MayAct: []string{"actor"}},
		{ID: "actor", Kind: storage.KindAgent, SecretHash: h.Hash(benchSecret("actor")), GrantTypes: grants,
			Scopes: []string{"a", "b"}, Audiences: []string{"https://rs.example"}},
		{ID: "rs", Kind: storage.KindResourceServer, SecretHash: h.Hash(benchSecret("rs")), Introspect: []string{"https://rs.example"}},
	}
	err = store.Update(ctx, func(w storage.Writer) error {
		for _, c := range clients {
			if err := w.PutClient(ctx, c); err != nil {
				return err
			}
		}
		return w.PutResource(ctx, storage.Resource{Audience: "https://rs.example", Sensitivity: 1})
	})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := New(Config{Issuer: benchIssuer, Authz: authz.Config{}}, Deps{Store: store, Keys: km, Hasher: h, RefreshKey: kek, Tracing: d.Tracing, Log: d.Log})
	if err != nil {
		b.Fatal(err)
	}
	return srv.Handler()
}

func benchSecret(id string) string { return id + "-bench-secret-0123456789abcdefghijklmnop" }

func call(b testing.TB, h http.Handler, path, client string, form url.Values, hdr ...string) map[string]any {
	req := httptest.NewRequest(http.MethodPost, benchIssuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, benchSecret(client))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
	}
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return out
}

// BenchmarkClientCredentials measures in-process client_credentials
// issuance: authentication, risk, minting and the storage write, on the
// in-memory store and durably on bbolt (one fsync per commit, shared by
// concurrent requests).
func BenchmarkClientCredentials(b *testing.B) {
	f := url.Values{"grant_type": {"client_credentials"}}
	b.Run("memory", func(b *testing.B) {
		h := benchServer(b, memory.New())
		b.ReportAllocs()
		for b.Loop() {
			call(b, h, PathToken, "agent", f)
		}
	})
	b.Run("bolt-parallel", func(b *testing.B) {
		h := benchServer(b, openBolt(b))
		b.ReportAllocs()
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				call(b, h, PathToken, "agent", f)
			}
		})
	})
}

func openBolt(b *testing.B) storage.Store {
	st, err := bolt.Open(filepath.Join(b.TempDir(), "vigil.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// BenchmarkIntrospection measures one introspection of an active token by
// an authenticated resource server, risk evaluation included.
func BenchmarkIntrospection(b *testing.B) {
	h := benchServer(b, memory.New())
	tok := call(b, h, PathToken, "agent", url.Values{"grant_type": {"client_credentials"}})["access_token"].(string)
	f := url.Values{"token": {tok}, "tool": {"t.get"}, "ip": {"10.0.0.1"}}
	b.ReportAllocs()
	for b.Loop() {
		if call(b, h, PathIntrospect, "rs", f)["active"] != true {
			b.Fatal("inactive")
		}
	}
}

// BenchmarkExchange measures a per-tool-call token exchange: without an
// actor, with an actor, and DPoP-bound.
func BenchmarkExchange(b *testing.B) {
	b.Run("self", func(b *testing.B) {
		h := benchServer(b, memory.New())
		sess := call(b, h, PathToken, "agent", url.Values{"grant_type": {"client_credentials"}})["access_token"].(string)
		f := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {sess},
			"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "audience": {"https://rs.example"}, "scope": {"a"}}
		b.ReportAllocs()
		for b.Loop() {
			call(b, h, PathToken, "agent", f)
		}
	})
	b.Run("actor", func(b *testing.B) {
		h := benchServer(b, memory.New())
		sess := call(b, h, PathToken, "agent", url.Values{"grant_type": {"client_credentials"}})["access_token"].(string)
		actor := call(b, h, PathToken, "actor", url.Values{"grant_type": {"client_credentials"}})["access_token"].(string)
		f := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {sess},
			"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "actor_token": {actor},
			"actor_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "audience": {"https://rs.example"}}
		b.ReportAllocs()
		for b.Loop() {
			call(b, h, PathToken, "actor", f)
		}
	})
	b.Run("dpop", func(b *testing.B) {
		h := benchServer(b, memory.New())
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		sess := call(b, h, PathToken, "agent", url.Values{"grant_type": {"client_credentials"}}, "DPoP", proof(key))["access_token"].(string)
		f := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {sess},
			"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "audience": {"https://rs.example"}}
		b.ReportAllocs()
		for b.Loop() {
			call(b, h, PathToken, "agent", f, "DPoP", proof(key))
		}
	})
}

// proof makes a DPoP proof for the bench server's token endpoint.
func proof(k *ecdsa.PrivateKey) string {
	enc := base64.RawURLEncoding.EncodeToString
	jwk := map[string]string{"kty": "EC", "crv": "P-256", "x": enc(k.X.FillBytes(make([]byte, 32))), "y": enc(k.Y.FillBytes(make([]byte, 32)))}
	hb, _ := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk})
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	cb, _ := json.Marshal(map[string]any{"jti": enc(id), "htm": "POST", "htu": benchIssuer + PathToken, "iat": time.Now().Unix()})
	input := enc(hb) + "." + enc(cb)
	sum := sha256.Sum256([]byte(input))
	r, s, _ := ecdsa.Sign(rand.Reader, k, sum[:])
	return input + "." + enc(append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...))
}

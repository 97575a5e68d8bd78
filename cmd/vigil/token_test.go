package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-auth/vigil/keys"
)

func TestTokenCommands(t *testing.T) {
	var got url.Values
	var user string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		got, user = r.PostForm, ""
		if u, _, ok := r.BasicAuth(); ok {
			user = u
		}
		if r.URL.Path == "/oauth2/revoke" {
			return
		}
		_, _ = w.Write([]byte(`{"access_token":"x","token_type":"Bearer"}`))
	}))
	defer ts.Close()
	env := func(k string) string { return map[string]string{"VIGIL_ADDR": ts.URL}[k] }
	tests := []struct {
		args []string
		want map[string]string
	}{
		{[]string{"token", "get", "--client", "a", "--secret", "s", "--scope", "x y"}, map[string]string{"grant_type": "client_credentials", "scope": "x y"}},
		{[]string{"token", "exchange", "--client", "a", "--secret", "s", "--subject-token", "T", "--actor-token", "A", "--audience", "aud"},
			map[string]string{"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "subject_token": "T", "actor_token": "A",
				"actor_token_type": "urn:ietf:params:oauth:token-type:access_token", "audience": "aud"}},
		{[]string{"token", "introspect", "T", "--client", "rs", "--secret", "s", "--tool", "t"}, map[string]string{"token": "T", "tool": "t"}},
		{[]string{"token", "revoke", "T", "--client", "a", "--secret", "s"}, map[string]string{"token": "T"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[:2], " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			if err := run(context.Background(), tt.args, env, &out, &errb); err != nil {
				t.Fatalf("run: %v %s", err, errb.String())
			}
			for k, v := range tt.want {
				if got.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, got.Get(k), v)
				}
			}
			if user == "" {
				t.Error("no client authentication sent")
			}
		})
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"token", "get"}, env, &out, &errb); err == nil {
		t.Fatal("token get without credentials succeeded")
	}
}

func TestTokenSignJWT(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"token", "sign-jwt", "--key", "../../examples/ci-issuer-key.json",
		"--iss", "https://ci.example", "--sub", "repo:acme/x"}, func(string) string { return "" }, &out, &errb)
	if err != nil {
		t.Fatalf("%v %s", err, errb.String())
	}
	pub, _ := json.Marshal(map[string]any{"keys": []map[string]string{{"kty": "EC", "crv": "P-256", "kid": "ci-demo-1", "alg": "ES256",
		"x": "oGZxXTpGBCihjrV6n7Ckrvwh7ohObHJV1c52r0l5CrA", "y": "KwfNRvNM8ClVAO3O2MLDQBkLCHJkjLXKJk_7YdoEv4c"}}})
	var claims struct {
		Sub string `json:"sub"`
		Aud string `json:"aud"`
	}
	if _, err := keys.VerifyWithJWKS(strings.TrimSpace(out.String()), pub, []string{"ES256"}, &claims); err != nil || claims.Sub != "repo:acme/x" || claims.Aud != "vigil" {
		t.Fatalf("verify: %v %+v", err, claims)
	}
}

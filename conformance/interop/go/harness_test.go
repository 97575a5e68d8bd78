package interop

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/internal/server"
	"github.com/vigil-auth/vigil/internal/server/servertest"
)

// metadata is the part of RFC 8414 authorization server metadata the tests use.
type metadata struct {
	Issuer                string `json:"issuer"`
	TokenEndpoint         string `json:"token_endpoint"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
	RevocationEndpoint    string `json:"revocation_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
}

// vigil is the server under test, as discovered from its metadata.
type vigil struct {
	metadata
	secrets map[string]string
}

// newVigil starts an in-process Vigil with the conformance clients, or uses
// the one at VIGIL_INTEROP_URL.
func newVigil(t *testing.T) *vigil {
	t.Helper()
	f, err := config.Load("../../vigil.yaml")
	if err != nil {
		t.Fatalf("load conformance config: %v", err)
	}
	v := &vigil{secrets: map[string]string{}}
	for _, c := range f.Clients {
		v.secrets[c.ID] = c.Secret
	}
	base := os.Getenv("VIGIL_INTEROP_URL")
	if base == "" {
		base = startInProcess(t, f)
	}
	v.metadata = discover(t, strings.TrimSuffix(base, "/"))
	return v
}

func startInProcess(t *testing.T, f *config.File) string {
	t.Helper()
	s := servertest.Settings()
	s.DPoPNonce = false
	return servertest.Start(t, s, server.WithConfigFile(f, "")).URL
}

// discover reads RFC 8414 metadata and checks that its issuer is base.
func discover(t *testing.T, base string) metadata {
	t.Helper()
	var m metadata
	getJSON(t, base+"/.well-known/oauth-authorization-server", &m)
	if m.Issuer != base || m.TokenEndpoint == "" || m.JWKSURI == "" {
		t.Fatalf("metadata %+v does not fit issuer %s", m, base)
	}
	return m
}

func getJSON(t *testing.T, u string, out any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

// introspect asks as conf-rs1 about token and returns the answer.
func (v *vigil) introspect(t *testing.T, token string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, v.IntrospectionEndpoint, strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("conf-rs1", v.secrets["conf-rs1"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Fatalf("introspection: %d", resp.StatusCode)
	}
	return out
}

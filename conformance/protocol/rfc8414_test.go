package protocol

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func (tg *target) get(t *testing.T, path string) result {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, tg.url+path, nil)
	return tg.do(t, req)
}

func TestRFC8414_3_Metadata(t *testing.T) {
	tg := newTarget(t)
	r := tg.get(t, pathMetadata)
	if r.status != 200 {
		t.Fatalf("metadata: %d", r.status)
	}
	if r.str("issuer") != tg.issuer {
		t.Fatalf("issuer %q != %q", r.str("issuer"), tg.issuer)
	}
	for _, k := range []string{"token_endpoint", "introspection_endpoint", "revocation_endpoint", "jwks_uri"} {
		if !strings.HasPrefix(r.str(k), tg.issuer) {
			t.Errorf("%s = %q", k, r.str(k))
		}
	}
	list := func(k string) []string {
		var out []string
		b, _ := json.Marshal(r.body[k])
		_ = json.Unmarshal(b, &out)
		return out
	}
	if !slices.Contains(list("grant_types_supported"), grantExchange) || !slices.Contains(list("grant_types_supported"), "client_credentials") {
		t.Errorf("grant_types_supported = %v", list("grant_types_supported"))
	}
	for _, k := range []string{"token_endpoint_auth_methods_supported", "introspection_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported"} {
		if !slices.Contains(list(k), "private_key_jwt") || !slices.Contains(list(k), "client_secret_basic") {
			t.Errorf("%s = %v", k, list(k))
		}
	}
	if !slices.Contains(list("scopes_supported"), "tickets.read") {
		t.Errorf("scopes_supported = %v", list("scopes_supported"))
	}
}

// RFC 7517: the JWKS holds public keys only.
func TestRFC7517_5_JWKSPublicOnly(t *testing.T) {
	tg := newTarget(t)
	r := tg.get(t, pathJWKS)
	ks, _ := r.body["keys"].([]any)
	if r.status != 200 || len(ks) == 0 {
		t.Fatalf("jwks: %d %s", r.status, r.raw)
	}
	for _, k := range ks {
		m, _ := k.(map[string]any)
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
			if _, ok := m[private]; ok {
				t.Fatalf("private member %q published", private)
			}
		}
		if m["kid"] == nil || m["alg"] == nil {
			t.Fatalf("key without kid or alg: %v", m)
		}
	}
}

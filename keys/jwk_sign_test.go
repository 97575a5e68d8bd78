package keys

import (
	"os"
	"testing"
)

func TestSignWithJWK(t *testing.T) {
	priv, err := os.ReadFile("../examples/ci-issuer-key.json")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := SignWithJWK(priv, "JWT", map[string]any{"iss": "https://ci.example", "sub": "repo:acme/x", "exp": 4102444800})
	if err != nil {
		t.Fatal(err)
	}
	pub := []byte(`{"keys":[{"kty":"EC","crv":"P-256","kid":"ci-demo-1","use":"sig","alg":"ES256","x":"oGZxXTpGBCihjrV6n7Ckrvwh7ohObHJV1c52r0l5CrA","y":"KwfNRvNM8ClVAO3O2MLDQBkLCHJkjLXKJk_7YdoEv4c"}]}`)
	var out struct {
		Sub string `json:"sub"`
	}
	if _, err := VerifyWithJWKS(raw, pub, []string{"ES256"}, &out); err != nil || out.Sub != "repo:acme/x" {
		t.Fatalf("verify: %v %+v", err, out)
	}
	if _, err := SignWithJWK(pub[9:len(pub)-2], "", map[string]any{}); err == nil {
		t.Fatal("signed with a public key")
	}
}

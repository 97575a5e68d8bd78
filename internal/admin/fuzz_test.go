package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-auth/vigil/internal/oauth"
)

// FuzzDecodeClient checks that any body either decodes or fails with a
// 400/413 invalid_request (never a server error), and that a decoded client
// rendered for output never carries a secret hash.
func FuzzDecodeClient(f *testing.F) {
	for _, seed := range []string{
		`{"id":"a","kind":"agent","scopes":["x"],"access_token_ttl":"15m"}`,
		`{"id":"a","kind":"agent","secret":"0123456789abcdef"}`,
		`{"id":"a","kind":"agent","secret_hash":"hmac-sha256$x"}`,
		`{"id":"a","jwks":{"keys":[{"kty":"EC"}]},"schedule":{"days":"Mon-Fri"}}`,
		`{"id":"a","access_token_ttl":15}`,
		`{"id":"a"}{"id":"b"}`,
		`[`, `null`, `"x"`, `{"created_at":"2026-01-01T00:00:00Z"}`,
		`{"id":"a","unknown":1}`,
		`{"Client":{"id":"a"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in ClientInput
		err := decodeJSON(bytes.NewReader(body), &in)
		if err != nil {
			var oe *oauth.Error
			if !errors.As(err, &oe) || oe.Code != oauth.InvalidRequest ||
				(oe.HTTPStatus() != http.StatusBadRequest && oe.HTTPStatus() != http.StatusRequestEntityTooLarge) {
				t.Fatalf("decode error %v is not a 400/413 invalid_request", err)
			}
			return
		}
		_ = in.Client.WithDefaults().Validate()
		in.SecretHash = "hmac-sha256$leak"
		out, err := json.Marshal(clientOut(in.Client, ""))
		if err != nil {
			return // e.g. a jwks value that is not JSON cannot be rendered
		}
		if strings.Contains(string(out), "leak") || strings.Contains(string(out), "secret_hash") {
			t.Fatalf("output carries the secret hash: %s", out)
		}
	})
}

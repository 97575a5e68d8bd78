package register_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-auth/vigil/internal/register"
)

// FuzzRegister feeds arbitrary bodies to the registration endpoint: it
// must answer 201, 400 or 401, never panic or fail with a 5xx, and a 201
// must describe a client the store holds.
func FuzzRegister(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"scope":"tickets.read"}`, `{"jwks":` + testJWKS + `}`, `{"redirect_uris":["https://a/cb"]}`,
		`{"software_statement":"a.b.c"}`, `{"software_statement":"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL3B1Ymxpc2hlci5leGFtcGxlIn0.good"}`,
		`{"grant_types":null,"contacts":["` + strings.Repeat("x", 600) + `"]}`, `[]`, `"x"`, `{"schedule":{"days":"Mon-Fri"}}`,
		`{"networks":["10.0.0.0/8"],"kind":"service","token_endpoint_auth_method":"client_secret_post"}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		p := policy
		p.Open = true
		e := newEnv(t, p)
		w := e.do(http.MethodPost, register.Path, "", body)
		switch w.Code {
		case http.StatusCreated:
			id, _ := decode(t, w)["client_id"].(string)
			if _, err := e.store.GetClient(t.Context(), id); err != nil {
				t.Fatalf("201 for client %q the store lacks: %v", id, err)
			}
		case http.StatusBadRequest, http.StatusUnauthorized:
		default:
			t.Fatalf("%d %s for %q", w.Code, w.Body, body)
		}
	})
}

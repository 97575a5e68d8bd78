package admin

import (
	_ "embed" // the description is compiled in
	"net/http"
	"slices"

	"github.com/vigil-auth/vigil/internal/oauth"
)

// OpenAPIPath is where the admin API serves its own description.
const OpenAPIPath = "/admin/openapi.json"

// openAPI is the OpenAPI 3.1 description of every admin route: the file
// openapi.json in this package, served as it is.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3.1 description of the admin API (a copy the
// caller may change).
func OpenAPI() []byte { return slices.Clone(openAPI) }

// describe serves the description without a credential: it is the file in
// Vigil's source and names no record of this server, and tooling (client
// generators, API gateways, documentation viewers) fetches it plainly. Any
// method but GET is answered 405.
func (a *API) describe() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			oauth.WriteError(w, r, a.d.Log, &oauth.Error{Code: oauth.InvalidRequest,
				Description: "method " + r.Method + " is not allowed here", Status: http.StatusMethodNotAllowed})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(openAPI)
	})
}

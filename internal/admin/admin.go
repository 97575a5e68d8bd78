// Package admin serves Vigil's admin REST API under /admin/: clients,
// resources and trusted issuers (list, get, create, replace, delete),
// sessions (list, inspect, terminate), signing keys (list, rotate) and the
// audit log (query by client, session and time).
//
// Every request needs "Authorization: Bearer <admin token>", compared in
// constant time; anything else is answered 401 before routing, so an
// unauthenticated caller learns nothing about what exists. Bodies are JSON,
// at most MaxBodySize bytes, decoded strictly (unknown fields are errors).
// Records use the JSON names of package storage, except that a client's
// secret_hash is never accepted or returned: a create or update may carry
// "secret" (plaintext, hashed before it is stored), and a generated secret
// is returned once, as "client_secret", and never again. A replaced record
// is validated whole. Every change is written to the audit log in the same
// transaction as the change itself.
//
// Audiences and issuer URLs may contain "//", which path cleaning would
// collapse, so resources and issuers can also be addressed on the
// collection path with a query parameter: /admin/resources?audience=URL
// and /admin/issuers?issuer=URL.
package admin

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/internal/limits"
	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/internal/secret"
	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/storage"
)

// MaxBodySize is the largest request body the admin API reads, in bytes.
const MaxBodySize = limits.AdminBody

// Terminator ends sessions: it revokes every token of the session and
// records why. authz implements it.
type Terminator interface {
	TerminateSession(ctx context.Context, sid, reason string) error
}

// KeyRotator makes a new active signing key, retiring the current one.
// *keys.Manager implements it.
type KeyRotator interface {
	Rotate(ctx context.Context) error
}

// Deps are the admin API's collaborators. Store, Hasher and Sessions are
// required; Keys is optional (without it /admin/keys answers 404).
type Deps struct {
	Store    storage.Store
	Hasher   *secret.Hasher
	Sessions Terminator
	Keys     KeyRotator
	// Signals receives POST /admin/signals; nil answers 404 there.
	Signals Signaler
	Now     func() time.Time
	Log     *slog.Logger
}

// errNoTerminator reports that Deps.Sessions is missing: sessions cannot be
// ended, so nothing claims they were.
var errNoTerminator = errors.New("admin: no session terminator configured")

// API is the admin REST API. It is safe for concurrent use.
type API struct {
	token string
	d     Deps
}

// New returns the admin API guarded by the bearer token adminToken. An
// empty adminToken disables the API: Mount then registers nothing.
func New(adminToken string, d Deps) *API {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &API{token: adminToken, d: d}
}

// Mount registers the admin routes on r. Each route dispatches its methods
// itself (405 with Allow otherwise), and every path under /admin/ requires
// the admin token, including paths that do not exist.
func (a *API) Mount(r *web.Router) {
	if a.token == "" {
		return
	}
	for _, rt := range a.routes() {
		r.Handle(rt.path, a.auth(rt.methods))
	}
	r.Handle("/admin", a.auth(nil))
	r.Handle("/admin/{rest:.*}", a.auth(nil))
}

// methods maps HTTP methods to handlers for one path.
type methods map[string]http.HandlerFunc

type route struct {
	path    string
	methods methods
}

func (a *API) routes() []route {
	res, iss := resourceKind(), issuerKind()
	return []route{
		{"/admin/clients", methods{http.MethodGet: a.listClients, http.MethodPost: a.createClient}},
		{"/admin/clients/{id}", methods{http.MethodGet: a.getClient, http.MethodPut: a.putClient, http.MethodDelete: a.deleteClient}},
		{"/admin/clients/{id}/secret", methods{http.MethodPost: a.rotateSecret}},
		{"/admin/resources", collection(a, res)},
		{"/admin/resources/{key:.+}", item(a, res)},
		{"/admin/issuers", collection(a, iss)},
		{"/admin/issuers/{key:.+}", item(a, iss)},
		{"/admin/sessions", methods{http.MethodGet: a.listSessions}},
		{"/admin/sessions/{sid}", methods{http.MethodGet: a.getSession}},
		{"/admin/sessions/{sid}/terminate", methods{http.MethodPost: a.terminateSession}},
		{"/admin/signals", methods{http.MethodPost: a.postSignal}},
		{"/admin/keys", methods{http.MethodGet: a.listKeys}},
		{"/admin/keys/rotate", methods{http.MethodPost: a.rotateKeys}},
		{"/admin/audit", methods{http.MethodGet: a.listAudit}},
		{"/admin/initial-access-tokens", methods{http.MethodGet: a.listInitialTokens, http.MethodPost: a.createInitialToken}},
		{"/admin/initial-access-tokens/{id}", methods{http.MethodDelete: a.deleteInitialToken}},
	}
}

// auth checks the admin token, then dispatches by method. A nil m answers
// 404 for an authenticated request.
func (a *API) auth(m methods) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.authenticate(r); err != nil {
			oauth.WriteError(w, r, a.d.Log, err)
			return
		}
		if m == nil {
			oauth.WriteError(w, r, a.d.Log, notFound("no such admin resource"))
			return
		}
		h, ok := m[r.Method]
		if !ok {
			w.Header().Set("Allow", m.allow())
			oauth.WriteError(w, r, a.d.Log, &oauth.Error{Code: oauth.InvalidRequest,
				Description: "method " + r.Method + " is not allowed here", Status: http.StatusMethodNotAllowed})
			return
		}
		h(w, r)
	})
}

func (m methods) allow() string {
	var out []string
	for _, k := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		if _, ok := m[k]; ok {
			out = append(out, k)
		}
	}
	return strings.Join(out, ", ")
}

// authenticate accepts exactly "Bearer <admin token>" (RFC 6750 §2.1).
func (a *API) authenticate(r *http.Request) error {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return (&oauth.Error{Code: oauth.InvalidRequest, Description: "admin token required",
			Status: http.StatusUnauthorized}).WithHeader("WWW-Authenticate", `Bearer realm="vigil-admin"`)
	}
	if !secret.Equal(tok, a.token) {
		return (&oauth.Error{Code: oauth.InvalidToken, Description: "admin token is not valid",
			Status: http.StatusUnauthorized}).WithHeader("WWW-Authenticate", `Bearer realm="vigil-admin", error="invalid_token"`)
	}
	return nil
}

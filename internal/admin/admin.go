// Package admin serves Vigil's admin REST API under /admin/: clients,
// resources and trusted issuers (list, get, create, replace, delete),
// sessions (list, inspect, terminate), single tokens (revoke, by id), the
// risk policy (read; switch report-only), signing keys (list, rotate) and
// the audit log (query by client, session and time).
//
// Every request needs "Authorization: Bearer <admin token>", compared in
// constant time with every admin credential; anything else is answered 401
// before routing, so an unauthenticated caller learns nothing about what
// exists. A credential has a role (see Role): a read-only credential may
// GET and nothing else (403 insufficient_scope). Every change is recorded
// in the audit log under the credential's name (the record's actor). Bodies are JSON,
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
//
// openapi.json in this package describes every route (OpenAPI 3.1); the
// API serves it at GET /admin/openapi.json, the one path under /admin/
// that needs no credential.
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
	// Tokens revokes single tokens (POST /admin/tokens/{id}/revoke); nil
	// answers 404 there.
	Tokens TokenRevoker
	// Policy serves GET /admin/policy and PUT /admin/policy/mode; nil
	// answers 404 there.
	Policy PolicySwitch
	// Notify queues Shared Signals events for registration changes; nil queues nothing.
	Notify Notifier
	// Reload serves POST /admin/reload; nil (no configuration file)
	// answers 404 there.
	Reload Reloader
	// Credentials are admin credentials beside the admin token.
	Credentials Credentials
	Now         func() time.Time
	Log         *slog.Logger
}

// errNoTerminator reports that Deps.Sessions is missing: sessions cannot be
// ended, so nothing claims they were.
var errNoTerminator = errors.New("admin: no session terminator configured")

// TokenRevoker revokes one token by its id, with every token derived from
// it. authz implements it.
type TokenRevoker interface {
	RevokeToken(ctx context.Context, id string) error
}

// API is the admin REST API. It is safe for concurrent use.
type API struct {
	creds Credentials
	d     Deps
}

// New returns the admin API guarded by the bearer token adminToken (the
// credential named DefaultAdminName, role admin) and d.Credentials. With
// neither, the API is disabled: Mount then registers nothing.
func New(adminToken string, d Deps) *API {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	var creds Credentials
	if adminToken != "" {
		creds = append(creds, TokenCredential(DefaultAdminName, RoleAdmin, adminToken))
	}
	creds = append(creds, d.Credentials...)
	return &API{creds: creds, d: d}
}

// Credentials returns the credentials the API accepts, for a console
// signing administrators in with the same ones.
func (a *API) Credentials() Credentials { return a.creds }

// Mount registers the admin routes on r. Each route dispatches its methods
// itself (405 with Allow otherwise), and every path under /admin/ requires
// an admin credential, including paths that do not exist, except the API's
// own description at OpenAPIPath.
func (a *API) Mount(r *web.Router) {
	if len(a.creds) == 0 {
		return
	}
	for _, rt := range a.routes() {
		r.Handle(rt.path, a.auth(rt.methods))
	}
	r.Handle(OpenAPIPath, a.describe())
	r.Handle("/admin", a.auth(nil))
	r.Handle("/admin/{rest:.*}", a.auth(nil))
}

// Internal returns the admin routes for callers in this process that have
// authenticated an administrator themselves (the console): each request
// must carry its principal (WithPrincipal), and is held to its role and
// audited under its name exactly as a request with a bearer token.
func (a *API) Internal() http.Handler {
	r := web.NewRouter()
	for _, rt := range a.routes() {
		r.Handle(rt.path, a.serve(rt.methods, func(r *http.Request) (Principal, error) {
			if p, ok := PrincipalFrom(r.Context()); ok {
				return p, nil
			}
			return Principal{}, &oauth.Error{Code: oauth.InvalidRequest, Description: "no administrator", Status: http.StatusUnauthorized}
		}))
	}
	return r
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
		{"/admin/tokens/{id}/revoke", methods{http.MethodPost: a.revokeToken}},
		{"/admin/policy", methods{http.MethodGet: a.getPolicy}},
		{"/admin/policy/mode", methods{http.MethodPut: a.putPolicyMode}},
		{"/admin/keys", methods{http.MethodGet: a.listKeys}},
		{"/admin/keys/rotate", methods{http.MethodPost: a.rotateKeys}},
		{"/admin/audit", methods{http.MethodGet: a.listAudit}},
		{"/admin/initial-access-tokens", methods{http.MethodGet: a.listInitialTokens, http.MethodPost: a.createInitialToken}},
		{"/admin/initial-access-tokens/{id}", methods{http.MethodDelete: a.deleteInitialToken}},
		{"/admin/reload", methods{http.MethodPost: a.reload}},
		{"/admin/backup", methods{http.MethodPost: a.backup}},
	}
}

// auth checks the bearer credential, then dispatches by method. A nil m
// answers 404 for an authenticated request.
func (a *API) auth(m methods) http.Handler { return a.serve(m, a.authenticate) }

// serve authenticates with authn, holds the principal to its role, and
// dispatches by method with the principal in the request's context.
func (a *API) serve(m methods, authn func(*http.Request) (Principal, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := authn(r)
		if err != nil {
			oauth.WriteError(w, r, a.d.Log, err)
			return
		}
		r = r.WithContext(WithPrincipal(r.Context(), p))
		if !readOnlyMethod(r.Method) && !p.Role.CanChange() {
			oauth.WriteError(w, r, a.d.Log, &oauth.Error{Code: "insufficient_scope", Status: http.StatusForbidden,
				Description: "the credential " + p.Name + " is read-only"})
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

// authenticate accepts exactly "Bearer <admin credential>" (RFC 6750 §2.1).
func (a *API) authenticate(r *http.Request) (Principal, error) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return Principal{}, (&oauth.Error{Code: oauth.InvalidRequest, Description: "admin token required",
			Status: http.StatusUnauthorized}).WithHeader("WWW-Authenticate", `Bearer realm="vigil-admin"`)
	}
	p, ok := a.creds.Authenticate(tok)
	if !ok {
		return Principal{}, (&oauth.Error{Code: oauth.InvalidToken, Description: "admin token is not valid",
			Status: http.StatusUnauthorized}).WithHeader("WWW-Authenticate", `Bearer realm="vigil-admin", error="invalid_token"`)
	}
	p.Via = "admin api"
	return p, nil
}

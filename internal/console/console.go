// Package console serves Vigil's admin console under /console: server-rendered
// HTML pages (html/template) with charts drawn server-side as inline SVG, a
// style sheet and one small script, all embedded in the binary. It fetches
// nothing at run time and needs no JavaScript build.
//
// Administrators sign in with an admin credential (the same tokens the admin
// API accepts) into a server-side session named by an HttpOnly,
// SameSite=Strict cookie (Secure when the issuer is https). A session ends on
// sign-out, after IdleTimeout without a request the administrator made, and
// after MaxAge in any case. Every state-changing request is a POST that must
// carry the session's CSRF token and pass the browser's cross-origin checks
// (Sec-Fetch-Site, Origin); every answer carries a strict
// Content-Security-Policy that allows only the console's own script and
// style sheet.
//
// The console reads the store directly, but every change goes through the
// admin API's own handler (admin.API.Internal) with the signed-in
// administrator as principal: the same validation, the same role check
// (a read-only administrator changes nothing) and the same audit records,
// naming the administrator as actor. Signing in and out are audited too.
package console

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/vigil-auth/vigil/internal/admin"
	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// Prefix is the path the console is served under.
const Prefix = "/console"

// Defaults of Config.
const (
	DefaultIdleTimeout = 15 * time.Minute
	DefaultMaxAge      = 8 * time.Hour
	// MaxSessions bounds the signed-in sessions held at once; the oldest
	// is dropped to make room.
	MaxSessions = 10_000
)

// Config configures the console.
type Config struct {
	// Secure marks the session cookie Secure: set it when browsers reach
	// Vigil over https (the issuer is https).
	Secure bool
	// IdleTimeout ends a session after this long without a request the
	// administrator made (auto-refreshes do not count). Default 15m.
	IdleTimeout time.Duration
	// MaxAge ends a session this long after sign-in. Default 8h.
	MaxAge time.Duration
}

// Authenticator turns an admin credential into its principal.
// admin.Credentials implements it.
type Authenticator interface {
	Authenticate(token string) (admin.Principal, bool)
}

// PolicyControl is the risk policy as the console shows and changes it.
type PolicyControl interface {
	// Policy returns the policy in force.
	Policy() risk.Policy
	// ReportOnly reports whether decisions are advisory now.
	ReportOnly() bool
	// SetReportOnly makes decisions advisory (true) or enforced (false)
	// until the server restarts.
	SetReportOnly(on bool)
	// Check validates a draft policy (YAML) as `vigil policy check` does
	// and describes it.
	Check(draft []byte) (string, error)
}

// BaselineReader returns what the risk engine has learned about a client.
type BaselineReader interface {
	Baseline(clientID string) (risk.Baseline, bool)
}

// LiveCounter counts live sessions by level; *risk.Engine implements it.
type LiveCounter interface {
	LiveSessions(risk.Level) int
}

// Deps are the console's collaborators. Store, Admin and Auth are
// required; Policy and Baselines are optional (their parts of the pages
// say they are unavailable).
type Deps struct {
	// Store is read for the pages; the console writes only the audit
	// records of sign-in and sign-out to it (changes go through Admin).
	Store storage.Store
	// Admin is the admin API's handler for in-process callers
	// (admin.API.Internal): every change goes through it.
	Admin     http.Handler
	Auth      Authenticator
	Policy    PolicyControl
	Baselines BaselineReader
	// Live, when set, counts the sessions the risk engine holds open by
	// the level of their latest decision (the counters behind
	// vigil_risk_live_sessions): the overview's live sessions come from it,
	// whatever the number of sessions. LivePartial says it counts only this
	// instance's share (a cluster member).
	Live        LiveCounter
	LivePartial bool
	Now         func() time.Time
	Log         *slog.Logger
}

// Console is the admin console. It is safe for concurrent use.
type Console struct {
	cfg      Config
	d        Deps
	sessions *sessionStore
	pages    *pages
}

// New returns the console.
func New(cfg Config, d Deps) (*Console, error) {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	return &Console{cfg: cfg, d: d, sessions: newSessionStore(MaxSessions), pages: p}, nil
}

// Mount registers the console's routes on r.
func (c *Console) Mount(r *web.Router) {
	get, post := http.MethodGet, http.MethodPost
	r.Handle(Prefix, c.secured(http.HandlerFunc(c.root)), get)
	r.Handle(Prefix+"/", c.secured(http.HandlerFunc(c.root)), get)
	r.Handle(Prefix+"/login", c.secured(http.HandlerFunc(c.loginPage)), get)
	r.Handle(Prefix+"/login", c.secured(http.HandlerFunc(c.login)), post)
	r.Handle(Prefix+"/logout", c.secured(c.signedIn(c.logout)), post)
	r.Handle(Prefix+"/overview", c.secured(c.signedIn(c.overview)), get)
	r.Handle(Prefix+"/sessions", c.secured(c.signedIn(c.sessionList)), get)
	r.Handle(Prefix+"/audit", c.secured(c.signedIn(c.auditPage)), get)
	r.Handle(Prefix+"/policy", c.secured(c.signedIn(c.policyPage)), get)
	r.Handle(Prefix+"/policy/check", c.secured(c.signedIn(c.policyCheck)), post)
	r.Handle(Prefix+"/policy/mode", c.secured(c.signedIn(c.policyMode)), post)
	r.Handle(Prefix+"/clients", c.secured(c.signedIn(c.clientList)), get)
	r.Handle(Prefix+"/clients", c.secured(c.signedIn(c.recordCreate(clientKind))), post)
	r.Handle(Prefix+"/resources", c.secured(c.signedIn(c.recordList(resourceKind))), get)
	r.Handle(Prefix+"/resources", c.secured(c.signedIn(c.recordCreate(resourceKind))), post)
	r.Handle(Prefix+"/issuers", c.secured(c.signedIn(c.recordList(issuerKind))), get)
	r.Handle(Prefix+"/issuers", c.secured(c.signedIn(c.recordCreate(issuerKind))), post)
	r.Handle(Prefix+"/resource", c.secured(c.signedIn(c.recordPage(resourceKind))), get)
	r.Handle(Prefix+"/resource", c.secured(c.signedIn(c.recordSave(resourceKind))), post)
	r.Handle(Prefix+"/issuer", c.secured(c.signedIn(c.recordPage(issuerKind))), get)
	r.Handle(Prefix+"/issuer", c.secured(c.signedIn(c.recordSave(issuerKind))), post)
	r.Handle(Prefix+"/static/{file}", c.secured(http.HandlerFunc(c.static)), get)
	r.Handle(Prefix+"/clients/{id}", c.secured(c.signedIn(c.clientPage)), get)
	r.Handle(Prefix+"/clients/{id}", c.secured(c.signedIn(c.recordSave(clientKind))), post)
	r.Handle(Prefix+"/sessions/{sid}", c.secured(c.signedIn(c.sessionPage)), get)
	r.Handle(Prefix+"/sessions/{sid}/terminate", c.secured(c.signedIn(c.terminate)), post)
	r.Handle(Prefix+"/sessions/{sid}/signal", c.secured(c.signedIn(c.signal)), post)
	r.Handle(Prefix+"/sessions/{sid}/revoke", c.secured(c.signedIn(c.revoke)), post)
}

// root sends a signed-in administrator to the overview, anyone else to
// the sign-in page.
func (c *Console) root(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.current(r); ok {
		http.Redirect(w, r, Prefix+"/overview", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
}

// asAdmin returns ctx carrying the signed-in administrator for the admin
// API.
func asAdmin(ctx context.Context, s *session) context.Context {
	p := s.principal
	p.Via = "console"
	return admin.WithPrincipal(ctx, p)
}

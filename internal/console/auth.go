package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/vigil-auth/vigil/internal/admin"
	"github.com/vigil-auth/vigil/storage"
)

// Cookie names.
const (
	sessionCookie = "vigil_console"
	// loginCookie carries the sign-in form's CSRF token (double submit):
	// there is no session yet to bind it to.
	loginCookie = "vigil_console_login"
)

// contentSecurityPolicy allows the console's own script, style sheet and
// images, and nothing else: no inline script or style, no framing, forms
// posting only to the console.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// session is one signed-in administrator.
type session struct {
	key       [sha256.Size]byte // SHA-256 of the cookie value
	principal admin.Principal
	csrf      string
	created   time.Time
	seen      time.Time
}

// sessionStore holds the signed-in sessions in memory, keyed by the
// SHA-256 of their cookie value. A restart signs everyone out.
type sessionStore struct {
	mu  sync.Mutex
	m   map[[sha256.Size]byte]*session
	max int
}

func newSessionStore(limit int) *sessionStore {
	return &sessionStore{m: map[[sha256.Size]byte]*session{}, max: limit}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for p and returns its cookie value.
func (st *sessionStore) create(p admin.Principal, now time.Time) (string, *session) {
	val := randomToken()
	s := &session{key: sha256.Sum256([]byte(val)), principal: p, csrf: randomToken(), created: now, seen: now}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.m) >= st.max {
		st.evictOldest()
	}
	st.m[s.key] = s
	return val, s
}

func (st *sessionStore) evictOldest() {
	var oldest *session
	for _, s := range st.m {
		if oldest == nil || s.seen.Before(oldest.seen) {
			oldest = s
		}
	}
	if oldest != nil {
		delete(st.m, oldest.key)
	}
}

// lookup returns the live session of cookie value val. An idle or too old
// session is removed and reported expired. touch records activity.
func (st *sessionStore) lookup(val string, now time.Time, idle, maxAge time.Duration, touch bool) (s *session, expired bool) {
	if val == "" {
		return nil, false
	}
	k := sha256.Sum256([]byte(val))
	st.mu.Lock()
	defer st.mu.Unlock()
	s = st.m[k]
	if s == nil {
		return nil, false
	}
	if now.Sub(s.seen) > idle || now.Sub(s.created) > maxAge {
		delete(st.m, k)
		return nil, true
	}
	if touch {
		s.seen = now
	}
	cp := *s
	return &cp, false
}

func (st *sessionStore) remove(key [sha256.Size]byte) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.m, key)
}

// secured sets the console's security headers and refuses cross-origin
// state-changing requests (http.CrossOriginProtection: Sec-Fetch-Site, then
// Origin against Host) before anything else runs.
func (c *Console) secured(h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.d.Log.WarnContext(r.Context(), "console: cross-origin request refused", "path", r.URL.Path)
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
	}))
	inner := cop.Handler(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cache-Control", "no-store")
		inner.ServeHTTP(w, r)
	})
}

// current returns the request's live session, recording activity unless
// the request is an automatic refresh (auto=1).
func (c *Console) current(r *http.Request) (*session, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, false
	}
	touch := r.URL.Query().Get("auto") != "1"
	s, _ := c.sessions.lookup(ck.Value, c.d.Now(), c.cfg.IdleTimeout, c.cfg.MaxAge, touch)
	return s, s != nil
}

// signedIn runs h for a signed-in administrator. Without a live session a
// GET is sent to the sign-in page (saying why when the session timed out)
// and anything else is answered 401. A POST must carry the session's
// CSRF token in the form field "csrf".
func (c *Console) signedIn(h func(http.ResponseWriter, *http.Request, *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var s *session
		expired := false
		if ck, err := r.Cookie(sessionCookie); err == nil {
			touch := r.URL.Query().Get("auto") != "1"
			s, expired = c.sessions.lookup(ck.Value, c.d.Now(), c.cfg.IdleTimeout, c.cfg.MaxAge, touch)
		}
		if s == nil {
			c.clearCookie(w, sessionCookie)
			if r.Method != http.MethodGet {
				http.Error(w, "sign in first", http.StatusUnauthorized)
				return
			}
			q := url.Values{}
			if expired {
				q.Set("expired", "1")
			}
			if r.URL.Query().Get("auto") != "1" {
				q.Set("next", r.URL.RequestURI())
			}
			to := Prefix + "/login"
			if len(q) > 0 {
				to += "?" + q.Encode()
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost && !validCSRF(w, r, s.csrf) {
			http.Error(w, "the form is stale or forged (CSRF token mismatch): reload the page", http.StatusForbidden)
			return
		}
		h(w, r, s)
	})
}

// validCSRF reports whether r's form carries want.
func validCSRF(w http.ResponseWriter, r *http.Request, want string) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	got := r.PostFormValue("csrf")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// maxFormBytes bounds a console form (a record's JSON, a policy draft).
const maxFormBytes = 256 << 10

func (c *Console) setCookie(w http.ResponseWriter, name, val string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: val, Path: Prefix, HttpOnly: true, Secure: c.cfg.Secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(maxAge / time.Second)})
}

func (c *Console) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: Prefix, HttpOnly: true, Secure: c.cfg.Secure,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// loginPage shows the sign-in form with a fresh login CSRF token.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.current(r); ok {
		http.Redirect(w, r, nextPage(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	msg := ""
	if r.URL.Query().Get("expired") == "1" {
		msg = "Your session ended after a period without activity. Sign in again."
	}
	c.showLogin(w, r, http.StatusOK, msg)
}

// nextPage returns the console page a sign-in should lead to: next when it
// is a path of the console (never another site, nor the sign-in page),
// else the overview.
func nextPage(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Fragment != "" ||
		!strings.HasPrefix(u.Path, Prefix+"/") || strings.HasPrefix(u.Path, Prefix+"/login") ||
		strings.ContainsAny(next, "\\\r\n\t") || strings.HasPrefix(next, "//") || path.Clean(u.Path) != u.Path {
		return Prefix + "/overview"
	}
	return u.RequestURI()
}

func (c *Console) showLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	tok := randomToken()
	c.setCookie(w, loginCookie, tok, 30*time.Minute)
	next := r.URL.Query().Get("next")
	if r.Method == http.MethodPost {
		next = r.PostFormValue("next")
	}
	data := map[string]any{"LoginCSRF": tok, "Error": msg}
	if n := nextPage(next); n != Prefix+"/overview" {
		data["Next"] = n
	}
	c.render(w, r, status, "login", nil, data, titled("Sign in"))
}

// login checks the credential and starts a session. The form must carry
// the token of the login cookie; failures all read the same.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ck, err := r.Cookie(loginCookie)
	form := r.PostFormValue("csrf")
	if err != nil || form == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(form)) != 1 {
		c.showLogin(w, r, http.StatusForbidden, "The sign-in form expired. Try again.")
		return
	}
	p, ok := c.d.Auth.Authenticate(strings.TrimSpace(r.PostFormValue("token")))
	if !ok {
		c.d.Log.WarnContext(r.Context(), "console: sign-in refused")
		c.showLogin(w, r, http.StatusUnauthorized, "That admin credential is not valid.")
		return
	}
	val, _ := c.sessions.create(p, c.d.Now())
	c.clearCookie(w, loginCookie)
	c.setCookie(w, sessionCookie, val, c.cfg.MaxAge)
	c.d.Log.InfoContext(r.Context(), "console: signed in", "admin", p.Name, "role", string(p.Role))
	c.audit(r.Context(), p, "signed in")
	http.Redirect(w, r, nextPage(r.PostFormValue("next")), http.StatusSeeOther)
}

// logout ends the session.
func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	c.sessions.remove(s.key)
	c.clearCookie(w, sessionCookie)
	c.d.Log.InfoContext(r.Context(), "console: signed out", "admin", s.principal.Name)
	c.audit(r.Context(), s.principal, "signed out")
	http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
}

// audit records that administrator p signed in or out (outcome). A refused
// sign-in is logged, not audited: it names no administrator, and anyone
// could fill the audit log with them. A failed write is logged; it does
// not undo the sign-in or sign-out.
func (c *Console) audit(ctx context.Context, p admin.Principal, outcome string) {
	rec := storage.AuditRecord{At: c.d.Now(), Type: "admin", Actor: p.Name, Outcome: outcome, Reason: "console",
		Detail: "role " + string(p.Role)}
	if err := c.d.Store.Update(ctx, func(w storage.Writer) error { return w.AppendAudit(ctx, rec) }); err != nil {
		c.d.Log.ErrorContext(ctx, "console: audit record failed", "outcome", outcome, "err", err)
	}
}

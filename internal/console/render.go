package console

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/internal/admin"
	"github.com/vigil-auth/vigil/internal/web"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageNames are the templates under templates/, each rendered inside
// layout.html.
var pageNames = []string{"login", "overview", "sessions", "session", "client",
	"records", "record", "audit", "policy", "confirm", "secret", "error"}

type pages struct {
	t map[string]*template.Template
}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"join": strings.Join,
	"short": func(s string) string {
		if len(s) <= 12 {
			return s
		}
		return s[:12] + "…"
	},
	"signed": func(v any) string {
		f, ok := v.(float64)
		if !ok {
			return fmt.Sprint(v)
		}
		if f > 0 {
			return "+" + strconv.FormatFloat(f, 'f', -1, 64)
		}
		return "−" + strconv.FormatFloat(-f, 'f', -1, 64)
	},
	"levelClass": func(l string) string {
		switch l {
		case "low", "medium", "high", "critical":
			return "lvl-" + l
		}
		return "lvl-none"
	},
}

func parsePages() (*pages, error) {
	p := &pages{t: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		p.t[name] = t
	}
	return p, nil
}

// view is what every page template receives.
type view struct {
	Title     string
	Nav       string
	Signed    bool
	Admin     admin.Principal
	CanChange bool
	CSRF      string
	Notice    string
	Error     string
	Data      any
}

// notices are the fixed messages a redirect after a change may show
// (?done=KEY): a URL cannot put arbitrary text on a page.
var notices = map[string]string{
	"terminated": "The session was terminated: every token in it is revoked.",
	"revoked":    "The token and every token derived from it are revoked.",
	"signal":     "The signal was delivered to the risk engine.",
	"saved":      "Saved.",
	"created":    "Created.",
	"deleted":    "Deleted.",
	"mode":       "The policy mode was changed.",
}

// render writes page name with status. s may be nil (sign-in page).
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, s *session, data any, extra ...func(*view)) {
	v := view{Title: name, Nav: name, Data: data, Notice: notices[r.URL.Query().Get("done")]}
	if m, ok := data.(map[string]any); ok && m["Error"] != nil {
		v.Error, _ = m["Error"].(string)
	}
	if s != nil {
		v.Signed, v.Admin, v.CanChange, v.CSRF = true, s.principal, s.principal.Role.CanChange(), s.csrf
	}
	for _, f := range extra {
		f(&v)
	}
	var buf bytes.Buffer
	if err := c.pages.t[name].ExecuteTemplate(&buf, "layout.html", v); err != nil {
		c.d.Log.ErrorContext(r.Context(), "console: render failed", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// titled sets the page title.
func titled(t string) func(*view) { return func(v *view) { v.Title = t } }

// nav marks the navigation entry of the page.
func nav(n string) func(*view) { return func(v *view) { v.Nav = n } }

// fail shows an error page.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	c.render(w, r, status, "error", s, map[string]any{"Error": msg}, titled("Error"))
}

// static serves the embedded style sheet and script.
func (c *Console) static(w http.ResponseWriter, r *http.Request) {
	name := web.Var(r, "file")
	b, err := fs.ReadFile(staticFS, "static/"+name)
	if err != nil || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
	w.Header().Set("Cache-Control", "private, max-age=300")
	_, _ = w.Write(b)
}

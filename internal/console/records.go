package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/vigil-auth/vigil/internal/web"
)

// recordKind describes a record type the console lists and edits as JSON,
// through the admin API (which validates it whole, as for any API caller).
type recordKind struct {
	name   string // "resource"
	plural string // "resources": the list member, API and console path
	param  string // the key's JSON name and query parameter
	title  string
}

var (
	clientKind   = recordKind{name: "client", plural: "clients", param: "id", title: "Clients"}
	resourceKind = recordKind{name: "resource", plural: "resources", param: "audience", title: "Resources"}
	issuerKind   = recordKind{name: "issuer", plural: "issuers", param: "issuer", title: "Trusted issuers"}
)

// apiPath is the admin API path of the record with key.
func (k recordKind) apiPath(key string) string {
	if k == clientKind {
		return "/admin/clients/" + url.PathEscape(key)
	}
	return "/admin/" + k.plural + "?" + url.Values{k.param: {key}}.Encode()
}

// pagePath is the console path of the record with key.
func (k recordKind) pagePath(key string) string {
	if k == clientKind {
		return Prefix + "/clients/" + url.PathEscape(key)
	}
	return Prefix + "/" + k.name + "?" + url.Values{k.param: {key}}.Encode()
}

// keyOf returns the record key the request names.
func (k recordKind) keyOf(r *http.Request) string {
	if k == clientKind {
		return web.Var(r, "id")
	}
	return r.URL.Query().Get(k.param)
}

// listRows fetches the records through the admin API as generic maps.
func (c *Console) listRows(r *http.Request, s *session, k recordKind) ([]map[string]any, error) {
	var out map[string][]map[string]any
	if err := c.call(r.Context(), s, http.MethodGet, "/admin/"+k.plural, nil, &out); err != nil {
		return nil, err
	}
	rows := out[k.plural]
	for _, row := range rows {
		key, _ := row[k.param].(string)
		row["_href"] = k.pagePath(key)
	}
	return rows, nil
}

// recordList answers GET /console/resources and /console/issuers.
func (c *Console) recordList(k recordKind) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		c.showRecords(w, r, s, k, http.StatusOK, "", "")
	}
}

func (c *Console) showRecords(w http.ResponseWriter, r *http.Request, s *session, k recordKind, status int, draft, errMsg string) {
	rows, err := c.listRows(r, s, k)
	if err != nil {
		c.fail(w, r, s, http.StatusServiceUnavailable, err.Error())
		return
	}
	if draft == "" {
		draft = newTemplates[k.plural]
	}
	data := map[string]any{"Kind": k.name, "Plural": k.plural, "Param": k.param, "Title": k.title, "Rows": rows,
		"Draft": draft, "Error": errMsg, "Action": Prefix + "/" + k.plural}
	c.render(w, r, status, "records", s, data, titled(k.title), nav(k.plural))
}

// newTemplates prefill the "new record" forms.
var newTemplates = map[string]string{
	"resources": "{\n  \"audience\": \"https://api.example\",\n  \"sensitivity\": 1\n}",
	"issuers":   "{\n  \"issuer\": \"https://issuer.example\",\n  \"jwks_uri\": \"https://issuer.example/jwks\"\n}",
	"clients":   "{\n  \"id\": \"new-agent\",\n  \"kind\": \"agent\",\n  \"grant_types\": [\"client_credentials\"],\n  \"scopes\": [\"tickets:read\"],\n  \"audiences\": [\"https://tickets.example\"]\n}",
}

// recordPage answers GET /console/resource?audience= and /console/issuer?issuer=.
func (c *Console) recordPage(k recordKind) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		c.showRecord(w, r, s, k, http.StatusOK, "", "")
	}
}

// fetchRecord reads one record through the admin API, as indented JSON
// without the server-managed timestamps.
func (c *Console) fetchRecord(r *http.Request, s *session, k recordKind, key string) (map[string]any, string, error) {
	var rec map[string]any
	if err := c.call(r.Context(), s, http.MethodGet, k.apiPath(key), nil, &rec); err != nil {
		return nil, "", err
	}
	edit := map[string]any{}
	for f, v := range rec {
		if f != "created_at" && f != "updated_at" {
			edit[f] = v
		}
	}
	b, _ := json.MarshalIndent(edit, "", "  ")
	return rec, string(b), nil
}

func (c *Console) showRecord(w http.ResponseWriter, r *http.Request, s *session, k recordKind, status int, draft, errMsg string) {
	key := k.keyOf(r)
	rec, text, err := c.fetchRecord(r, s, k, key)
	if err != nil {
		c.fail(w, r, s, http.StatusNotFound, err.Error())
		return
	}
	if draft != "" {
		text = draft
	}
	data := map[string]any{"Kind": k.name, "Plural": k.plural, "Title": k.title, "Key": key, "Rec": rec, "JSON": text,
		"Error": errMsg, "Action": k.pagePath(key)}
	c.render(w, r, status, "record", s, data, titled(k.name+" "+key), nav(k.plural))
}

// recordSave answers POST on a record's page: op=save replaces it with the
// form's JSON (PUT), op=delete asks for confirmation and, confirmed
// (confirm=yes), deletes it.
func (c *Console) recordSave(k recordKind) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		key := k.keyOf(r)
		body := strings.TrimSpace(r.PostFormValue("json"))
		show := func(status int, msg string) {
			if k == clientKind {
				c.showClient(w, r, s, status, body, msg)
				return
			}
			c.showRecord(w, r, s, k, status, body, msg)
		}
		if !s.principal.Role.CanChange() {
			show(http.StatusForbidden, "Your role is read-only: you cannot change anything.")
			return
		}
		var err error
		done := "saved"
		switch r.PostFormValue("op") {
		case "delete":
			if r.PostFormValue("confirm") != "yes" {
				c.render(w, r, http.StatusOK, "confirm", s, map[string]any{"Delete": true, "Kind": k.name, "Key": key,
					"Action": k.pagePath(key)}, titled("Confirm deletion"), nav(k.plural))
				return
			}
			err, done = c.call(r.Context(), s, http.MethodDelete, k.apiPath(key), nil, nil), "deleted"
		case "save":
			err = c.call(r.Context(), s, http.MethodPut, k.apiPath(key), []byte(body), nil)
		default:
			err = errors.New("unknown operation")
		}
		if err != nil {
			show(statusOf(err), err.Error())
			return
		}
		to := k.pagePath(key)
		if done == "deleted" {
			to = Prefix + "/" + k.plural
		}
		http.Redirect(w, r, addDone(to, done), http.StatusSeeOther)
	}
}

// recordCreate answers POST /console/{plural}: the form's JSON is created
// through the admin API. A client's generated secret is shown once.
func (c *Console) recordCreate(k recordKind) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		body := strings.TrimSpace(r.PostFormValue("json"))
		if !s.principal.Role.CanChange() {
			c.showRecords(w, r, s, k, http.StatusForbidden, body, "Your role is read-only: you cannot change anything.")
			return
		}
		var out map[string]any
		if err := c.call(r.Context(), s, http.MethodPost, "/admin/"+k.plural, []byte(body), &out); err != nil {
			c.showRecords(w, r, s, k, statusOf(err), body, err.Error())
			return
		}
		key, _ := out[k.param].(string)
		if sec, _ := out["client_secret"].(string); sec != "" {
			c.render(w, r, http.StatusCreated, "secret", s, map[string]any{"Secret": sec, "Key": key, "Next": k.pagePath(key)},
				titled("Client created"), nav(k.plural))
			return
		}
		http.Redirect(w, r, addDone(k.pagePath(key), "created"), http.StatusSeeOther)
	}
}

func addDone(to, done string) string {
	if strings.Contains(to, "?") {
		return to + "&done=" + done
	}
	return to + "?done=" + done
}

func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return http.StatusBadRequest
}

package admin_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	validator "github.com/pb33f/libopenapi-validator"

	"github.com/vigil-auth/vigil/internal/admin"
	"github.com/vigil-auth/vigil/storage"
)

// call is one request of the drive, in order: later calls see what
// earlier ones changed.
type call struct {
	op     string // the described operation, "METHOD /template"
	path   string // the concrete path and query
	body   string // "" sends no body
	status int
	// invalid marks a request that breaks the description on purpose (a
	// malformed body, a missing parameter): only its answer is validated.
	invalid bool
	before  func(w *world)
}

func seed(sid, client string) func(w *world) {
	return func(w *world) {
		ctx := w.t.Context()
		err := w.store.Update(ctx, func(wr storage.Writer) error {
			s := storage.Session{ID: sid, ClientID: client, Subject: client, Origin: "192.0.2.7", CreatedAt: t0,
				ExpiresAt: t0.Add(time.Hour), Status: storage.SessionActive,
				Facts: []storage.Fact{{Code: "replay", Points: 40, At: t0}}}
			if err := wr.CreateSession(ctx, s); err != nil {
				return err
			}
			tok := storage.Token{ID: sid + "-at", Kind: storage.AccessToken, Format: "opaque", ClientID: client, Subject: client,
				SessionID: sid, Scopes: []string{"tickets:read"}, IssuedAt: t0, NotBefore: t0, ExpiresAt: t0.Add(time.Hour)}
			if err := wr.CreateToken(ctx, tok); err != nil {
				return err
			}
			return wr.AppendEvent(ctx, storage.Event{SessionID: sid, At: t0, Type: "token", ClientID: client, Score: 12,
				Level: "low", Action: "allow", Reasons: []storage.Reason{{Code: "new.audience", Points: 12}}})
		})
		if err != nil {
			w.t.Fatal(err)
		}
	}
}

const (
	agent     = `{"id":"a1","kind":"agent","grant_types":["client_credentials","refresh_token"],"scopes":["tickets:read"],"audiences":["https://tickets.example"],"access_token_ttl":"15m"}`
	keyClient = `{"id":"k1","kind":"service","jwks_uri":"https://keys.example/jwks.json"}`
	resource  = `{"audience":"https://tickets.example","sensitivity":2,"tactic":"collection"}`
	urnRes    = `{"audience":"urn:vigil:billing","sensitivity":3}`
	issuer    = `{"issuer":"https://ci.example","jwks_uri":"https://ci.example/jwks","audience":"vigil","subjects":[{"subject":"repo:acme/*","client_id":"a1"}]}`
	iss2      = `{"issuer":"https://k8s.example","jwks_uri":"https://k8s.example/jwks","audience":"vigil","subjects":[{"subject":"system:serviceaccount:ci:*","client_id":"a1"}]}`
)

var (
	tickets = url.QueryEscape("https://tickets.example")
	ci      = url.QueryEscape("https://ci.example")
)

// driveCalls exercise every operation's success and its main errors.
func driveCalls() []call {
	return []call{
		{op: "GET /admin/openapi.json", path: "/admin/openapi.json", status: 200},
		// clients
		{op: "POST /admin/clients", path: "/admin/clients", body: agent, status: 201},
		{op: "POST /admin/clients", path: "/admin/clients", body: keyClient, status: 201},
		{op: "POST /admin/clients", path: "/admin/clients", body: agent, status: 409},
		{op: "POST /admin/clients", path: "/admin/clients", body: `{"id":"b","kind":"robot"}`, status: 400, invalid: true},
		{op: "POST /admin/clients", path: "/admin/clients", body: `{"id":"b","colour":"red"}`, status: 400, invalid: true},
		{op: "POST /admin/clients", path: "/admin/clients", body: `{"id":`, status: 400, invalid: true},
		{op: "GET /admin/clients", path: "/admin/clients", status: 200},
		{op: "GET /admin/clients/{id}", path: "/admin/clients/a1", status: 200},
		{op: "GET /admin/clients/{id}", path: "/admin/clients/nobody", status: 404},
		{op: "PUT /admin/clients/{id}", path: "/admin/clients/a1", body: strings.Replace(agent, `"15m"`, `"10m"`, 1), status: 200},
		{op: "PUT /admin/clients/{id}", path: "/admin/clients/a2", body: strings.Replace(agent, `"a1"`, `"a2"`, 1), status: 404},
		{op: "PUT /admin/clients/{id}", path: "/admin/clients/a1", body: strings.Replace(agent, `"a1"`, `"zz"`, 1), status: 400},
		{op: "POST /admin/clients/{id}/secret", path: "/admin/clients/a1/secret", status: 200},
		{op: "POST /admin/clients/{id}/secret", path: "/admin/clients/k1/secret", status: 400},
		{op: "POST /admin/clients/{id}/secret", path: "/admin/clients/nobody/secret", status: 404},
		// resources, by query and by path
		{op: "POST /admin/resources", path: "/admin/resources", body: resource, status: 201},
		{op: "POST /admin/resources", path: "/admin/resources", body: urnRes, status: 201},
		{op: "POST /admin/resources", path: "/admin/resources", body: resource, status: 409},
		{op: "POST /admin/resources", path: "/admin/resources", body: `{"audience":"x","sensitivity":9}`, status: 400, invalid: true},
		{op: "GET /admin/resources", path: "/admin/resources", status: 200},
		{op: "GET /admin/resources", path: "/admin/resources?audience=" + tickets, status: 200},
		{op: "GET /admin/resources", path: "/admin/resources?audience=nothing", status: 404},
		{op: "PUT /admin/resources", path: "/admin/resources?audience=" + tickets, body: `{"sensitivity":4}`, status: 200},
		{op: "PUT /admin/resources", path: "/admin/resources?audience=nothing", body: `{"sensitivity":4}`, status: 404},
		{op: "PUT /admin/resources", path: "/admin/resources", body: `{"sensitivity":4}`, status: 400, invalid: true},
		{op: "GET /admin/resources/{key}", path: "/admin/resources/urn:vigil:billing", status: 200},
		{op: "GET /admin/resources/{key}", path: "/admin/resources/urn:vigil:nothing", status: 404},
		{op: "PUT /admin/resources/{key}", path: "/admin/resources/urn:vigil:billing", body: `{"sensitivity":4}`, status: 200},
		{op: "PUT /admin/resources/{key}", path: "/admin/resources/urn:vigil:nothing", body: `{"sensitivity":4}`, status: 404},
		{op: "PUT /admin/resources/{key}", path: "/admin/resources/urn:vigil:billing", body: `{"sensitivity":0}`, status: 400, invalid: true},
		{op: "DELETE /admin/resources/{key}", path: "/admin/resources/urn:vigil:billing", status: 204},
		{op: "DELETE /admin/resources/{key}", path: "/admin/resources/urn:vigil:billing", status: 404},
		{op: "DELETE /admin/resources", path: "/admin/resources?audience=" + tickets, status: 204},
		{op: "DELETE /admin/resources", path: "/admin/resources?audience=" + tickets, status: 404},
		{op: "DELETE /admin/resources", path: "/admin/resources", status: 400, invalid: true},
		// trusted issuers
		{op: "POST /admin/issuers", path: "/admin/issuers", body: issuer, status: 201},
		{op: "POST /admin/issuers", path: "/admin/issuers", body: iss2, status: 201},
		{op: "POST /admin/issuers", path: "/admin/issuers", body: issuer, status: 409},
		{op: "POST /admin/issuers", path: "/admin/issuers", body: `{"issuer":"http://plain.example"}`, status: 400},
		{op: "GET /admin/issuers", path: "/admin/issuers", status: 200},
		{op: "GET /admin/issuers", path: "/admin/issuers?issuer=" + ci, status: 200},
		{op: "GET /admin/issuers", path: "/admin/issuers?issuer=nothing", status: 404},
		{op: "PUT /admin/issuers", path: "/admin/issuers?issuer=" + ci, body: strings.Replace(issuer, `"vigil"`, `"vigil-2"`, 1), status: 200},
		{op: "PUT /admin/issuers", path: "/admin/issuers?issuer=nothing", body: issuer, status: 400},
		{op: "PUT /admin/issuers", path: "/admin/issuers?issuer=" + url.QueryEscape("https://none.example"), body: `{"jwks_uri":"https://none.example/jwks","audience":"v","subjects":[{"subject":"s","client_id":"a1"}]}`, status: 404},
		{op: "PUT /admin/issuers", path: "/admin/issuers", body: issuer, status: 400, invalid: true},
		{op: "GET /admin/issuers/{key}", path: "/admin/issuers/https:%2F%2Fk8s.example", status: 200},
		{op: "GET /admin/issuers/{key}", path: "/admin/issuers/https:%2F%2Fnone.example", status: 404},
		{op: "PUT /admin/issuers/{key}", path: "/admin/issuers/https:%2F%2Fk8s.example", body: strings.Replace(iss2, `"vigil"`, `"vigil-3"`, 1), status: 200},
		{op: "PUT /admin/issuers/{key}", path: "/admin/issuers/https:%2F%2Fk8s.example", body: `{"audience":"v"}`, status: 400},
		{op: "PUT /admin/issuers/{key}", path: "/admin/issuers/https:%2F%2Fnone.example", body: `{"jwks_uri":"https://none.example/jwks","audience":"v","subjects":[{"subject":"s","client_id":"a1"}]}`, status: 404},
		{op: "DELETE /admin/issuers/{key}", path: "/admin/issuers/https:%2F%2Fk8s.example", status: 204},
		{op: "DELETE /admin/issuers/{key}", path: "/admin/issuers/https:%2F%2Fk8s.example", status: 404},
		{op: "DELETE /admin/issuers", path: "/admin/issuers?issuer=" + ci, status: 204},
		{op: "DELETE /admin/issuers", path: "/admin/issuers?issuer=" + ci, status: 404},
		{op: "DELETE /admin/issuers", path: "/admin/issuers", status: 400, invalid: true},
		// sessions, signals, tokens
		{op: "GET /admin/sessions", path: "/admin/sessions", status: 200, before: seed("ses_1", "a1")},
		{op: "GET /admin/sessions", path: "/admin/sessions?client=a1&status=active&limit=5", status: 200, before: seed("ses_2", "a1")},
		{op: "GET /admin/sessions", path: "/admin/sessions?status=sleeping", status: 400, invalid: true},
		{op: "GET /admin/sessions", path: "/admin/sessions?limit=0", status: 400, invalid: true},
		{op: "GET /admin/sessions", path: "/admin/sessions?created_from=2026-03-17T09:00:00Z&created_to=1m", status: 200},
		{op: "GET /admin/sessions", path: "/admin/sessions?created_from=yesterday", status: 400},
		{op: "GET /admin/sessions/{sid}", path: "/admin/sessions/ses_1", status: 200},
		{op: "GET /admin/sessions/{sid}", path: "/admin/sessions/ses_none", status: 404},
		{op: "POST /admin/signals", path: "/admin/signals", body: `{"sid":"ses_1","type":"risk-level-change","level":"high","reason":"EDR alert"}`, status: 200},
		{op: "POST /admin/signals", path: "/admin/signals", body: `{"sid":"ses_none","type":"credential-change"}`, status: 404},
		{op: "POST /admin/signals", path: "/admin/signals", body: `{"sid":"ses_1","client_id":"a1","type":"credential-change"}`, status: 400},
		{op: "POST /admin/signals", path: "/admin/signals", body: `{"sid":"ses_1","type":"weather"}`, status: 400, invalid: true},
		{op: "POST /admin/tokens/{id}/revoke", path: "/admin/tokens/ses_1-at/revoke", status: 200},
		{op: "POST /admin/tokens/{id}/revoke", path: "/admin/tokens/none/revoke", status: 404},
		{op: "POST /admin/sessions/{sid}/terminate", path: "/admin/sessions/ses_1/terminate", body: `{"reason":"stolen laptop"}`, status: 200},
		{op: "POST /admin/sessions/{sid}/terminate", path: "/admin/sessions/ses_2/terminate", status: 200},
		{op: "POST /admin/sessions/{sid}/terminate", path: "/admin/sessions/ses_none/terminate", status: 404},
		{op: "POST /admin/sessions/{sid}/terminate", path: "/admin/sessions/ses_1/terminate", body: `{"reason":"` + strings.Repeat("x", 600) + `"}`, status: 400, invalid: true},
		{op: "DELETE /admin/clients/{id}", path: "/admin/clients/a1", status: 200, before: seed("ses_3", "a1")},
		{op: "DELETE /admin/clients/{id}", path: "/admin/clients/a1", status: 404},
		// risk policy, keys, audit
		{op: "GET /admin/policy", path: "/admin/policy", status: 200},
		{op: "PUT /admin/policy/mode", path: "/admin/policy/mode", body: `{"report_only":true}`, status: 200},
		{op: "PUT /admin/policy/mode", path: "/admin/policy/mode", body: `{}`, status: 400, invalid: true},
		{op: "GET /admin/keys", path: "/admin/keys", status: 200},
		{op: "POST /admin/keys/rotate", path: "/admin/keys/rotate", status: 200},
		{op: "GET /admin/audit", path: "/admin/audit", status: 200},
		{op: "GET /admin/audit", path: "/admin/audit?client=a1&since=1h&limit=3&order=newest", status: 200},
		{op: "GET /admin/audit", path: "/admin/audit?order=random", status: 400, invalid: true},
		{op: "GET /admin/audit", path: "/admin/audit?since=yesterday", status: 400},
		// initial access tokens, reload, backup
		{op: "POST /admin/initial-access-tokens", path: "/admin/initial-access-tokens", body: `{"description":"ci","kinds":["workload"],"max_uses":1,"expires_in":"1h"}`, status: 201},
		{op: "POST /admin/initial-access-tokens", path: "/admin/initial-access-tokens", body: `{"max_uses":1}`, status: 400, invalid: true},
		{op: "POST /admin/initial-access-tokens", path: "/admin/initial-access-tokens", body: `{"expires_in":"9000h"}`, status: 400},
		{op: "GET /admin/initial-access-tokens", path: "/admin/initial-access-tokens", status: 200},
		{op: "DELETE /admin/initial-access-tokens/{id}", path: "/admin/initial-access-tokens/{last}", status: 204},
		{op: "DELETE /admin/initial-access-tokens/{id}", path: "/admin/initial-access-tokens/none", status: 404},
		{op: "POST /admin/reload", path: "/admin/reload", status: 200},
		{op: "POST /admin/reload", path: "/admin/reload", status: 400, before: func(w *world) {
			w.reload.err = errors.Join(admin.ErrInvalidConfig, errors.New("line 3: unknown key"))
		}},
		{op: "POST /admin/backup", path: "/admin/backup", status: 200},
	}
}

// bareCalls are the 404s of features a server may run without.
func bareCalls() []call {
	return []call{
		{op: "POST /admin/signals", path: "/admin/signals", body: `{"sid":"s","type":"credential-change"}`, status: 404},
		{op: "POST /admin/tokens/{id}/revoke", path: "/admin/tokens/t/revoke", status: 404},
		{op: "GET /admin/policy", path: "/admin/policy", status: 404},
		{op: "PUT /admin/policy/mode", path: "/admin/policy/mode", body: `{"report_only":false}`, status: 404},
		{op: "GET /admin/keys", path: "/admin/keys", status: 404},
		{op: "POST /admin/keys/rotate", path: "/admin/keys/rotate", status: 404},
		{op: "POST /admin/reload", path: "/admin/reload", status: 404},
		{op: "POST /admin/backup", path: "/admin/backup", status: 404},
	}
}

// TestOpenAPI_ResponsesMatchDescription drives every described operation
// through the real handler and validates each answer (status, content
// type, headers, body) and each well-formed request against the
// description. Every operation must be seen answering each of its
// described 2xx, 400, 401, 403, 404 and 409 responses.
func TestOpenAPI_ResponsesMatchDescription(t *testing.T) {
	v := newValidator(t)
	seen := map[string]bool{} // "METHOD /template STATUS"
	run := func(w *world, calls []call) {
		for _, c := range calls {
			if c.before != nil {
				c.before(w)
			}
			path := strings.Replace(c.path, "{last}", w.lastIAT, 1)
			var body []byte
			if c.body != "" {
				body = []byte(c.body)
			}
			ex := w.do(strings.Fields(c.op)[0], path, body, adminToken)
			if ex.status != c.status {
				t.Errorf("%s %s: status %d, want %d; body %s", c.op, path, ex.status, c.status, ex.resp)
				continue
			}
			checkExchange(t, v, ex, !c.invalid)
			seen[c.op+" "+itoa(ex.status)] = true
			if c.op == "POST /admin/initial-access-tokens" && ex.status == http.StatusCreated {
				var out admin.InitialTokenOutput
				_ = json.Unmarshal(ex.resp, &out)
				w.lastIAT = out.ID
			}
		}
	}
	run(newWorld(t), driveCalls())
	run(bareWorld(t), bareCalls())
	authCalls(t, v, newWorld(t), seen)
	for op, statuses := range describedOps(t) {
		for code := range statuses {
			if (code[0] == '2' || slices.Contains([]string{"400", "401", "403", "404", "409"}, code)) && !seen[op+" "+code] {
				t.Errorf("%s: the %s answer is described but never seen", op, code)
			}
		}
	}
}

// authCalls sends every operation without a credential (401) and every
// change with a read-only one (403).
func authCalls(t *testing.T, v validator.Validator, w *world, seen map[string]bool) {
	for op := range describedOps(t) {
		method, tmpl, _ := strings.Cut(op, " ")
		if tmpl == admin.OpenAPIPath {
			continue
		}
		path := strings.NewReplacer("{id}", "x", "{sid}", "x", "{key}", "x").Replace(tmpl)
		want := map[string]string{"": "401", "vat_wrong": "401"}
		if method != http.MethodGet {
			want[readOnlyToken] = "403"
		}
		for tok, code := range want {
			ex := w.do(method, path, nil, tok)
			if itoa(ex.status) != code {
				t.Errorf("%s with %q: status %d, want %s", op, tok, ex.status, code)
				continue
			}
			checkExchange(t, v, ex, false)
			seen[op+" "+code] = true
		}
	}
}

// checkExchange validates the answer, and the request too when it is meant
// to be well formed.
func checkExchange(t *testing.T, v validator.Validator, ex exchange, validRequest bool) {
	t.Helper()
	res := &http.Response{StatusCode: ex.status, Header: ex.header, Body: io.NopCloser(bytes.NewReader(ex.resp)), Request: ex.req}
	req := ex.req.Clone(ex.req.Context())
	req.Body = io.NopCloser(bytes.NewReader(ex.body))
	if ok, errs := v.ValidateHttpResponse(req, res); !ok {
		for _, e := range errs {
			t.Errorf("%s %s → %d: answer breaks the description: %s (%s) %v; body %.300s", req.Method, req.URL.RequestURI(),
				ex.status, e.Message, e.Reason, schemaErrs(e.SchemaValidationErrors), ex.resp)
		}
	}
	if !validRequest {
		return
	}
	req = ex.req.Clone(ex.req.Context())
	req.Body = io.NopCloser(bytes.NewReader(ex.body))
	if ok, errs := v.ValidateHttpRequest(req); !ok {
		for _, e := range errs {
			t.Errorf("%s %s: request breaks the description: %s (%s) %v", req.Method, req.URL.RequestURI(), e.Message, e.Reason,
				schemaErrs(e.SchemaValidationErrors))
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func schemaErrs[E interface{ Error() string }](es []E) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.Error())
	}
	return out
}

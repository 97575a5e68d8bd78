package security

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/config"
)

// adminRaw sends a raw JSON body to the admin API.
func (e *env) adminRaw(t *testing.T, method, path, body string) result {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return toResult(resp.StatusCode, resp.Header, raw)
}

// Strict admin JSON: member names are exact, no member repeats (at any
// depth), unknown members are refused; nothing is stored.
func TestAdminJSON_Strict(t *testing.T) {
	e := newEnv(t, withMemory())
	k := newECKey(t)
	jwk := `{"kty":"EC","crv":"P-256","x":"` + ecJWK(&k.PublicKey, "")["x"].(string) + `","y":"` + ecJWK(&k.PublicKey, "")["y"].(string) + `"}`
	bodies := map[string]string{
		"name in upper case": `{"id":"s1","kind":"service","SCOPES":["tickets.read"]}`,
		"name in mixed case": `{"id":"s1","Kind":"service"}`,
		"duplicate member":   `{"id":"s1","kind":"service","scopes":["a"],"scopes":["tickets.read"]}`,
		"duplicate id":       `{"id":"s1","id":"agent","kind":"service"}`,
		"duplicate in jwks":  `{"id":"s1","kind":"workload","jwks":{"keys":[` + strings.Replace(jwk, `"kty":"EC"`, `"kty":"EC","kty":"EC"`, 1) + `]}}`,
		"duplicate nested":   `{"id":"s1","kind":"service","schedule":{"days":"Mon","days":"Tue"}}`,
		"unknown member":     `{"id":"s1","kind":"service","scope":"x"}`,
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			r := e.adminRaw(t, http.MethodPost, "/admin/clients", body)
			if r.status != 400 {
				t.Fatalf("%s: %d %s", body, r.status, r.raw)
			}
			if g := e.admin(t, http.MethodGet, "/admin/clients/s1", nil); g.status != 404 {
				t.Fatalf("a refused body was stored: %d %s", g.status, g.raw)
			}
		})
	}
	// The same body with exact names is accepted.
	if r := e.adminRaw(t, http.MethodPost, "/admin/clients", `{"id":"s1","kind":"service","scopes":["tickets.read"]}`); r.status != 201 {
		t.Fatalf("a strict body was refused: %d %s", r.status, r.raw)
	}
	// PUT and the other record kinds decode the same way.
	if r := e.adminRaw(t, http.MethodPut, "/admin/clients/s1", `{"id":"s1","kind":"service","Scopes":["kb.read"]}`); r.status != 400 {
		t.Fatalf("PUT with a case-variant name: %d %s", r.status, r.raw)
	}
	if r := e.adminRaw(t, http.MethodPost, "/admin/resources", `{"audience":"https://r.example","sensitivity":1,"sensitivity":4}`); r.status != 400 {
		t.Fatalf("resource with a duplicate member: %d %s", r.status, r.raw)
	}
}

// Canonical ids: one normalization rule (case, '_', '.' and '-'), and ids
// that collide after it are refused, through the admin API and the
// configuration file alike.
func TestAdminJSON_CanonicalIDs(t *testing.T) {
	e := newEnv(t, withMemory())
	create := func(id string) result {
		return e.admin(t, http.MethodPost, "/admin/clients", map[string]any{"id": id, "kind": "service",
			"grant_types": []string{"client_credentials"}})
	}
	if r := create("agent-a"); r.status != 201 {
		t.Fatalf("create agent-a: %d %s", r.status, r.raw)
	}
	for _, id := range []string{"AGENT-A", "agent_a", "Agent.A", "agent-A"} {
		if r := create(id); r.status != 409 {
			t.Errorf("%s next to agent-a: %d %s", id, r.status, r.raw)
		}
	}
	// Within one file.
	f, err := config.Parse([]byte("clients:\n  - {id: job-1, kind: job, secret: s3cret-s3cret-s3cret-s3cret-s3cret}\n" +
		"  - {id: JOB_1, kind: job, secret: s3cret-s3cret-s3cret-s3cret-s3cret}\n"))
	if err == nil {
		err = f.Validate()
	}
	if err == nil {
		t.Fatal("a file declaring job-1 and JOB_1 was accepted")
	}
	// A file against what the store holds.
	f, err = config.Parse([]byte("clients:\n  - {id: Agent_A, kind: job, secret: s3cret-s3cret-s3cret-s3cret-s3cret}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Apply(context.Background(), e.base, e.hasher, time.Now()); err == nil {
		t.Fatal("a file declaring Agent_A next to the stored agent-a was applied")
	}
}

// Resource audiences and trusted issuers differing only in case name one
// thing: the second is refused through the admin API and the configuration
// file (within one file, and against what the store holds).
func TestAdminJSON_CanonicalNames(t *testing.T) {
	e := newEnv(t, withMemory())
	jwks := jwksOf(newECKey(t), "k")
	for _, aud := range []string{"HTTPS://RS1.EXAMPLE", "https://RS1.example"} {
		if r := e.admin(t, http.MethodPost, "/admin/resources", map[string]any{"audience": aud, "sensitivity": 1}); r.status != 409 {
			t.Errorf("resource %s next to %s: %d %s", aud, rs1, r.status, r.raw)
		}
	}
	if r := e.admin(t, http.MethodPost, "/admin/issuers", map[string]any{"issuer": "HTTPS://Workload.Example", "audience": "vigil",
		"jwks": jwks, "subjects": []map[string]string{{"subject": "x", "client_id": "agent"}}}); r.status != 409 {
		t.Errorf("issuer differing in case: %d %s", r.status, r.raw)
	}
	if r := e.admin(t, http.MethodPost, "/admin/resources", map[string]any{"audience": "https://rs3.example", "sensitivity": 1}); r.status != 201 {
		t.Fatalf("a new resource: %d %s", r.status, r.raw)
	}
	files := map[string]string{
		"two resources in one file": "resources:\n  - {audience: https://api.example, sensitivity: 1}\n  - {audience: HTTPS://API.EXAMPLE, sensitivity: 1}\n",
		"two issuers in one file": "trusted_issuers:\n  - {issuer: https://ci.example, audience: vigil, jwks_uri: https://ci.example/jwks, subjects: [{subject: x, client_id: agent}]}\n" +
			"  - {issuer: https://CI.example, audience: vigil, jwks_uri: https://ci.example/jwks, subjects: [{subject: x, client_id: agent}]}\n",
	}
	for name, doc := range files {
		f, err := config.Parse([]byte(doc))
		if err == nil {
			err = f.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), "twice") {
			t.Errorf("%s: %v", name, err)
		}
	}
	stored := map[string]string{
		"resource against the store": "resources:\n  - {audience: HTTPS://RS2.EXAMPLE, sensitivity: 1}\n",
		"issuer against the store": "trusted_issuers:\n  - {issuer: https://WORKLOAD.example, audience: vigil, jwks_uri: https://w.example/jwks, " +
			"subjects: [{subject: x, client_id: agent}]}\n",
	}
	for name, doc := range stored {
		f, err := config.Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Apply(context.Background(), e.base, e.hasher, time.Now()); err == nil {
			t.Errorf("%s: applied", name)
		}
	}
}

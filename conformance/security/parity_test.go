package security

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/storage"
)

// The registration policy is one rule: a registration (client, resource,
// trusted issuer) as it is now bounds client_credentials, refresh, token
// exchange and introspection of live tokens alike. Every field that can
// narrow is tried through every path.

// path is one way of using what a registration allows.
type path struct {
	name string
	// try runs the path for the case's client with extra request
	// parameters and reports the answer; tok is the grant made before the
	// change.
	try func(t *testing.T, e *env, tok result, ask []string) result
}

var parityPaths = []path{
	{"client_credentials", func(t *testing.T, e *env, _ result, ask []string) result {
		return e.post(t, pathToken, form(append([]string{"grant_type", "client_credentials"}, ask...)...), e.as("agent"))
	}},
	{"refresh", func(t *testing.T, e *env, tok result, ask []string) result {
		return e.refresh(t, "agent", tok.str("refresh_token"), ask...)
	}},
	{"exchange", func(t *testing.T, e *env, tok result, ask []string) result {
		return e.exchange(t, "agent", append([]string{"subject_token", tok.str("access_token"), "subject_token_type", typeAccess}, ask...)...)
	}},
}

// TestParity_RegistrationBoundsEveryPath changes one registration field
// after a grant, then asks every grant path for what the change removed
// (each must refuse it) and introspects the earlier token (it must no
// longer carry it).
func TestParity_RegistrationBoundsEveryPath(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, e *env)
		ask    []string // what the change took away, asked for explicitly
		status int
		code   string
		// live checks the introspection of the token granted before.
		live func(t *testing.T, e *env, at string)
		// got, when set, checks each path's answer instead of status and
		// code (a change that narrows without refusing).
		got func(t *testing.T, path string, r result)
	}{
		{"client disabled", func(t *testing.T, e *env) {
			e.editClient(t, "agent", func(c *storage.Client) { c.Disabled = true })
		}, nil, 401, "invalid_client", inactiveAt("rs1", "rs2"), nil},
		{"client deleted", func(t *testing.T, e *env) {
			e.deleteRecord(t, func(ctx context.Context, w storage.Writer) error { return w.DeleteClient(ctx, "agent") })
		}, nil, 401, "invalid_client", inactiveAt("rs1", "rs2"), nil},
		{"scope removed", func(t *testing.T, e *env) {
			e.editClient(t, "agent", func(c *storage.Client) { c.Scopes = []string{"tickets.read", "tickets.write"} })
		}, []string{"scope", "kb.read"}, 400, "invalid_scope", func(t *testing.T, e *env, at string) {
			r := e.introspect(t, "rs1", at)
			wantActive(t, r)
			if strings.Contains(r.str("scope"), "kb.read") {
				t.Fatalf("a removed scope is still in the live token: %s", r.raw)
			}
		}, nil},
		{"scope removed (configuration file)", func(t *testing.T, e *env) {
			e.applyFile(t, "clients:\n  - id: agent\n    kind: agent\n    grant_types: [client_credentials, refresh_token, "+grantExchange+"]\n"+
				"    scopes: [tickets.read, tickets.write]\n    audiences: ["+rs1+", "+rs2+"]\n    may_act: [actor1, actor2, actor3, actor4]\n")
		}, []string{"scope", "kb.read"}, 400, "invalid_scope", func(t *testing.T, e *env, at string) {
			r := e.introspect(t, "rs1", at)
			wantActive(t, r)
			if strings.Contains(r.str("scope"), "kb.read") {
				t.Fatalf("a removed scope is still in the live token: %s", r.raw)
			}
		}, nil},
		{"resource no longer declared (configuration file)", func(t *testing.T, e *env) {
			// Declared by the file, then removed from it: the file deletes it.
			e.applyFile(t, "resources:\n  - {audience: \""+rs2+"\", sensitivity: 2}\n")
			e.applyFile(t, "resources: []\n")
		}, []string{"audience", rs2}, 400, "invalid_target", activeAtOnly("rs1", "rs2"), nil},
		{"client audience removed", func(t *testing.T, e *env) {
			e.editClient(t, "agent", func(c *storage.Client) { c.Audiences = []string{rs1} })
		}, []string{"audience", rs2}, 400, "invalid_target", activeAtOnly("rs1", "rs2"), nil},
		{"resource deleted", func(t *testing.T, e *env) {
			e.deleteRecord(t, func(ctx context.Context, w storage.Writer) error { return w.DeleteResource(ctx, rs2) })
		}, []string{"audience", rs2}, 400, "invalid_target", activeAtOnly("rs1", "rs2"), nil},
		{"resource deleted, asked as resource", func(t *testing.T, e *env) {
			e.deleteRecord(t, func(ctx context.Context, w storage.Writer) error { return w.DeleteResource(ctx, rs2) })
		}, []string{"resource", rs2}, 400, "invalid_target", activeAtOnly("rs1", "rs2"), nil},
		{"DPoP required", func(t *testing.T, e *env) {
			e.editClient(t, "agent", func(c *storage.Client) { c.DPoP = true })
		}, nil, 400, "invalid_dpop_proof", inactiveAt("rs1", "rs2"), nil},
		{"auth method changed to private_key_jwt", func(t *testing.T, e *env) {
			for _, id := range []string{"agent", "rs1"} {
				e.editClient(t, id, func(c *storage.Client) { c.SecretHash, c.JWKS = "", jwksOf(newECKey(t), id+"-new") })
			}
		}, nil, 401, "invalid_client", func(t *testing.T, e *env, at string) {
			// The resource server's own secret no longer authenticates it.
			wantError(t, e.introspect(t, "rs1", at), 401, "invalid_client")
			wantActive(t, e.introspect(t, "rs2", at))
		}, nil},
		{"resource max_ttl lowered (admin API)", func(t *testing.T, e *env) {
			for _, aud := range []string{rs1, rs2} {
				if r := e.admin(t, http.MethodPut, "/admin/resources/"+url.PathEscape(aud),
					map[string]any{"audience": aud, "sensitivity": 1, "max_ttl": "30s"}); r.status != 200 {
					t.Fatalf("lower max_ttl: %d %s", r.status, r.raw)
				}
			}
		}, nil, 0, "", func(t *testing.T, e *env, at string) {
			wantActive(t, e.introspect(t, "rs1", at))
			e.clock.Advance(31 * time.Second)
			inactiveAt("rs1", "rs2")(t, e, at)
		}, func(t *testing.T, path string, r result) {
			if r.status != 200 || r.body["expires_in"].(float64) > 30 {
				t.Errorf("%s: got %d %s, want a token of at most 30s", path, r.status, r.raw)
			}
		}},
		{"grant type removed", func(t *testing.T, e *env) {
			e.editClient(t, "agent", func(c *storage.Client) { c.GrantTypes = []string{"client_credentials"} })
		}, nil, 0, "", func(t *testing.T, e *env, at string) { wantActive(t, e.introspect(t, "rs1", at)) },
			func(t *testing.T, path string, r result) {
				switch {
				case path == "client_credentials" && (r.status != 200 || r.str("refresh_token") != ""):
					t.Errorf("%s: %d %s, want a token and no refresh token", path, r.status, r.raw)
				case path != "client_credentials" && (r.status != 400 || r.str("error") != "unauthorized_client"):
					t.Errorf("%s: %d %s, want 400 unauthorized_client", path, r.status, r.raw)
				}
			}},
		{"introspection right removed", func(t *testing.T, e *env) {
			e.editClient(t, "rs2", func(c *storage.Client) { c.Introspect = nil })
		}, nil, 200, "", func(t *testing.T, e *env, at string) {
			wantError(t, e.introspect(t, "rs2", at), 401, "invalid_client")
			wantActive(t, e.introspect(t, "rs1", at))
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			both(t, func(t *testing.T, mem bool) {
				e := envFor(t, mem)
				tok := e.cc(t, "agent", "scope", "tickets.read kb.read", "audience", rs1+" "+rs2)
				tt.change(t, e)
				for _, p := range parityPaths {
					r := p.try(t, e, tok, tt.ask)
					if tt.got != nil {
						tt.got(t, p.name, r)
						continue
					}
					if tt.status == 200 {
						if r.status != 200 {
							t.Errorf("%s: an unrelated change refused the grant: %d %s", p.name, r.status, r.raw)
						}
						continue
					}
					if r.status != tt.status || r.str("error") != tt.code {
						t.Errorf("%s: got %d %s, want %d %s", p.name, r.status, r.raw, tt.status, tt.code)
					}
				}
				tt.live(t, e, tok.str("access_token"))
			})
		})
	}
}

// TestParity_DeletedResourceNotRefreshable is the reported case: after a
// resource record is deleted, a refresh that does not name the audience
// gets a token without it, and that token is inactive for the audience's
// resource server.
func TestParity_DeletedResourceNotRefreshable(t *testing.T) {
	e := envFor(t, true)
	tok := e.cc(t, "agent", "audience", rs1+" "+rs2)
	e.deleteRecord(t, func(ctx context.Context, w storage.Writer) error { return w.DeleteResource(ctx, rs2) })
	r := e.refresh(t, "agent", tok.str("refresh_token"))
	if r.status != 200 {
		t.Fatalf("refresh: %d %s", r.status, r.raw)
	}
	wantInactive(t, e.introspect(t, "rs2", r.str("access_token")))
	wantActive(t, e.introspect(t, "rs1", r.str("access_token")))
}

// TestParity_IssuerBoundsItsSessions: a session opened from a trusted
// issuer's JWT is bounded by the issuer's registration as it is now, on
// refresh, on exchange and at introspection.
func TestParity_IssuerBoundsItsSessions(t *testing.T) {
	tests := []struct {
		name   string
		change func(*storage.Issuer, bool) bool // returns false to delete
	}{
		{"issuer deleted", func(*storage.Issuer, bool) bool { return false }},
		{"issuer audience removed", func(i *storage.Issuer, _ bool) bool { i.Audiences = []string{rs2}; return true }},
		{"issuer scope removed", func(i *storage.Issuer, _ bool) bool { i.Scopes = []string{"kb.read"}; return true }},
		{"subject no longer mapped to the client", func(i *storage.Issuer, _ bool) bool {
			i.Subjects = []storage.SubjectMapping{{Subject: "system:serviceaccount:ci:*", ClientID: "other"}}
			return true
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := envFor(t, true)
			f := withAssertion(form("grant_type", grantExchange, "subject_token", e.workloadToken(t, nil),
				"subject_token_type", typeJWT), e.assertion(t, "pkjwt", nil))
			got := e.post(t, pathToken, f)
			if got.status != 200 || got.str("refresh_token") == "" {
				t.Fatalf("external exchange: %d %s", got.status, got.raw)
			}
			ctx := context.Background()
			err := e.base.Update(ctx, func(w storage.Writer) error {
				iss, err := w.GetIssuer(ctx, workloadIssuer)
				if err != nil {
					return err
				}
				if !tt.change(&iss, true) {
					return w.DeleteIssuer(ctx, workloadIssuer)
				}
				return w.PutIssuer(ctx, iss)
			})
			if err != nil {
				t.Fatal(err)
			}
			ask := []string{"scope", "tickets.read", "audience", rs1}
			ref := e.post(t, pathToken, withAssertion(form(append([]string{"grant_type", "refresh_token",
				"refresh_token", got.str("refresh_token")}, ask...)...), e.assertion(t, "pkjwt", nil)))
			wantRefused(t, ref)
			ex := e.post(t, pathToken, withAssertion(form(append([]string{"grant_type", grantExchange,
				"subject_token", got.str("access_token"), "subject_token_type", typeAccess}, ask...)...), e.assertion(t, "pkjwt", nil)))
			wantRefused(t, ex)
			r := e.introspect(t, "rs1", got.str("access_token"))
			if r.active() && strings.Contains(r.str("scope"), "tickets.read") {
				t.Fatalf("the live token keeps what the issuer no longer allows: %s", r.raw)
			}
		})
	}
}

// TestParity_DelegationBoundsLiveTokens: a token held by another client
// for the subject's session (delegated with an actor token, or by
// impersonation) is bounded by the subject's registration as it is now: once
// may_act no longer names the actor, or impersonation is turned off, the
// live token is inactive and no path extends it.
func TestParity_DelegationBoundsLiveTokens(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(t *testing.T, e *env)
		grant  func(t *testing.T, e *env, subject string) result
		change func(c *storage.Client)
	}{
		{"actor removed from may_act", nil, func(t *testing.T, e *env, subject string) result {
			return e.delegate(t, "actor1", subject, "audience", rs1)
		}, func(c *storage.Client) { c.MayAct = []string{"actor2"} }},
		{"impersonation turned off", func(t *testing.T, e *env) {
			e.editClient(t, "agent", func(c *storage.Client) { c.Impersonation = true })
		}, func(t *testing.T, e *env, subject string) result {
			return e.exchange(t, "actor1", "subject_token", subject, "subject_token_type", typeAccess, "audience", rs1)
		}, func(c *storage.Client) { c.Impersonation = false }},
		{"impersonating actor removed from may_act", func(t *testing.T, e *env) {
			e.editClient(t, "agent", func(c *storage.Client) { c.Impersonation = true })
		}, func(t *testing.T, e *env, subject string) result {
			return e.exchange(t, "actor1", "subject_token", subject, "subject_token_type", typeAccess, "audience", rs1)
		}, func(c *storage.Client) { c.MayAct = []string{"actor2"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			both(t, func(t *testing.T, mem bool) {
				e := envFor(t, mem)
				if tt.setup != nil {
					tt.setup(t, e)
				}
				subject := e.cc(t, "agent", "audience", rs1).str("access_token")
				held := tt.grant(t, e, subject)
				if held.status != 200 {
					t.Fatalf("grant: %d %s", held.status, held.raw)
				}
				wantActive(t, e.introspect(t, "rs1", held.str("access_token")))
				e.editClient(t, "agent", tt.change)
				wantInactive(t, e.introspect(t, "rs1", held.str("access_token")))
				wantRefused(t, e.exchange(t, "actor1", "subject_token", held.str("access_token"), "subject_token_type", typeAccess))
				wantRefused(t, tt.grant(t, e, subject))
				// The subject's own token is untouched.
				wantActive(t, e.introspect(t, "rs1", subject))
			})
		})
	}
}

func inactiveAt(rss ...string) func(t *testing.T, e *env, at string) {
	return func(t *testing.T, e *env, at string) {
		for _, rs := range rss {
			wantInactive(t, e.introspect(t, rs, at))
		}
	}
}

func activeAtOnly(yes, no string) func(t *testing.T, e *env, at string) {
	return func(t *testing.T, e *env, at string) {
		r := e.introspect(t, yes, at)
		wantActive(t, r)
		if aud, _ := r.body["aud"].([]any); slices.Contains(aud, any(no)) || r.str("aud") == no {
			t.Fatalf("a removed audience is still in the live token: %s", r.raw)
		}
		wantInactive(t, e.introspect(t, no, at))
	}
}

// applyFile applies a configuration file to the store, as a start or a
// reload does.
func (e *env) applyFile(t testing.TB, doc string) {
	t.Helper()
	f, err := config.Parse([]byte(doc))
	if err == nil {
		err = f.Validate()
	}
	if err == nil {
		_, err = f.Apply(context.Background(), e.base, e.hasher, e.clock.Now())
	}
	if err != nil {
		t.Fatalf("apply %q: %v", doc, err)
	}
}

// deleteRecord runs a delete against the store.
func (e *env) deleteRecord(t testing.TB, del func(context.Context, storage.Writer) error) {
	t.Helper()
	if err := e.base.Update(context.Background(), func(w storage.Writer) error { return del(context.Background(), w) }); err != nil {
		t.Fatal(err)
	}
}

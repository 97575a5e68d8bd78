package storage_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

const publicJWKS = `{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`

func validAgent() storage.Client {
	return storage.Client{
		ID: "ticket-agent", Kind: storage.KindAgent, SecretHash: "hmac-sha256$x",
		GrantTypes:  []string{"client_credentials", "refresh_token"},
		Scopes:      []string{"tickets:read", "tickets.write"},
		Audiences:   []string{"https://tickets.example", "kb-api"},
		TokenFormat: "jwt", AccessTokenTTL: storage.Duration(15 * time.Minute),
		RefreshTokenTTL: storage.Duration(30 * 24 * time.Hour),
		MayAct:          []string{"orchestrator-agent"},
		Schedule:        &storage.Schedule{Days: "Mon-Fri", Hours: "08:00-18:00", TZ: "UTC"},
		Networks:        []string{"10.1.0.0/16", "2001:db8::/32"},
		Purposes:        []string{"ticket triage"},
	}
}

func TestClientValidate(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(c *storage.Client)
		errHas []string // every substring must appear; none means valid
	}{
		{name: "valid agent", edit: func(*storage.Client) {}},
		{name: "valid jwks client", edit: func(c *storage.Client) { c.SecretHash, c.JWKS = "", json.RawMessage(publicJWKS) }},
		{name: "valid jwks_uri client", edit: func(c *storage.Client) { c.SecretHash, c.JWKSURI = "", "https://agent.example/jwks" }},
		{name: "loopback http jwks_uri", edit: func(c *storage.Client) { c.SecretHash, c.JWKSURI = "", "http://127.0.0.1:9000/jwks" }},
		{name: "valid resource server", edit: func(c *storage.Client) {
			*c = storage.Client{ID: "tickets-api", Kind: storage.KindResourceServer, Introspect: []string{"https://tickets.example"}}
		}},
		{name: "assertion_compat on a jwks client", edit: func(c *storage.Client) {
			c.SecretHash, c.JWKS = "", json.RawMessage(publicJWKS)
			c.AssertionCompat = &storage.AssertionCompat{TokenEndpointAudience: true, MaxLifetime: storage.Duration(time.Hour)}
		}},
		{name: "assertion_compat on a secret client", edit: func(c *storage.Client) {
			c.AssertionCompat = &storage.AssertionCompat{TokenEndpointAudience: true}
		}, errHas: []string{"assertion_compat: applies only to a client that authenticates with private_key_jwt"}},
		{name: "assertion_compat lifetime over an hour", edit: func(c *storage.Client) {
			c.SecretHash, c.JWKS = "", json.RawMessage(publicJWKS)
			c.AssertionCompat = &storage.AssertionCompat{MaxLifetime: storage.Duration(2 * time.Hour)}
		}, errHas: []string{"assertion_compat.max_lifetime", "exceeds the maximum 1h0m0s"}},
		{name: "empty id", edit: func(c *storage.Client) { c.ID = "" }, errHas: []string{"id: must not be empty"}},
		{name: "id with colon", edit: func(c *storage.Client) { c.ID = "system:serviceaccount:ns:x" }, errHas: []string{"id:", "may only contain"}},
		{name: "id with slash", edit: func(c *storage.Client) { c.ID = "a/b" }, errHas: []string{"may only contain"}},
		{name: "id too long", edit: func(c *storage.Client) { c.ID = strings.Repeat("a", 129) }, errHas: []string{"longer than 128"}},
		{name: "id starting with dot", edit: func(c *storage.Client) { c.ID = ".x" }, errHas: []string{"must start with"}},
		{name: "case 85 reserved id", edit: func(c *storage.Client) { c.ID = "Admin" }, errHas: []string{"reserved"}},
		{name: "unknown kind", edit: func(c *storage.Client) { c.Kind = "human" }, errHas: []string{"kind:", "human"}},
		{name: "unknown grant", edit: func(c *storage.Client) { c.GrantTypes = []string{"password"} }, errHas: []string{"grant_types:", "password"}},
		{name: "bad token format", edit: func(c *storage.Client) { c.TokenFormat = "paseto" }, errHas: []string{"token_format"}},
		{name: "no credentials", edit: func(c *storage.Client) { c.SecretHash = "" }, errHas: []string{"needs a secret, jwks or jwks_uri"}},
		{name: "two credentials", edit: func(c *storage.Client) { c.JWKSURI = "https://a.example/jwks" }, errHas: []string{"not several"}},
		{name: "jwks not json", edit: func(c *storage.Client) { c.SecretHash, c.JWKS = "", json.RawMessage(`[1]`) }, errHas: []string{"jwks:"}},
		{name: "jwks without keys", edit: func(c *storage.Client) { c.SecretHash, c.JWKS = "", json.RawMessage(`{}`) }, errHas: []string{"non-empty"}},
		{name: "jwks with private key", edit: func(c *storage.Client) {
			c.SecretHash, c.JWKS = "", json.RawMessage(`{"keys":[{"kty":"EC","d":"secret"}]}`)
		}, errHas: []string{"private key material"}},
		{name: "jwks_uri plain http", edit: func(c *storage.Client) { c.SecretHash, c.JWKSURI = "", "http://agent.example/jwks" }, errHas: []string{"must use https"}},
		{name: "jwks_uri relative", edit: func(c *storage.Client) { c.SecretHash, c.JWKSURI = "", "/jwks" }, errHas: []string{"absolute"}},
		{name: "scope with space", edit: func(c *storage.Client) { c.Scopes = []string{"a b"} }, errHas: []string{"scopes:", "scope token"}},
		{name: "duplicate scope", edit: func(c *storage.Client) { c.Scopes = []string{"a", "a"} }, errHas: []string{"listed twice"}},
		{name: "empty audience", edit: func(c *storage.Client) { c.Audiences = []string{""} }, errHas: []string{"audiences:"}},
		{name: "audience with space", edit: func(c *storage.Client) { c.Audiences = []string{"kb api"} }, errHas: []string{"spaces"}},
		{name: "bad network", edit: func(c *storage.Client) { c.Networks = []string{"10.1.0.0"} }, errHas: []string{"networks:", "CIDR"}},
		{name: "bad may_act", edit: func(c *storage.Client) { c.MayAct = []string{"x y"} }, errHas: []string{"may_act:"}},
		{name: "bad schedule", edit: func(c *storage.Client) {
			c.Schedule = &storage.Schedule{Days: "Mon-Funday", Hours: "8-18", TZ: "Mars/Olympus"}
		}, errHas: []string{"schedule: days:", "hours:", "tz:"}},
		{name: "empty hours window", edit: func(c *storage.Client) { c.Schedule = &storage.Schedule{Hours: "08:00-08:00"} }, errHas: []string{"empty window"}},
		{name: "hour out of range", edit: func(c *storage.Client) { c.Schedule = &storage.Schedule{Hours: "08:00-24:30"} }, errHas: []string{"hours:"}},
		{name: "access ttl too long", edit: func(c *storage.Client) { c.AccessTokenTTL = storage.Duration(25 * time.Hour) }, errHas: []string{"access_token_ttl", "exceeds"}},
		{name: "negative ttl", edit: func(c *storage.Client) { c.ExchangeTTL = storage.Duration(-time.Second) }, errHas: []string{"exchange_ttl", "negative"}},
		{name: "refresh ttl too long", edit: func(c *storage.Client) { c.RefreshTokenTTL = storage.Duration(91 * 24 * time.Hour) }, errHas: []string{"refresh_token_ttl"}},
		{name: "introspect on agent", edit: func(c *storage.Client) { c.Introspect = []string{"kb-api"} }, errHas: []string{"only a resource_server"}},
		{name: "resource server without introspect", edit: func(c *storage.Client) {
			*c = storage.Client{ID: "rs", Kind: storage.KindResourceServer}
		}, errHas: []string{"introspect:"}},
		{name: "resource server with grants", edit: func(c *storage.Client) {
			*c = storage.Client{ID: "rs", Kind: storage.KindResourceServer, Introspect: []string{"a"}, GrantTypes: []string{"client_credentials"}}
		}, errHas: []string{"only introspects"}},
		{name: "every problem reported", edit: func(c *storage.Client) {
			c.ID, c.Kind, c.TokenFormat = "", "x", "y"
		}, errHas: []string{"id:", "kind:", "token_format:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validAgent()
			tt.edit(&c)
			checkErr(t, c.Validate(), tt.errHas)
		})
	}
}

func checkErr(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("Validate() = %v, want nil", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("Validate() = nil, want error with %q", want)
	}
	for _, s := range want {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("Validate() = %q, want it to contain %q", err, s)
		}
	}
}

func TestResourceValidate(t *testing.T) {
	tests := []struct {
		name   string
		r      storage.Resource
		errHas []string
	}{
		{name: "url audience", r: storage.Resource{Audience: "https://tickets.example", Sensitivity: 1, Tenant: "acme"}},
		{name: "name audience with tactic", r: storage.Resource{Audience: "vault", Sensitivity: 4, Tactic: "credential_access"}},
		{name: "sensitivity zero", r: storage.Resource{Audience: "a", Sensitivity: 0}, errHas: []string{"sensitivity: 0"}},
		{name: "sensitivity five", r: storage.Resource{Audience: "a", Sensitivity: 5}, errHas: []string{"sensitivity: 5"}},
		{name: "empty audience", r: storage.Resource{Sensitivity: 1}, errHas: []string{"audience: must not be empty"}},
		{name: "bad tactic", r: storage.Resource{Audience: "a", Sensitivity: 1, Tactic: "lateral"}, errHas: []string{"tactic:"}},
		{name: "control in tenant", r: storage.Resource{Audience: "a", Sensitivity: 1, Tenant: "a\nb"}, errHas: []string{"tenant:"}},
		{name: "max ttl too long", r: storage.Resource{Audience: "a", Sensitivity: 1, MaxTTL: storage.Duration(100 * 24 * time.Hour)}, errHas: []string{"max_ttl"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkErr(t, tt.r.Validate(), tt.errHas) })
	}
}

func TestIssuerValidate(t *testing.T) {
	valid := func() storage.Issuer {
		return storage.Issuer{
			Issuer: "https://kubernetes.default.svc", JWKSURI: "https://k8s.example/openid/v1/jwks",
			Algorithms: []string{"RS256"}, Audience: "vigil",
			Subjects: []storage.SubjectMapping{{Subject: "system:serviceaccount:ci:*", ClientID: "ci-build-workload"}},
		}
	}
	tests := []struct {
		name   string
		edit   func(i *storage.Issuer)
		errHas []string
	}{
		{name: "valid", edit: func(*storage.Issuer) {}},
		{name: "inline jwks", edit: func(i *storage.Issuer) { i.JWKSURI, i.JWKS = "", json.RawMessage(publicJWKS) }},
		{name: "http issuer", edit: func(i *storage.Issuer) { i.Issuer = "http://k8s.example" }, errHas: []string{"issuer:", "https"}},
		{name: "no keys", edit: func(i *storage.Issuer) { i.JWKSURI = "" }, errHas: []string{"exactly one of jwks or jwks_uri"}},
		{name: "both keys", edit: func(i *storage.Issuer) { i.JWKS = json.RawMessage(publicJWKS) }, errHas: []string{"exactly one"}},
		{name: "hmac alg", edit: func(i *storage.Issuer) { i.Algorithms = []string{"HS256"} }, errHas: []string{"algorithms:", "HS256"}},
		{name: "no audience", edit: func(i *storage.Issuer) { i.Audience = "" }, errHas: []string{"audience:"}},
		{name: "no subjects", edit: func(i *storage.Issuer) { i.Subjects = nil }, errHas: []string{"subjects:"}},
		{name: "star inside subject", edit: func(i *storage.Issuer) { i.Subjects[0].Subject = "a*b" }, errHas: []string{"subjects[0]: subject"}},
		{name: "bad client id", edit: func(i *storage.Issuer) { i.Subjects[0].ClientID = "x:y" }, errHas: []string{"subjects[0]: client_id"}},
		{name: "bad scope", edit: func(i *storage.Issuer) { i.Scopes = []string{"a\"b"} }, errHas: []string{"scopes:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := valid()
			tt.edit(&i)
			checkErr(t, i.Validate(), tt.errHas)
		})
	}
}

func TestScheduleValidateDays(t *testing.T) {
	for _, days := range []string{"Mon", "Mon-Fri", "sat,sun", "Mon,Wed-Fri", "Monday-Friday"} {
		if err := (storage.Schedule{Days: days}).Validate(); err != nil {
			t.Errorf("Days %q: %v", days, err)
		}
	}
	for _, days := range []string{"Mo", "Mon-", ",", "Mon-Fri-Sat"} {
		if err := (storage.Schedule{Days: days}).Validate(); err == nil {
			t.Errorf("Days %q: want error", days)
		}
	}
}

func TestClientWithDefaults(t *testing.T) {
	got := storage.Client{ID: "a", Kind: storage.KindJob}.WithDefaults()
	if got.TokenFormat != "opaque" || len(got.GrantTypes) != 1 || got.GrantTypes[0] != "client_credentials" {
		t.Errorf("WithDefaults() = %+v", got)
	}
	rs := storage.Client{ID: "a", Kind: storage.KindResourceServer}.WithDefaults()
	if len(rs.GrantTypes) != 0 {
		t.Errorf("resource server got grant types %v", rs.GrantTypes)
	}
	kept := storage.Client{Kind: storage.KindAgent, TokenFormat: "jwt", GrantTypes: []string{"refresh_token"}}.WithDefaults()
	if kept.TokenFormat != "jwt" || kept.GrantTypes[0] != "refresh_token" {
		t.Errorf("WithDefaults() overwrote set fields: %+v", kept)
	}
}

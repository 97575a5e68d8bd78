package protocol

import (
	"context"
	"slices"
	"testing"

	"github.com/vigil-auth/vigil/storage"
)

// TestPolicyParity checks that a change to a client's registration gives the
// same decision on client_credentials, refresh and token exchange: the
// registration is re-read on every grant, never cached in a token.
func TestPolicyParity(t *testing.T) {
	tests := []struct {
		name   string
		change func(*storage.Client)
		ask    []string // extra parameters on every request
		status int
		code   string
	}{
		{"client disabled", func(c *storage.Client) { c.Disabled = true }, nil, 401, "invalid_client"},
		{"scope removed", func(c *storage.Client) {
			c.Scopes = slices.DeleteFunc(c.Scopes, func(s string) bool { return s == "kb.read" })
		},
			[]string{"scope", "kb.read"}, 400, "invalid_scope"},
		{"audience removed", func(c *storage.Client) {
			c.Audiences = slices.DeleteFunc(c.Audiences, func(s string) bool { return s == "https://rs2.example" })
		}, []string{"audience", "https://rs2.example"}, 400, "invalid_target"},
		{"DPoP required", func(c *storage.Client) { c.DPoP = true }, nil, 400, "invalid_dpop_proof"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := newTarget(t)
			store := tg.needStore(t)
			first := tg.cc(t, "conf-agent")
			edit(t, store, "conf-agent", tt.change)
			grants := map[string][]string{
				"client_credentials": {"grant_type", "client_credentials"},
				"refresh_token":      {"grant_type", "refresh_token", "refresh_token", first.str("refresh_token")},
				"token_exchange":     {"grant_type", grantExchange, "subject_token", first.str("access_token"), "subject_token_type", typeAccess},
			}
			for grant, kv := range grants {
				r := tg.post(t, pathToken, form(append(kv, tt.ask...)...), tg.as("conf-agent"))
				if r.status != tt.status || r.str("error") != tt.code {
					t.Errorf("%s: got %d %s, want %d %s", grant, r.status, r.raw, tt.status, tt.code)
				}
			}
		})
	}
}

// TestPolicyParity_Introspection checks that live tokens follow the change too.
func TestPolicyParity_Introspection(t *testing.T) {
	tg := newTarget(t)
	store := tg.needStore(t)
	at := tg.cc(t, "conf-agent", "audience", "https://rs1.example").str("access_token")
	edit(t, store, "conf-agent", func(c *storage.Client) {
		c.Audiences = slices.DeleteFunc(c.Audiences, func(s string) bool { return s == "https://rs1.example" })
	})
	wantInactive(t, tg.introspect(t, "conf-rs1", at))
	edit(t, store, "conf-other", func(c *storage.Client) { c.Disabled = true })
	other := tg.cc(t, "conf-agent", "audience", "https://rs2.example").str("access_token")
	if r := tg.introspect(t, "conf-rs2", other); r.body["active"] != true {
		t.Fatalf("unrelated change made a token inactive: %s", r.raw)
	}
}

func edit(t *testing.T, store storage.Store, id string, change func(*storage.Client)) {
	t.Helper()
	err := store.Update(context.Background(), func(w storage.Writer) error {
		c, err := w.GetClient(context.Background(), id)
		if err != nil {
			return err
		}
		change(&c)
		return w.PutClient(context.Background(), c)
	})
	if err != nil {
		t.Fatal(err)
	}
}

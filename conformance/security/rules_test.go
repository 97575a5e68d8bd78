package security

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/authz"
	"github.com/vigil-auth/vigil/storage"
)

// Refresh races without grace (refresh_grace: 0s): of racing presentations
// of one refresh token exactly one succeeds, the others get invalid_grant,
// and because they overlapped the rotation (they arrived before it was
// answered) they are not a reuse: the family stays alive.
func TestRules_RefreshRaceWithoutGrace(t *testing.T) {
	both(t, func(t *testing.T, mem bool) {
		opts := []envOpt{withReportOnly(), withNoGrace()}
		if mem {
			opts = append(opts, withMemory())
		}
		e := newEnv(t, opts...)
		rt := e.cc(t, "agent").str("refresh_token")
		old := e.token(t, rt)
		const n = 50
		rs := raceN(n, func(int) result { return e.refresh(t, "agent", rt) })
		won := ""
		for _, r := range rs {
			switch {
			case r.status == 200:
				won = r.str("refresh_token")
			case r.status != 400 || r.str("error") != "invalid_grant":
				t.Fatalf("a losing racer got %d %s, want 400 invalid_grant", r.status, r.raw)
			}
		}
		if got := count(rs, 200); got != 1 {
			t.Fatalf("%d of %d racing refreshes succeeded, want exactly 1", got, n)
		}
		live := e.liveRefresh(t, old.SessionID, old.FamilyID)
		if len(live) != 1 || live[0].ID != authz.TokenID(won) {
			t.Fatalf("after the race the family has %d live refresh tokens, want the winner's", len(live))
		}
		if r := e.refresh(t, "agent", won); r.status != 200 {
			t.Fatalf("the winner's successor no longer refreshes: %d %s", r.status, r.raw)
		}
	})
}

// Without grace, a presentation after the rotation was answered is a reuse:
// the session ends and its family with it.
func TestRules_ReuseAfterAnswerWithoutGrace(t *testing.T) {
	e := newEnv(t, withMemory(), withReportOnly(), withNoGrace())
	rt := e.cc(t, "agent").str("refresh_token")
	old := e.token(t, rt)
	next := e.refresh(t, "agent", rt)
	if next.status != 200 {
		t.Fatalf("refresh: %d %s", next.status, next.raw)
	}
	e.clock.Advance(time.Millisecond)
	wantError(t, e.refresh(t, "agent", rt), 400, "invalid_grant")
	if live := e.liveRefresh(t, old.SessionID, old.FamilyID); len(live) != 0 {
		t.Fatalf("a reuse after the answer left %d live refresh tokens", len(live))
	}
	wantError(t, e.refresh(t, "agent", next.str("refresh_token")), 400, "invalid_grant")
}

// Inside the grace window, a repeat must come from the same client with the
// same proof-of-possession key, and it is recorded on the session.
func TestRules_GraceRepeatSameClientSameKey(t *testing.T) {
	t.Run("another key than the rotation's", func(t *testing.T) {
		e := newEnv(t, withMemory(), withReportOnly())
		rt := e.cc(t, "agent").str("refresh_token")
		if r := e.refresh(t, "agent", rt); r.status != 200 {
			t.Fatalf("refresh: %d %s", r.status, r.raw)
		}
		// The rotation was made without a key; a repeat that brings one
		// is not the same requester: refused, and recorded on the session.
		p := newProver(t)
		r := e.dpopPost(t, p, form("grant_type", "refresh_token", "refresh_token", rt), e.as("agent"))
		wantRefused(t, r)
		evs, err := e.base.ListEvents(context.Background(), e.token(t, rt).SessionID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(evs, func(ev storage.Event) bool {
			return ev.Type == "refused" && strings.Contains(ev.Detail, "grace window")
		}) {
			t.Fatalf("the refused repeat is not on the session's timeline: %+v", evs)
		}
	})
	t.Run("a DPoP-bound family and another key", func(t *testing.T) {
		e := newEnv(t, withMemory(), withReportOnly())
		p := newProver(t)
		first := e.dpopPost(t, p, form("grant_type", "client_credentials"), e.as("dpop"))
		if first.status != 200 {
			t.Fatalf("dpop cc: %d %s", first.status, first.raw)
		}
		rt := first.str("refresh_token")
		if r := e.dpopPost(t, p, form("grant_type", "refresh_token", "refresh_token", rt), e.as("dpop")); r.status != 200 {
			t.Fatalf("refresh: %d %s", r.status, r.raw)
		}
		q := newProver(t)
		wantRefused(t, e.dpopPost(t, q, form("grant_type", "refresh_token", "refresh_token", rt), e.as("dpop")))
		again := e.dpopPost(t, p, form("grant_type", "refresh_token", "refresh_token", rt), e.as("dpop"))
		if again.status != 200 {
			t.Fatalf("the same key's repeat inside the grace window: %d %s", again.status, again.raw)
		}
	})
	t.Run("another client", func(t *testing.T) {
		e := newEnv(t, withMemory(), withReportOnly())
		rt := e.cc(t, "agent").str("refresh_token")
		if r := e.refresh(t, "agent", rt); r.status != 200 {
			t.Fatalf("refresh: %d %s", r.status, r.raw)
		}
		wantError(t, e.refresh(t, "other", rt), 400, "invalid_grant")
	})
	t.Run("recorded on the session", func(t *testing.T) {
		e := newEnv(t, withMemory(), withReportOnly())
		rt := e.cc(t, "agent").str("refresh_token")
		a := e.refresh(t, "agent", rt)
		b := e.refresh(t, "agent", rt)
		if a.status != 200 || b.status != 200 || a.str("refresh_token") != b.str("refresh_token") {
			t.Fatalf("repeat inside the grace window: %d %s / %d %s", a.status, a.raw, b.status, b.raw)
		}
		evs, err := e.base.ListEvents(context.Background(), e.token(t, rt).SessionID)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ev := range evs {
			if ev.Type == "refresh_repeat" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("the session's timeline has %d refresh_repeat events, want 1", n)
		}
	})
}

// Every issued token ends no later than its subject; an expired subject is
// refused however small the clock leeway.
func TestRules_LifetimeBoundedBySubject(t *testing.T) {
	e := newEnv(t, withMemory(), withReportOnly())
	now := e.clock.Now()
	exchange := func(jwt string) result {
		return e.post(t, pathToken, withAssertion(form("grant_type", grantExchange, "subject_token", jwt,
			"subject_token_type", typeJWT), e.assertion(t, "pkjwt", nil)))
	}
	expired := e.workloadToken(t, map[string]any{"exp": now.Add(-time.Second).Unix()})
	wantError(t, exchange(expired), 400, "invalid_request")

	end := now.Add(20 * time.Second)
	r := exchange(e.workloadToken(t, map[string]any{"exp": end.Unix()}))
	if r.status != 200 {
		t.Fatalf("exchange: %d %s", r.status, r.raw)
	}
	if exp := r.body["expires_in"].(float64); exp > 20 {
		t.Fatalf("expires_in %v outlives the 20s subject", exp)
	}
	for _, raw := range []string{r.str("access_token"), r.str("refresh_token")} {
		if raw == "" {
			continue
		}
		if tok := e.token(t, raw); tok.ExpiresAt.After(end) {
			t.Fatalf("a %s ends %s after its subject", tok.Kind, tok.ExpiresAt.Sub(end))
		}
	}
	// Refreshing the session never outlives the external subject either.
	e.clock.Advance(5 * time.Second)
	ref := e.post(t, pathToken, withAssertion(form("grant_type", "refresh_token", "refresh_token", r.str("refresh_token")),
		e.assertion(t, "pkjwt", nil)))
	if ref.status != 200 {
		t.Fatalf("refresh: %d %s", ref.status, ref.raw)
	}
	for _, raw := range []string{ref.str("access_token"), ref.str("refresh_token")} {
		if tok := e.token(t, raw); tok.ExpiresAt.After(end) {
			t.Fatalf("a refreshed %s ends %s after the subject", tok.Kind, tok.ExpiresAt.Sub(end))
		}
	}
	// A Vigil subject bounds its exchanged tokens the same way.
	sub := e.cc(t, "agent", "audience", rs1)
	e.clock.Advance(time.Duration(sub.body["expires_in"].(float64))*time.Second - 3*time.Second)
	ex := e.exchange(t, "agent", "subject_token", sub.str("access_token"), "subject_token_type", typeAccess)
	if ex.status != 200 || ex.body["expires_in"].(float64) > 3 {
		t.Fatalf("exchange of a subject with 3s left: %d %s", ex.status, ex.raw)
	}
}

// A client assertion or DPoP proof is used up once its signature and
// claims verify, whatever the server decides about the request afterwards.
func TestRules_SingleUseWhateverHappensAfter(t *testing.T) {
	e := newEnv(t, withMemory(), withReportOnly())
	at := e.cc(t, "agent", "audience", rs1).str("access_token")
	doors := []struct {
		name string
		f    func() map[string][]string
		path string
	}{
		{"token endpoint, unknown scope", func() map[string][]string {
			return form("grant_type", "client_credentials", "scope", "no.such.scope")
		}, pathToken},
		{"token endpoint, unsupported grant", func() map[string][]string { return form("grant_type", "password") }, pathToken},
		{"token endpoint, bad refresh token", func() map[string][]string {
			return form("grant_type", "refresh_token", "refresh_token", "vgl_rt_nope")
		}, pathToken},
		{"token endpoint, bad subject token", func() map[string][]string {
			return form("grant_type", grantExchange, "subject_token", "vgl_at_nope", "subject_token_type", typeAccess)
		}, pathToken},
		{"revalidation of another client's session", func() map[string][]string { return form("token", at) }, pathRevalidate},
		{"revocation of another client's token", func() map[string][]string { return form("token", at) }, pathRevoke},
		{"introspection of an unknown token", func() map[string][]string { return form("token", "vgl_at_nope") }, pathIntrospect},
	}
	// pkjwt introspects too, so that the introspection endpoint is a door.
	e.editClient(t, "pkjwt", func(c *storage.Client) { c.Introspect = []string{rs1} })
	for _, d := range doors {
		t.Run(d.name, func(t *testing.T) {
			a := e.assertion(t, "pkjwt", nil)
			first := e.post(t, d.path, withAssertion(d.f(), a))
			if first.status >= 500 || strings.Contains(first.str("error_description"), "already used") {
				t.Fatalf("the first use should authenticate: %d %s", first.status, first.raw)
			}
			again := e.post(t, d.path, withAssertion(d.f(), a))
			wantError(t, again, 401, "invalid_client")
			if !strings.Contains(again.str("error_description"), "already used") {
				t.Fatalf("the replay was refused for another reason: %s", again.raw)
			}
		})
	}
	t.Run("DPoP proof of a refused request", func(t *testing.T) {
		p := newProver(t)
		e.dpopPost(t, p, form("grant_type", "client_credentials"), e.as("dpop")) // learn the nonce
		proof := p.proof(t, e.issuer+pathToken, e.clock.Now(), nil)
		first := e.post(t, pathToken, form("grant_type", "client_credentials", "scope", "no.such.scope"), e.as("dpop"), header("DPoP", proof))
		wantError(t, first, 400, "invalid_scope")
		wantError(t, e.post(t, pathToken, form("grant_type", "client_credentials"), e.as("dpop"), header("DPoP", proof)), 400, "invalid_dpop_proof")
	})
}

// Zero durations through the admin API: a record's lifetime or cap of 0 is
// refused, never taken as "use the default".
func TestRules_ZeroDurationsAtTheAdminAPI(t *testing.T) {
	e := newEnv(t, withMemory())
	bodies := map[string]struct {
		path string
		body map[string]any
	}{
		"client access_token_ttl":  {"/admin/clients", map[string]any{"id": "z1", "kind": "service", "access_token_ttl": "0s"}},
		"client refresh_token_ttl": {"/admin/clients", map[string]any{"id": "z1", "kind": "service", "refresh_token_ttl": "0s"}},
		"client exchange_ttl":      {"/admin/clients", map[string]any{"id": "z1", "kind": "service", "exchange_ttl": "0s"}},
		"client assertion max_lifetime": {"/admin/clients", map[string]any{"id": "z1", "kind": "service",
			"assertion_compat": map[string]any{"max_lifetime": "0s"}}},
		"resource max_ttl": {"/admin/resources", map[string]any{"audience": "https://z.example", "sensitivity": 1, "max_ttl": "0s"}},
	}
	for name, b := range bodies {
		t.Run(name, func(t *testing.T) {
			if r := e.admin(t, "POST", b.path, b.body); r.status != 400 {
				t.Fatalf("%d %s", r.status, r.raw)
			}
		})
	}
}

package security

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/authz"
	"github.com/vigil-auth/vigil/storage"
)

// SECURITY.md §4.2: token exchange. Cases 17-24 (in part), 26, 27, 29, 31
// (self-delegation), 34-36 and 38 are in conformance/protocol.

// SECURITY.md #24: a subject token that stopped being valid is refused:
// revoked, in a terminated session, expired, or signed by a key its issuer
// no longer publishes.
func TestExchange_24_SubjectNoLongerValid(t *testing.T) {
	e := newEnv(t, withMemory(), withReportOnly())
	ex := func(caller, subject string) result {
		return e.exchange(t, caller, "subject_token", subject, "subject_token_type", typeAccess)
	}
	t.Run("revoked", func(t *testing.T) {
		at := e.cc(t, "agent").str("access_token")
		e.revoke(t, "agent", at)
		wantError(t, ex("agent", at), 400, "invalid_request")
	})
	t.Run("session terminated", func(t *testing.T) {
		at := e.cc(t, "agent").str("access_token")
		sid := e.introspect(t, "rs1", at).str("sid")
		if r := e.admin(t, http.MethodPost, "/admin/sessions/"+sid+"/terminate", nil); r.status != 200 {
			t.Fatalf("terminate: %d %s", r.status, r.raw)
		}
		wantError(t, ex("agent", at), 400, "invalid_request")
	})
	t.Run("expired", func(t *testing.T) {
		at := e.cc(t, "agent").str("access_token")
		e.clock.Advance(16 * time.Minute)
		wantError(t, ex("agent", at), 400, "invalid_request")
	})
	t.Run("external, key removed from the issuer", func(t *testing.T) {
		jwt := e.workloadToken(t, nil)
		rotated := newECKey(t)
		err := e.base.Update(context.Background(), func(w storage.Writer) error {
			iss, err := w.GetIssuer(context.Background(), workloadIssuer)
			if err != nil {
				return err
			}
			iss.JWKS = jwksOf(rotated, "wl-2")
			return w.PutIssuer(context.Background(), iss)
		})
		if err != nil {
			t.Fatal(err)
		}
		r := e.post(t, pathToken, withAssertion(form("grant_type", grantExchange, "subject_token", jwt, "subject_token_type", typeJWT),
			e.assertion(t, "pkjwt", nil)))
		wantError(t, r, 400, "invalid_request")
	})
}

// SECURITY.md #25 (CVE-2026-9704): a subject token too large to read is a
// refusal, never an exchange of the caller's own identity.
func TestExchange_25_OversizeSubjectFailsClosed(t *testing.T) {
	e := newEnv(t, withMemory())
	for name, subject := range map[string]string{
		"over the value limit":        "vgl_at_" + strings.Repeat("A", 20<<10),
		"JWT over the external limit": strings.Repeat("a", 7<<10) + "." + strings.Repeat("b", 8<<10) + ".c",
		"empty":                       "",
	} {
		t.Run(name, func(t *testing.T) {
			for _, typ := range []string{typeAccess, typeJWT} {
				r := e.exchange(t, "agent", "subject_token", subject, "subject_token_type", typ, "audience", rs1)
				wantRefused(t, r)
			}
		})
	}
}

// SECURITY.md #30: a subject token carrying both act and may_act is refused.
// Vigil never issues one, so the record is planted in the store.
func TestExchange_30_ActAndMayActTogether(t *testing.T) {
	e := newEnv(t, withMemory())
	at := e.cc(t, "agent").str("access_token")
	tok := e.token(t, at)
	tok.Actors, tok.MayAct = []string{"actor2"}, []string{"actor1"}
	ctx := context.Background()
	if err := e.base.Update(ctx, func(w storage.Writer) error { return w.PutToken(ctx, tok) }); err != nil {
		t.Fatal(err)
	}
	for _, caller := range []string{"actor1", "actor2"} {
		t.Run(caller, func(t *testing.T) { wantRefused(t, e.delegate(t, caller, at, "audience", rs1)) })
	}
	wantRefused(t, e.exchange(t, "actor2", "subject_token", at, "subject_token_type", typeAccess))
}

// SECURITY.md #31, #32: a chain grows one distinct actor per hop up to the
// maximum depth (3 by default), counted from the stored chain; an actor
// that appears again, or a hop past the maximum, is refused. A JWT subject
// whose act claim was edited is not a token Vigil issued at all.
func TestExchange_31_32_ChainRules(t *testing.T) {
	e := newEnv(t, withMemory(), withReportOnly())
	subject := e.cc(t, "agent").str("access_token")
	chain := []string{}
	for _, actor := range []string{"actor1", "actor2", "actor3"} {
		r := e.delegate(t, actor, subject, "audience", rs1)
		if r.status != 200 {
			t.Fatalf("hop by %s (chain %v): %d %s", actor, chain, r.status, r.raw)
		}
		subject = r.str("access_token")
		chain = append([]string{actor}, chain...)
		if got := e.token(t, subject).Actors; !slices.Equal(got, chain) {
			t.Fatalf("stored chain %v, want %v", got, chain)
		}
	}
	t.Run("depth MAX+1", func(t *testing.T) { wantRefused(t, e.delegate(t, "actor4", subject, "audience", rs1)) })
	t.Run("actor repeats (A→B→C→A)", func(t *testing.T) { wantRefused(t, e.delegate(t, "actor1", subject, "audience", rs1)) })
	t.Run("actor repeats (A→B→A)", func(t *testing.T) {
		s := e.cc(t, "agent").str("access_token")
		hop1 := e.delegate(t, "actor1", s, "audience", rs1).str("access_token")
		hop2 := e.delegate(t, "actor2", hop1, "audience", rs1).str("access_token")
		wantRefused(t, e.delegate(t, "actor1", hop2, "audience", rs1))
	})
	t.Run("forged act in a JWT subject", func(t *testing.T) {
		jwt := e.exchange(t, "agent", "subject_token", e.cc(t, "agent").str("access_token"), "subject_token_type", typeAccess,
			"requested_token_type", typeJWT, "audience", rs1).str("access_token")
		parts := strings.Split(jwt, ".")
		if len(parts) != 3 {
			t.Fatalf("not a JWT: %q", jwt)
		}
		forged := parts[0] + "." + b64([]byte(`{"act":{"sub":"actor1"},"sub":"agent"}`)) + "." + parts[2]
		wantRefused(t, e.delegate(t, "actor2", forged, "audience", rs1))
		wantRefused(t, e.exchange(t, "actor1", "subject_token", forged, "subject_token_type", typeAccess))
	})
}

// SECURITY.md #33: the delegate permission is re-read at every exchange:
// once an administrator removes an actor from the subject's may_act, that
// actor can neither add a hop nor mint new tokens from the chain it is in.
func TestExchange_33_PermissionRecheckedEveryHop(t *testing.T) {
	e := newEnv(t, withMemory(), withReportOnly())
	subject := e.cc(t, "agent").str("access_token")
	hop1 := e.delegate(t, "actor1", subject, "audience", rs1)
	if hop1.status != 200 {
		t.Fatalf("hop 1: %d %s", hop1.status, hop1.raw)
	}
	e.editClient(t, "agent", func(c *storage.Client) {
		c.MayAct = slices.DeleteFunc(c.MayAct, func(s string) bool { return s == "actor1" || s == "actor2" })
	})
	t.Run("next hop by a removed actor", func(t *testing.T) {
		wantRefused(t, e.delegate(t, "actor2", hop1.str("access_token"), "audience", rs1))
	})
	t.Run("first hop by a removed actor", func(t *testing.T) {
		wantRefused(t, e.delegate(t, "actor1", subject, "audience", rs1))
	})
	t.Run("current actor re-narrows after removal", func(t *testing.T) {
		wantRefused(t, e.exchange(t, "actor1", "subject_token", hop1.str("access_token"), "subject_token_type", typeAccess))
		own := e.cc(t, "actor1").str("access_token")
		wantRefused(t, e.exchange(t, "actor1", "subject_token", hop1.str("access_token"), "subject_token_type", typeAccess,
			"actor_token", own, "actor_token_type", typeAccess))
	})
	t.Run("an actor still named may go on", func(t *testing.T) {
		if r := e.delegate(t, "actor3", subject, "audience", rs1); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	})
}

// SECURITY.md #34 (the parts the protocol suite does not check): a
// delegated token never outlives its subject, and never carries may_act.
func TestExchange_34_DelegatedTokenBounds(t *testing.T) {
	e := newEnv(t, withMemory(), withReportOnly())
	first := e.cc(t, "agent", "audience", rs1)
	subj := e.token(t, first.str("access_token"))
	e.clock.Advance(14 * time.Minute) // one minute of the subject's life left
	r := e.delegate(t, "actor1", first.str("access_token"), "audience", rs1)
	if r.status != 200 {
		t.Fatalf("delegation: %d %s", r.status, r.raw)
	}
	out := e.token(t, r.str("access_token"))
	if out.ExpiresAt.After(subj.ExpiresAt) {
		t.Fatalf("delegated token expires %s, after its subject %s", out.ExpiresAt, subj.ExpiresAt)
	}
	if len(out.MayAct) != 0 || r.str("refresh_token") != "" {
		t.Fatalf("delegated token carries may_act %v or came with a refresh token", out.MayAct)
	}
	if out.SessionID != subj.SessionID || out.ParentID != authz.TokenID(first.str("access_token")) {
		t.Fatalf("delegated token left its subject's session or lineage: %+v", out)
	}
}

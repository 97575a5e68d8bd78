package security

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/vigil-auth/vigil/storage"
)

// thumbprint is the RFC 7638 SHA-256 thumbprint of the prover's key.
func (p *prover) thumbprint() string {
	j := ecJWK(&p.key.PublicKey, "")
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + j["x"].(string) + `","y":"` + j["y"].(string) + `"}`))
	return b64(sum[:])
}

// dpopExchange is one token exchange with a DPoP proof by p, or none when p
// is nil.
func (e *env) dpopExchange(t *testing.T, caller string, p *prover, kv ...string) result {
	t.Helper()
	f := form(append([]string{"grant_type", grantExchange}, kv...)...)
	if p == nil {
		return e.post(t, pathToken, f, e.as(caller))
	}
	return e.dpopPost(t, p, f, e.as(caller))
}

// ownToken is a client_credentials access token of id, bound to p's key
// when p is non-nil.
func (e *env) ownToken(t *testing.T, id string, p *prover) string {
	t.Helper()
	f := form("grant_type", "client_credentials")
	r := e.post(t, pathToken, f, e.as(id))
	if p != nil {
		r = e.dpopPost(t, p, f, e.as(id))
	}
	if r.status != 200 {
		t.Fatalf("client_credentials for %s: %d %s", id, r.status, r.raw)
	}
	return r.str("access_token")
}

// popMismatches counts the bind.pop_mismatch refusals on session sid.
func (e *env) popMismatches(t *testing.T, sid string) int {
	t.Helper()
	n := 0
	for _, rec := range e.audit(t, storage.AuditFilter{SessionID: sid}) {
		if strings.Contains(rec.Reason, "bind.pop_mismatch") {
			n++
		}
	}
	return n
}

// RFC 8693 delegation with DPoP (RFC 9449): the caller of a delegated
// exchange is the actor, presenting its own actor token, so the proof must
// be by the actor token's key and the issued token is bound to the proof's
// key, the actor's; the subject token's key is not demanded of the actor. A
// non-delegated exchange still needs the subject token's key. A bound
// subject never yields an unbound delegated token. The policy enforces (no
// report-only): a legitimate delegation must leave the principal's session
// active.
func TestExchange_DPoPDelegation(t *testing.T) {
	const (
		none      = ""
		principal = "principal" // the subject's client's key
		actor     = "actor"     // the actor's key
		third     = "third"     // a key neither holds
	)
	tests := []struct {
		name                     string
		principalDPoP, actorDPoP bool   // registered with dpop, their tokens bound
		delegate                 bool   // actor1 with its actor token; else the subject's own client
		proof                    string // whose key signs the exchange's proof
		status                   int
		code                     string
		boundTo                  string // whose key the issued token's cnf.jkt is
		fact                     bool   // bind.pop_mismatch recorded on the principal's session
	}{
		{name: "both bound, actor's key", principalDPoP: true, actorDPoP: true, delegate: true, proof: actor,
			status: 200, boundTo: actor},
		{name: "both bound, principal's key", principalDPoP: true, actorDPoP: true, delegate: true, proof: principal,
			status: 400, code: "invalid_dpop_proof", fact: true},
		{name: "both bound, a third key", principalDPoP: true, actorDPoP: true, delegate: true, proof: third,
			status: 400, code: "invalid_dpop_proof", fact: true},
		{name: "both bound, no proof", principalDPoP: true, actorDPoP: true, delegate: true, proof: none,
			status: 400, code: "invalid_dpop_proof"},
		{name: "subject unbound, actor bound, actor's key", actorDPoP: true, delegate: true, proof: actor,
			status: 200, boundTo: actor},
		{name: "subject unbound, actor bound, a third key", actorDPoP: true, delegate: true, proof: third,
			status: 400, code: "invalid_dpop_proof", fact: true},
		{name: "subject unbound, actor bound, no proof", actorDPoP: true, delegate: true, proof: none,
			status: 400, code: "invalid_dpop_proof"},
		// An actor whose own token is not bound still may not turn a bound
		// subject into a bearer token: it proves a key of its own.
		{name: "subject bound, actor unbound, no proof", principalDPoP: true, delegate: true, proof: none,
			status: 400, code: "invalid_dpop_proof"},
		{name: "subject bound, actor unbound, actor's key", principalDPoP: true, delegate: true, proof: actor,
			status: 200, boundTo: actor},
		{name: "neither bound, no proof", delegate: true, proof: none, status: 200},
		// Without an actor token the caller presents the subject token as
		// its own: the subject token's key, as in refresh.
		{name: "not delegated, principal's key", principalDPoP: true, proof: principal, status: 200, boundTo: principal},
		{name: "not delegated, another key", principalDPoP: true, proof: third,
			status: 400, code: "invalid_dpop_proof", fact: true},
		{name: "not delegated, no proof", principalDPoP: true, proof: none, status: 400, code: "invalid_dpop_proof"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, withMemory())
			e.editClient(t, "agent", func(c *storage.Client) { c.DPoP = tt.principalDPoP })
			e.editClient(t, "actor1", func(c *storage.Client) { c.DPoP = tt.actorDPoP })
			keys := map[string]*prover{principal: newProver(t), actor: newProver(t), third: newProver(t)}
			bound := func(on bool, p *prover) *prover {
				if on {
					return p
				}
				return nil
			}
			subject := e.ownToken(t, "agent", bound(tt.principalDPoP, keys[principal]))
			sid := e.token(t, subject).SessionID
			kv := []string{"subject_token", subject, "subject_token_type", typeAccess, "audience", rs1}
			caller := "agent"
			if tt.delegate {
				caller = "actor1"
				kv = append(kv, "actor_token", e.ownToken(t, "actor1", bound(tt.actorDPoP, keys[actor])),
					"actor_token_type", typeAccess)
			}
			r := e.dpopExchange(t, caller, keys[tt.proof], kv...)
			if tt.status != 200 {
				wantError(t, r, tt.status, tt.code)
			} else if r.status != 200 {
				t.Fatalf("got %d %s, want 200", r.status, r.raw)
			}
			if n := e.popMismatches(t, sid); (n > 0) != tt.fact {
				t.Fatalf("%d bind.pop_mismatch records on the principal's session, want recorded=%v", n, tt.fact)
			}
			if r.status != 200 {
				return
			}
			if s, err := e.base.GetSession(context.Background(), sid); err != nil || s.Status != storage.SessionActive {
				t.Fatalf("the principal's session after a delegation: %+v %v", s, err)
			}
			in := e.introspect(t, "rs1", r.str("access_token"))
			wantActive(t, in)
			cnf, _ := in.body["cnf"].(map[string]any)
			var want string
			if tt.boundTo != none {
				want = keys[tt.boundTo].thumbprint()
			}
			if got, _ := cnf["jkt"].(string); got != want || (want != "" && in.str("token_type") != "DPoP") {
				t.Fatalf("issued token's cnf %v (%s), want jkt %q (%s)", cnf, in.raw, want, tt.boundTo)
			}
			if got := e.token(t, r.str("access_token")).JKT; got != want {
				t.Fatalf("stored binding %q, want %q", got, want)
			}
		})
	}
}

// A delegated token is the actor's: the actor narrows it with its own key,
// with or without its actor token; the principal's key is never asked of
// it. When the caller presents two bound tokens of its own (its delegated
// token and an actor token), the one proof must match both.
func TestExchange_DPoPDelegationNarrow(t *testing.T) {
	type fixture struct {
		e                *env
		principal, actor *prover
		own, delegated   string
		sid              string
	}
	setup := func(t *testing.T) fixture {
		e := newEnv(t, withMemory())
		for _, id := range []string{"agent", "actor1"} {
			e.editClient(t, id, func(c *storage.Client) { c.DPoP = true })
		}
		f := fixture{e: e, principal: newProver(t), actor: newProver(t)}
		subject := e.ownToken(t, "agent", f.principal)
		f.sid = e.token(t, subject).SessionID
		f.own = e.ownToken(t, "actor1", f.actor)
		hop := e.dpopExchange(t, "actor1", f.actor, "subject_token", subject, "subject_token_type", typeAccess,
			"actor_token", f.own, "actor_token_type", typeAccess)
		if hop.status != 200 || e.token(t, hop.str("access_token")).JKT != f.actor.thumbprint() {
			t.Fatalf("delegation: %d %s", hop.status, hop.raw)
		}
		f.delegated = hop.str("access_token")
		return f
	}
	narrow := func(t *testing.T, f fixture, p *prover, actorToken string) result {
		kv := []string{"subject_token", f.delegated, "subject_token_type", typeAccess, "audience", rs1}
		if actorToken != "" {
			kv = append(kv, "actor_token", actorToken, "actor_token_type", typeAccess)
		}
		return f.e.dpopExchange(t, "actor1", p, kv...)
	}
	t.Run("the actor's key", func(t *testing.T) {
		f := setup(t)
		for _, actorToken := range []string{"", f.own} {
			r := narrow(t, f, f.actor, actorToken)
			if r.status != 200 || f.e.token(t, r.str("access_token")).JKT != f.actor.thumbprint() {
				t.Fatalf("the actor narrows its delegated token (actor_token %v): %d %s", actorToken != "", r.status, r.raw)
			}
		}
	})
	for _, tt := range []struct {
		name  string
		proof func(f fixture, later *prover) *prover
		later bool // an actor token bound to a later key of the actor
	}{
		{"the principal's key", func(f fixture, _ *prover) *prover { return f.principal }, false},
		{"the delegated token's key, a later actor token", func(f fixture, _ *prover) *prover { return f.actor }, true},
		{"the later actor token's key", func(_ fixture, later *prover) *prover { return later }, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			later, actorToken := newProver(t), ""
			if tt.later {
				actorToken = f.e.ownToken(t, "actor1", later)
			}
			wantError(t, narrow(t, f, tt.proof(f, later), actorToken), 400, "invalid_dpop_proof")
			if f.e.popMismatches(t, f.sid) == 0 {
				t.Fatal("the proof by another key is not recorded as bind.pop_mismatch")
			}
		})
	}
}

// The second hop of a chain binds to the second actor's key.
func TestExchange_DPoPDelegationSecondHop(t *testing.T) {
	e := newEnv(t, withMemory())
	for _, id := range []string{"agent", "actor1", "actor2"} {
		e.editClient(t, id, func(c *storage.Client) { c.DPoP = true })
	}
	pk, k1, k2 := newProver(t), newProver(t), newProver(t)
	hop := func(caller string, p *prover, subject string) result {
		return e.dpopExchange(t, caller, p, "subject_token", subject, "subject_token_type", typeAccess,
			"actor_token", e.ownToken(t, caller, p), "actor_token_type", typeAccess)
	}
	subject := e.ownToken(t, "agent", pk)
	hop1 := hop("actor1", k1, subject)
	if hop1.status != 200 {
		t.Fatalf("hop 1: %d %s", hop1.status, hop1.raw)
	}
	hop2 := hop("actor2", k2, hop1.str("access_token"))
	if hop2.status != 200 {
		t.Fatalf("hop 2: %d %s", hop2.status, hop2.raw)
	}
	tok := e.token(t, hop2.str("access_token"))
	if tok.JKT != k2.thumbprint() || len(tok.Actors) != 2 || tok.Actors[0] != "actor2" {
		t.Fatalf("hop 2 token: jkt %q actors %v, want actor2's key and chain [actor2 actor1]", tok.JKT, tok.Actors)
	}
	if s, err := e.base.GetSession(context.Background(), tok.SessionID); err != nil || s.Status != storage.SessionActive {
		t.Fatalf("the principal's session after two hops: %+v %v", s, err)
	}
}

// An actor token is held to its client's registration as introspection
// holds it: once the actor is registered with dpop, its unbound tokens stop
// being actor tokens, whatever key the exchange's proof is by.
func TestExchange_DPoPActorTokenFollowsRegistration(t *testing.T) {
	e := newEnv(t, withMemory())
	e.editClient(t, "agent", func(c *storage.Client) { c.DPoP = true })
	pk, ka := newProver(t), newProver(t)
	subject := e.ownToken(t, "agent", pk)
	unbound := e.ownToken(t, "actor1", nil)
	e.editClient(t, "actor1", func(c *storage.Client) { c.DPoP = true })
	r := e.dpopExchange(t, "actor1", ka, "subject_token", subject, "subject_token_type", typeAccess,
		"actor_token", unbound, "actor_token_type", typeAccess)
	wantError(t, r, 400, "invalid_request")
	r = e.dpopExchange(t, "actor1", ka, "subject_token", subject, "subject_token_type", typeAccess,
		"actor_token", e.ownToken(t, "actor1", ka), "actor_token_type", typeAccess)
	if r.status != 200 || e.token(t, r.str("access_token")).JKT != ka.thumbprint() {
		t.Fatalf("with a bound actor token: %d %s", r.status, r.raw)
	}
}

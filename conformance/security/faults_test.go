package security

import (
	"net/http"
	"testing"
)

// SECURITY.md #59 and D6: a store that cannot write (a full disk, a failed
// commit) or cannot be read makes Vigil answer 503, never a false success;
// nothing a failed request asked for happens, and a retry after recovery
// succeeds.

func want503(t *testing.T, r result) {
	t.Helper()
	if r.status != http.StatusServiceUnavailable || r.str("error") != "temporarily_unavailable" {
		t.Fatalf("got %d %s, want 503 temporarily_unavailable", r.status, r.raw)
	}
	if r.str("access_token") != "" {
		t.Fatal("a token came with the failure")
	}
}

// SECURITY.md #59 (CVE-2020-15223): a revocation that cannot be recorded is
// 503 and the token stays active; the retry after recovery revokes it.
func TestRevocation_59_FailingStoreIs503(t *testing.T) {
	both(t, func(t *testing.T, mem bool) {
		for _, mode := range []int32{faultWrites, faultCommit} {
			opts := []envOpt{withReportOnly()}
			if mem {
				opts = append(opts, withMemory())
			}
			e := newEnv(t, opts...)
			first := e.cc(t, "agent", "audience", rs1)
			e.faults.set(mode)
			want503(t, e.revoke(t, "agent", first.str("access_token")))
			want503(t, e.revoke(t, "agent", first.str("refresh_token")))
			wantActive(t, e.introspect(t, "rs1", first.str("access_token")))
			e.faults.set(faultNone)
			if r := e.revoke(t, "agent", first.str("refresh_token")); r.status != 200 {
				t.Fatalf("revoke after recovery: %d %s", r.status, r.raw)
			}
			wantInactive(t, e.introspect(t, "rs1", first.str("access_token")))
		}
	})
}

// D6 at the token endpoint: every grant is 503 while writes fail, uses up
// nothing (a refresh token, an assertion's jti, a DPoP proof's jti), and
// works once the store recovers. A refusal decided before any write is
// still the refusal.
func TestFaults_D6_TokenEndpoint(t *testing.T) {
	both(t, func(t *testing.T, mem bool) {
		for _, mode := range []int32{faultWrites, faultCommit} {
			opts := []envOpt{withReportOnly()}
			if mem {
				opts = append(opts, withMemory())
			}
			e := newEnv(t, opts...)
			first := e.cc(t, "agent", "audience", rs1)
			p := newProver(t)
			e.dpopPost(t, p, form("grant_type", "client_credentials"), e.as("dpop")) // learn the nonce
			a := e.assertion(t, "pkjwt", nil)
			proof := p.proof(t, e.issuer+pathToken, e.clock.Now(), nil)
			exchange := []string{"subject_token", first.str("access_token"), "subject_token_type", typeAccess, "audience", rs1}

			e.faults.set(mode)
			want503(t, e.cc2(t, "agent"))
			want503(t, e.refresh(t, "agent", first.str("refresh_token")))
			want503(t, e.exchange(t, "agent", exchange...))
			want503(t, e.post(t, pathToken, withAssertion(form("grant_type", "client_credentials"), a)))
			want503(t, e.post(t, pathToken, form("grant_type", "client_credentials"), e.as("dpop"), header("DPoP", proof)))
			wantError(t, e.cc2(t, "agent", "scope", "secrets.read"), 400, "invalid_scope")

			e.faults.set(faultNone)
			for name, r := range map[string]result{
				"refresh":          e.refresh(t, "agent", first.str("refresh_token")),
				"exchange":         e.exchange(t, "agent", exchange...),
				"same assertion":   e.post(t, pathToken, withAssertion(form("grant_type", "client_credentials"), a)),
				"same DPoP proof":  e.post(t, pathToken, form("grant_type", "client_credentials"), e.as("dpop"), header("DPoP", proof)),
				"client secret cc": e.cc2(t, "agent"),
			} {
				if r.status != 200 {
					t.Errorf("%s after recovery: %d %s", name, r.status, r.raw)
				}
			}
		}
	})
}

// D6 at introspection: while writes fail, tokens that exist are still
// judged; when reads fail too, the answer is 503, not a verdict.
func TestFaults_D6_Introspection(t *testing.T) {
	both(t, func(t *testing.T, mem bool) {
		opts := []envOpt{withReportOnly()}
		if mem {
			opts = append(opts, withMemory())
		}
		e := newEnv(t, opts...)
		at := e.cc(t, "agent", "audience", rs1).str("access_token")
		e.faults.set(faultWrites)
		wantActive(t, e.introspect(t, "rs1", at))
		wantInactive(t, e.introspect(t, "rs1", "vgl_at_unknown"))
		e.faults.set(faultAll)
		want503(t, e.introspect(t, "rs1", at))
	})
}

// D6 for administration: a termination that cannot be recorded is 503 and
// the session goes on.
func TestFaults_D6_AdminTermination(t *testing.T) {
	e := newEnv(t, withReportOnly())
	at := e.cc(t, "agent", "audience", rs1).str("access_token")
	sid := e.introspect(t, "rs1", at).str("sid")
	e.faults.set(faultCommit)
	want503(t, e.admin(t, http.MethodPost, "/admin/sessions/"+sid+"/terminate", nil))
	e.faults.set(faultNone)
	wantActive(t, e.introspect(t, "rs1", at))
}

// A closed bbolt store (what a crashed disk or a shutdown race leaves)
// answers 503 everywhere and turns readiness off.
func TestFaults_ClosedStore(t *testing.T) {
	e := newEnv(t, withReportOnly())
	first := e.cc(t, "agent", "audience", rs1)
	if err := e.base.Close(); err != nil {
		t.Fatal(err)
	}
	want503(t, e.cc2(t, "agent"))
	want503(t, e.refresh(t, "agent", first.str("refresh_token")))
	want503(t, e.revoke(t, "agent", first.str("access_token")))
	want503(t, e.introspect(t, "rs1", first.str("access_token")))
	resp, err := e.http.Get(e.url + "/health/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readiness with a closed store: %d", resp.StatusCode)
	}
}

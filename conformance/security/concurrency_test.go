package security

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/authz"
	"github.com/vigil-auth/vigil/storage"
)

// Concurrency rules, checked on both storage backends:
//   - concurrent refreshes of one refresh token inside the grace window all
//     receive the same successor (Vigil's design, PROTOCOLS.md): the family
//     never forks and has exactly one live refresh token afterwards;
//   - a single-use credential (client assertion jti, DPoP proof jti)
//     replayed concurrently succeeds exactly once;
//   - once a revocation or termination has returned, no introspection that
//     starts afterwards says active, and no token derived from the revoked
//     one (even one being minted at that very moment) stays active.

const racers = 24

// race runs f racers times at once and returns the answers.
func race(f func(i int) result) []result { return raceN(racers, f) }

// raceN runs f n times at once and returns the answers.
func raceN(n int, f func(i int) result) []result {
	out := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return out
}

func count(rs []result, status int) int {
	n := 0
	for _, r := range rs {
		if r.status == status {
			n++
		}
	}
	return n
}

func envFor(t *testing.T, mem bool) *env {
	opts := []envOpt{withReportOnly()}
	if mem {
		opts = append(opts, withMemory())
	}
	return newEnv(t, opts...)
}

// liveRefresh returns the refresh tokens of family fam that are neither
// rotated, revoked nor expired.
func (e *env) liveRefresh(t *testing.T, sid, fam string) []storage.Token {
	t.Helper()
	toks, err := e.base.ListSessionTokens(context.Background(), sid)
	if err != nil {
		t.Fatal(err)
	}
	var live []storage.Token
	for _, tok := range toks {
		if tok.Kind == storage.RefreshToken && tok.FamilyID == fam && tok.RotatedAt.IsZero() && tok.Active(e.clock.Now()) {
			live = append(live, tok)
		}
	}
	return live
}

// SECURITY.md #45: concurrent refreshes of one refresh token give exactly
// one successor, so the family has exactly one live refresh token.
func TestConcurrency_45_RefreshOneSuccessor(t *testing.T) {
	both(t, func(t *testing.T, mem bool) {
		e := envFor(t, mem)
		rt := e.cc(t, "agent").str("refresh_token")
		old := e.token(t, rt)
		rs := race(func(int) result { return e.refresh(t, "agent", rt) })
		successor := ""
		for _, r := range rs {
			if r.status != 200 {
				t.Fatalf("a refresh inside the grace window failed: %d %s", r.status, r.raw)
			}
			if successor == "" {
				successor = r.str("refresh_token")
			}
			if r.str("refresh_token") != successor {
				t.Fatal("concurrent refreshes received different successors: the family forked")
			}
		}
		live := e.liveRefresh(t, old.SessionID, old.FamilyID)
		if len(live) != 1 || live[0].ID != authz.TokenID(successor) {
			t.Fatalf("family has %d live refresh tokens, want exactly the successor", len(live))
		}
		// The successor goes on rotating normally.
		next := e.refresh(t, "agent", successor)
		if next.status != 200 {
			t.Fatalf("refresh with the successor: %d %s", next.status, next.raw)
		}
		if live := e.liveRefresh(t, old.SessionID, old.FamilyID); len(live) != 1 || live[0].ID != authz.TokenID(next.str("refresh_token")) {
			t.Fatalf("after the next rotation the family has %d live refresh tokens", len(live))
		}
	})
}

// A rotated refresh token replayed concurrently after the grace window
// never yields a token, and the family ends with no live refresh token.
func TestConcurrency_45_StaleRefreshReplay(t *testing.T) {
	both(t, func(t *testing.T, mem bool) {
		e := envFor(t, mem)
		rt := e.cc(t, "agent").str("refresh_token")
		old := e.token(t, rt)
		if r := e.refresh(t, "agent", rt); r.status != 200 {
			t.Fatalf("refresh: %d %s", r.status, r.raw)
		}
		e.clock.Advance(time.Minute)
		rs := race(func(int) result { return e.refresh(t, "agent", rt) })
		if n := count(rs, 400); n != racers {
			t.Fatalf("%d of %d stale replays refused", n, racers)
		}
		if live := e.liveRefresh(t, old.SessionID, old.FamilyID); len(live) != 0 {
			t.Fatalf("after theft was detected the family still has %d live refresh tokens", len(live))
		}
	})
}

// SECURITY.md #5: one client assertion sent many times at once
// authenticates exactly once.
func TestConcurrency_5_AssertionReplay(t *testing.T) {
	both(t, func(t *testing.T, mem bool) {
		e := envFor(t, mem)
		a := e.assertion(t, "pkjwt", nil)
		rs := race(func(int) result {
			return e.post(t, pathToken, withAssertion(form("grant_type", "client_credentials"), a))
		})
		if ok, refused := count(rs, 200), count(rs, 401); ok != 1 || refused != racers-1 {
			t.Fatalf("%d successes and %d refusals, want 1 and %d", ok, refused, racers-1)
		}
		// The same at introspection, where the assertion authenticates a caller.
		ra := e.post(t, pathToken, withAssertion(form("grant_type", "client_credentials"), e.assertion(t, "pkjwt", nil)))
		if ra.status != 200 {
			t.Fatalf("fresh assertion: %d %s", ra.status, ra.raw)
		}
	})
}

// A DPoP proof sent many times at once is accepted exactly once.
func TestConcurrency_DPoPProofReplay(t *testing.T) {
	both(t, func(t *testing.T, mem bool) {
		e := envFor(t, mem)
		p := newProver(t)
		e.dpopPost(t, p, form("grant_type", "client_credentials"), e.as("dpop")) // learn the nonce
		proof := p.proof(t, e.issuer+pathToken, e.clock.Now(), nil)
		rs := race(func(int) result {
			return e.post(t, pathToken, form("grant_type", "client_credentials"), e.as("dpop"), header("DPoP", proof))
		})
		if ok, refused := count(rs, 200), count(rs, 400); ok != 1 || refused != racers-1 {
			t.Fatalf("%d successes and %d refusals, want 1 and %d", ok, refused, racers-1)
		}
	})
}

// op is one operation of a recorded history, with logical start and end
// times from one shared counter.
type op struct {
	start, end int64
	active     bool
}

// history records operations against a logical clock.
type history struct {
	clock atomic.Int64
	mu    sync.Mutex
	ops   []op
}

func (h *history) record(f func() bool) {
	start := h.clock.Add(1)
	active := f()
	end := h.clock.Add(1)
	h.mu.Lock()
	h.ops = append(h.ops, op{start: start, end: end, active: active})
	h.mu.Unlock()
}

// checkAfter fails if an operation that started after cut said active, and
// reports how many operations ended before start.
func (h *history) checkAfter(t *testing.T, what string, start, cut int64) (before int) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, o := range h.ops {
		if o.start > cut && o.active {
			t.Errorf("%s: an introspection started after the revocation returned and said active", what)
		}
		if o.end < start && o.active {
			before++
		}
	}
	return before
}

// Introspections under load around a revocation, a refresh-token revocation
// and a session termination: none that starts after the change returned
// says active.
func TestConcurrency_IntrospectionAfterRevocation(t *testing.T) {
	both(t, func(t *testing.T, mem bool) {
		e := envFor(t, mem)
		changes := map[string]func(at, rt, sid string) bool{
			"revoke the access token":  func(at, _, _ string) bool { return e.revoke(t, "agent", at).status == 200 },
			"revoke the refresh token": func(_, rt, _ string) bool { return e.revoke(t, "agent", rt).status == 200 },
			"terminate the session": func(_, _, sid string) bool {
				return e.admin(t, http.MethodPost, "/admin/sessions/"+sid+"/terminate", nil).status == 200
			},
		}
		for name, change := range changes {
			t.Run(name, func(t *testing.T) {
				for round := range 3 {
					first := e.cc(t, "agent", "audience", rs1)
					at, rt := first.str("access_token"), first.str("refresh_token")
					sid := e.token(t, at).SessionID
					h := &history{}
					stop := make(chan struct{})
					var wg sync.WaitGroup
					for range 6 {
						wg.Go(func() {
							for {
								select {
								case <-stop:
									return
								default:
								}
								h.record(func() bool { return e.introspect(t, "rs1", at).active() })
							}
						})
					}
					for h.clock.Load() < int64(40+round*40) { // let some introspections run first
						time.Sleep(time.Millisecond)
					}
					start := h.clock.Add(1)
					if !change(at, rt, sid) {
						t.Fatal("the change failed")
					}
					cut := h.clock.Add(1)
					for h.clock.Load() < cut+100 {
						time.Sleep(time.Millisecond)
					}
					close(stop)
					wg.Wait()
					if before := h.checkAfter(t, name, start, cut); before == 0 {
						t.Fatal("no introspection saw the token active before the change: the history proves nothing")
					}
				}
			})
		}
	})
}

// #38 under concurrency: exchanges racing the revocation of their subject
// never leave an active token behind.
func TestConcurrency_38_ExchangeRacingRevocation(t *testing.T) {
	both(t, func(t *testing.T, mem bool) {
		e := envFor(t, mem)
		for range 5 {
			subject := e.cc(t, "agent", "audience", rs1).str("access_token")
			var mu sync.Mutex
			var issued []string
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range 12 {
				wg.Go(func() {
					<-start
					for range 4 {
						r := e.exchange(t, "agent", "subject_token", subject, "subject_token_type", typeAccess, "audience", rs1)
						if r.status == 200 {
							mu.Lock()
							issued = append(issued, r.str("access_token"))
							mu.Unlock()
						}
					}
				})
			}
			close(start)
			time.Sleep(2 * time.Millisecond)
			if r := e.revoke(t, "agent", subject); r.status != 200 {
				t.Fatalf("revoke: %d %s", r.status, r.raw)
			}
			wg.Wait()
			for _, tok := range issued {
				if e.introspect(t, "rs1", tok).active() {
					t.Fatal("a token exchanged from a revoked subject is active")
				}
			}
		}
	})
}

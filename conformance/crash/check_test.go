package crash

import (
	"context"
	"math/rand/v2"
	"net/url"
	"time"

	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/bolt"
)

// sample returns every item from index recent on, plus up to n older ones
// picked at random, so that checks stay cheap over hundreds of cycles.
func sample[T any](r *rand.Rand, items []T, recent, n int) []T {
	recent = max(0, min(recent, len(items)))
	out := append([]T(nil), items[recent:]...)
	for range min(n, recent) {
		out = append(out, items[r.IntN(recent)])
	}
	return out
}

// checkOnline asks the restarted server about every acknowledged
// operation (a sample of the older ones): acknowledged issuance is still
// active; acknowledged revocations and terminations still hold, down to the
// tokens derived from what they revoked; used assertions and proofs stay
// used.
func (m *model) checkOnline(c *client, r *rand.Rand) {
	t := m.t
	inactive := func(what, tok string) {
		a := c.introspect(tok)
		if a.err != nil {
			t.Fatalf("introspect: %v", a.err)
		}
		if a.status != 200 || a.body["active"] != false {
			t.Errorf("cycle %d: %s: introspection says %d %s", m.cycle, what, a.status, a.raw)
		}
	}
	for _, at := range sample(r, m.revokedATs, m.newSince, 40) {
		inactive("an acknowledged revoked access token", at)
		for _, d := range m.derived[at] {
			inactive("a token exchanged from a revoked access token", d)
		}
	}
	for _, f := range sample(r, m.families, m.familiesSince, 60) {
		switch {
		case f.revoked || f.ended:
			for _, tok := range append(append([]string(nil), f.ats...), f.delegated...) {
				inactive("a token of a revoked family or ended session", tok)
			}
			a, _ := c.grant(f.client, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {f.rt}}, f.prover)
			if a.err != nil || a.status == 200 {
				t.Errorf("cycle %d: refresh of a revoked family or ended session: %d %s %v", m.cycle, a.status, a.raw, a.err)
			}
		case m.liveAccess(f) != "":
			if a := c.introspect(m.liveAccess(f)); a.err != nil || a.body["active"] != true {
				t.Errorf("cycle %d: an acknowledged access token of a live family is not active: %d %s", m.cycle, a.status, a.raw)
			}
		}
	}
	now := time.Now()
	for _, u := range sample(r, m.assertions, len(m.assertions)-25, 0) {
		if u.exp.Before(now) {
			continue
		}
		f := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {assertType}, "client_assertion": {u.raw}}
		if a := c.post("/oauth2/token", f, nil); a.err != nil || a.status == 200 {
			t.Errorf("cycle %d: a used client assertion was accepted again: %d %v", m.cycle, a.status, a.err)
		}
	}
	for _, proof := range sample(r, m.proofs, len(m.proofs)-10, 0) {
		a := c.as(dpopID, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, map[string]string{"DPoP": proof})
		if a.err != nil || a.status == 200 {
			t.Errorf("cycle %d: a used DPoP proof was accepted again: %d %v", m.cycle, a.status, a.err)
		}
	}
}

// checkOffline opens the data file of the dead server: bbolt's consistency
// check passes, and the stored state keeps the invariants whatever the
// client was told: no token outlives its session, a terminated session has
// no unrevoked token, a token derived from a revoked one is revoked, a
// refresh family has at most one live refresh token, and exactly the one
// the client holds when its history is fully acknowledged.
func (m *model) checkOffline(path string) {
	t := m.t
	st, err := bolt.Open(path, bolt.WithLockTimeout(5*time.Second))
	if err != nil {
		t.Fatalf("cycle %d: open the data file after the kill: %v", m.cycle, err)
	}
	defer st.Close()
	if err := st.Check(); err != nil {
		t.Fatalf("cycle %d: bbolt consistency check: %v", m.cycle, err)
	}
	ctx := context.Background()
	sessions, err := st.ListSessions(ctx, storage.SessionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]storage.Token{}
	live := map[string][]string{} // family -> IDs of its live refresh tokens
	now := time.Now()
	for _, s := range sessions {
		toks, err := st.ListSessionTokens(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range toks {
			byID[tok.ID] = tok
			m.checkToken(s, tok)
			if tok.Kind == storage.RefreshToken && tok.RotatedAt.IsZero() && tok.Active(now) {
				live[tok.FamilyID] = append(live[tok.FamilyID], tok.ID)
			}
		}
	}
	for _, tok := range byID {
		if p, ok := byID[tok.ParentID]; ok && !p.RevokedAt.IsZero() && p.Kind == storage.AccessToken && tok.RevokedAt.IsZero() {
			t.Errorf("cycle %d: a %s derived from a revoked access token is not revoked", m.cycle, tok.Kind)
		}
	}
	for fam, ids := range live {
		if len(ids) > 1 {
			t.Errorf("cycle %d: refresh family %.8s… has %d live refresh tokens", m.cycle, fam, len(ids))
		}
	}
	m.checkFamilies(byID, live)
}

func (m *model) checkToken(s storage.Session, tok storage.Token) {
	t := m.t
	if tok.ExpiresAt.After(s.ExpiresAt) {
		t.Errorf("cycle %d: a %s expires after its session", m.cycle, tok.Kind)
	}
	if s.Status == storage.SessionTerminated && tok.RevokedAt.IsZero() {
		t.Errorf("cycle %d: a %s of a terminated session is not revoked", m.cycle, tok.Kind)
	}
}

// checkFamilies compares the stored families with the acknowledged ones.
func (m *model) checkFamilies(byID map[string]storage.Token, live map[string][]string) {
	t := m.t
	for _, at := range m.revokedATs {
		if tok, ok := byID[tokenID(at)]; !ok || tok.RevokedAt.IsZero() {
			t.Errorf("cycle %d: an acknowledged revocation is not in the data file", m.cycle)
		}
	}
	for _, f := range m.families {
		first, ok := byID[tokenID(f.ats[0])]
		if !ok {
			t.Errorf("cycle %d: an acknowledged issuance is not in the data file", m.cycle)
			continue
		}
		fam := live[first.FamilyID]
		switch {
		case f.pending == "refresh":
			if len(fam) != 1 {
				t.Errorf("cycle %d: a family whose refresh was cut short has %d live refresh tokens, want 1", m.cycle, len(fam))
			}
		case f.pending != "":
		case f.revoked || f.ended:
			if len(fam) != 0 {
				t.Errorf("cycle %d: a revoked family or ended session still has a live refresh token", m.cycle)
			}
		case len(fam) != 1 || fam[0] != tokenID(f.rt):
			t.Errorf("cycle %d: a family has %d live refresh tokens and not the acknowledged one", m.cycle, len(fam))
		}
	}
}

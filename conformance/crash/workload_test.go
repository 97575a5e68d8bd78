package crash

import (
	"math/rand/v2"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"
)

// family is one session with a refresh token family, as the client knows
// it from acknowledged answers.
type family struct {
	client    string
	sid       string
	rt        string   // the refresh token last acknowledged
	ats       []string // access tokens issued to the family's client
	delegated []string // tokens an actor obtained by exchange from the family's tokens
	prover    *prover  // DPoP-bound families
	busy      bool
	// pending is the operation that was in flight when the server died
	// ("refresh", "revoke-rt", "terminate", or "revoke-at"), unresolved.
	pending   string
	pendingAT string
	revoked   bool // its refresh token's revocation was acknowledged
	ended     bool // its session's termination was acknowledged
}

func (f *family) live() bool { return !f.revoked && !f.ended && f.pending == "" }

// used is an acknowledged single-use credential.
type used struct {
	raw string
	exp time.Time
}

// model is everything the client was told, and what it must stay true.
type model struct {
	mu         sync.Mutex
	t          *testing.T
	families   []*family
	revokedATs []string            // acknowledged access-token revocations
	derived    map[string][]string // subject access token -> tokens exchanged from it
	assertions []used
	proofs     []string
	acked      map[string]int // acknowledged operations by kind
	unanswered int            // operations the server died during
	cycle      int
	// newSince and familiesSince index the previous cycle's first entries.
	newSince, familiesSince int
}

func newModel(t *testing.T) *model {
	return &model{t: t, derived: map[string][]string{}, acked: map[string]int{}}
}

// op is one kind of operation with its weight in the mix.
type op struct {
	name   string
	weight int
	run    func(m *model, c *client, r *rand.Rand) bool // false: the server is gone
}

var ops = []op{
	{"issue", 3, (*model).issue},
	{"refresh", 5, (*model).refresh},
	{"exchange", 2, (*model).exchange},
	{"revoke_access", 1, (*model).revokeAccess},
	{"revoke_refresh", 1, (*model).revokeRefresh},
	{"terminate", 1, (*model).terminate},
	{"private_key_jwt", 2, (*model).assertionGrant},
	{"dpop", 1, (*model).dpopGrant},
}

// worker runs random operations until stop is closed or the server dies.
func (m *model) worker(c *client, r *rand.Rand, stop <-chan struct{}) {
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	for {
		select {
		case <-stop:
			return
		default:
		}
		n := r.IntN(total)
		for _, o := range ops {
			if n -= o.weight; n < 0 {
				if !o.run(m, c, r) {
					return
				}
				break
			}
		}
	}
}

func (m *model) ack(kind string) { m.mu.Lock(); m.acked[kind]++; m.mu.Unlock() }

func (m *model) lost() bool { m.mu.Lock(); m.unanswered++; m.mu.Unlock(); return false }

// unexpected reports an answer that an acknowledged history rules out.
func (m *model) unexpected(what string, a answer) bool {
	m.t.Errorf("cycle %d: %s: unexpected answer %d %s", m.cycle, what, a.status, a.raw)
	return false
}

// take marks a random live family matching ok busy and returns it.
func (m *model) take(r *rand.Rand, ok func(*family) bool) *family {
	m.mu.Lock()
	defer m.mu.Unlock()
	var cands []*family
	for _, f := range m.families {
		if !f.busy && f.live() && ok(f) {
			cands = append(cands, f)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	f := cands[r.IntN(len(cands))]
	f.busy = true
	return f
}

func (m *model) release(f *family) { m.mu.Lock(); f.busy = false; m.mu.Unlock() }

// auth returns the form and headers that authenticate client id.
func (c *client) auth(id string, f url.Values) (url.Values, []string, string) {
	if id == pkjwtID {
		a, _ := c.d.assertion(time.Now())
		f.Set("client_assertion_type", assertType)
		f.Set("client_assertion", a)
		return f, nil, a
	}
	return f, []string{id, c.d.secrets[id]}, ""
}

// grant posts to the token endpoint as client id, with a DPoP proof when p
// is set (fetching the server nonce if it is demanded).
func (c *client) grant(id string, f url.Values, p *prover) (answer, string) {
	for range 2 {
		f, basic, _ := c.auth(id, f)
		hdr := map[string]string{}
		proof := ""
		if p != nil {
			proof = p.proof(c.d.issuer + "/oauth2/token")
			hdr["DPoP"] = proof
		}
		a := c.post("/oauth2/token", f, hdr, basic...)
		if a.err == nil && a.str("error") == "use_dpop_nonce" && p != nil {
			p.nonce = a.header.Get("DPoP-Nonce")
			continue
		}
		return a, proof
	}
	return answer{status: 400, raw: []byte("nonce loop")}, ""
}

func (m *model) addFamily(f *family, c *client) {
	if in := c.introspect(f.ats[0]); in.err == nil {
		f.sid = in.str("sid")
	}
	m.mu.Lock()
	m.families = append(m.families, f)
	m.mu.Unlock()
}

// issue opens a session for the agent with client_credentials.
func (m *model) issue(c *client, _ *rand.Rand) bool {
	a, _ := c.grant(agentID, url.Values{"grant_type": {"client_credentials"}}, nil)
	switch {
	case a.err != nil:
		return m.lost()
	case a.status != 200 || a.str("refresh_token") == "":
		return m.unexpected("issue", a)
	}
	m.ack("issue")
	m.addFamily(&family{client: agentID, rt: a.str("refresh_token"), ats: []string{a.str("access_token")}}, c)
	return true
}

// assertionGrant opens a session for the workload with private_key_jwt.
func (m *model) assertionGrant(c *client, _ *rand.Rand) bool {
	f, _, assertion := c.auth(pkjwtID, url.Values{"grant_type": {"client_credentials"}})
	a := c.post("/oauth2/token", f, nil)
	switch {
	case a.err != nil:
		return m.lost()
	case a.status != 200:
		return m.unexpected("private_key_jwt", a)
	}
	m.ack("private_key_jwt")
	m.mu.Lock()
	m.assertions = append(m.assertions, used{raw: assertion, exp: time.Now().Add(2 * time.Minute)})
	m.mu.Unlock()
	m.addFamily(&family{client: pkjwtID, rt: a.str("refresh_token"), ats: []string{a.str("access_token")}}, c)
	return true
}

// dpopGrant opens a DPoP-bound session.
func (m *model) dpopGrant(c *client, _ *rand.Rand) bool {
	p := newProver()
	a, proof := c.grant(dpopID, url.Values{"grant_type": {"client_credentials"}}, p)
	switch {
	case a.err != nil:
		return m.lost()
	case a.status != 200:
		return m.unexpected("dpop", a)
	}
	m.ack("dpop")
	m.mu.Lock()
	m.proofs = append(m.proofs, proof)
	m.mu.Unlock()
	m.addFamily(&family{client: dpopID, rt: a.str("refresh_token"), ats: []string{a.str("access_token")}, prover: p}, c)
	return true
}

// refresh rotates a family's refresh token.
func (m *model) refresh(c *client, r *rand.Rand) bool {
	f := m.take(r, func(*family) bool { return true })
	if f == nil {
		return m.issue(c, r)
	}
	defer m.release(f)
	a, _ := c.grant(f.client, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {f.rt}}, f.prover)
	switch {
	case a.err != nil:
		m.mu.Lock()
		f.pending = "refresh"
		m.mu.Unlock()
		return m.lost()
	case a.status != 200:
		return m.unexpected("refresh of a live family", a)
	}
	m.ack("refresh")
	m.mu.Lock()
	f.rt = a.str("refresh_token")
	f.ats = append(f.ats, a.str("access_token"))
	m.mu.Unlock()
	return true
}

// exchange has the actor obtain a delegated token from an agent family's
// newest access token.
func (m *model) exchange(c *client, r *rand.Rand) bool {
	f := m.take(r, func(f *family) bool { return f.client == agentID })
	if f == nil {
		return m.issue(c, r)
	}
	defer m.release(f)
	own, _ := c.grant(actorID, url.Values{"grant_type": {"client_credentials"}}, nil)
	if own.err != nil {
		return m.lost()
	}
	subject := m.liveAccess(f)
	if subject == "" {
		return true
	}
	a, _ := c.grant(actorID, url.Values{"grant_type": {grantExch}, "subject_token": {subject}, "subject_token_type": {typeAccess},
		"actor_token": {own.str("access_token")}, "actor_token_type": {typeAccess}, "audience": {audience}}, nil)
	switch {
	case a.err != nil:
		return m.lost()
	case a.status != 200:
		return m.unexpected("exchange with an actor", a)
	}
	m.ack("exchange")
	m.mu.Lock()
	f.delegated = append(f.delegated, a.str("access_token"))
	m.derived[subject] = append(m.derived[subject], a.str("access_token"))
	m.mu.Unlock()
	return true
}

// liveAccess returns the family's newest access token not revoked, or "".
func (m *model) liveAccess(f *family) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(f.ats) - 1; i >= 0; i-- {
		if !slices.Contains(m.revokedATs, f.ats[i]) {
			return f.ats[i]
		}
	}
	return ""
}

// revoke revokes raw as client id.
func (c *client) revoke(id, raw string) answer {
	f, basic, _ := c.auth(id, url.Values{"token": {raw}})
	return c.post("/oauth2/revoke", f, nil, basic...)
}

// revokeAccess revokes one of a family's access tokens.
func (m *model) revokeAccess(c *client, r *rand.Rand) bool {
	f := m.take(r, func(*family) bool { return true })
	if f == nil {
		return true
	}
	defer m.release(f)
	m.mu.Lock()
	at := f.ats[r.IntN(len(f.ats))]
	m.mu.Unlock()
	a := c.revoke(f.client, at)
	switch {
	case a.err != nil:
		m.mu.Lock()
		f.pending, f.pendingAT = "revoke-at", at
		m.mu.Unlock()
		return m.lost()
	case a.status != 200:
		return m.unexpected("revoke an access token", a)
	}
	m.ack("revoke_access")
	m.mu.Lock()
	if !slices.Contains(m.revokedATs, at) {
		m.revokedATs = append(m.revokedATs, at)
	}
	m.mu.Unlock()
	return true
}

// revokeRefresh revokes a family's refresh token, and with it the family.
func (m *model) revokeRefresh(c *client, r *rand.Rand) bool {
	f := m.take(r, func(*family) bool { return true })
	if f == nil {
		return true
	}
	defer m.release(f)
	a := c.revoke(f.client, f.rt)
	switch {
	case a.err != nil:
		m.mu.Lock()
		f.pending = "revoke-rt"
		m.mu.Unlock()
		return m.lost()
	case a.status != 200:
		return m.unexpected("revoke a refresh token", a)
	}
	m.ack("revoke_refresh")
	m.mu.Lock()
	f.revoked = true
	m.mu.Unlock()
	return true
}

// terminate ends a family's session through the admin API.
func (m *model) terminate(c *client, r *rand.Rand) bool {
	f := m.take(r, func(f *family) bool { return f.sid != "" })
	if f == nil {
		return true
	}
	defer m.release(f)
	a := c.terminate(f.sid)
	switch {
	case a.err != nil:
		m.mu.Lock()
		f.pending = "terminate"
		m.mu.Unlock()
		return m.lost()
	case a.status != 200:
		return m.unexpected("terminate a session", a)
	}
	m.ack("terminate")
	m.mu.Lock()
	f.ended = true
	m.mu.Unlock()
	return true
}

// resolve settles, after a restart, each operation the server died during:
// it is retried, and the answer is acknowledged like any other. A refresh
// retried within the grace window gets the successor the lost answer
// carried; outside it, the server treats the retry as theft and ends the
// session, which the model then records.
func (m *model) resolve(c *client) {
	for _, f := range m.families {
		switch f.pending {
		case "":
			continue
		case "refresh":
			a, _ := c.grant(f.client, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {f.rt}}, f.prover)
			switch {
			case a.err != nil:
				m.t.Fatalf("resolve a refresh: %v", a.err)
			case a.status == 200:
				f.rt = a.str("refresh_token")
				f.ats = append(f.ats, a.str("access_token"))
			case a.str("error") == "invalid_grant":
				f.ended = true // reuse after the grace window: the session is gone
			default:
				m.unexpected("resolve a refresh", a)
			}
		case "revoke-at":
			if a := c.revoke(f.client, f.pendingAT); a.err != nil || a.status != 200 {
				m.unexpected("resolve an access-token revocation", a)
			}
			m.revokedATs = append(m.revokedATs, f.pendingAT)
		case "revoke-rt":
			if a := c.revoke(f.client, f.rt); a.err != nil || a.status != 200 {
				m.unexpected("resolve a refresh-token revocation", a)
			}
			f.revoked = true
		case "terminate":
			if a := c.terminate(f.sid); a.err != nil || a.status != 200 {
				m.unexpected("resolve a termination", a)
			}
			f.ended = true
		}
		f.pending, f.pendingAT = "", ""
		m.acked["resolved"]++
	}
}

package cluster

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// within is the bound on how long another instance may lag.
const within = 100 * time.Millisecond

// variants of the change feed the revocation check runs under.
var variants = []struct{ name, param string }{
	{"notifications on", ""},
	{"notifications off", "&vigil_listen=off"},
	{"listening connection killed every 200ms", ""},
}

// checkRevocation: introspect a token on all three instances (so that
// each has it cached), revoke it on one, introspect on all three.
func checkRevocation(t *testing.T, db string, trials int) {
	for vi, v := range variants {
		c := start(t, db+v.param, 3)
		l := c.load(40, func() []*node { return c.nodes })
		var kills atomic.Int64
		stopKill := func() {}
		if vi == 2 {
			stopKill = killListeners(t, db, &kills)
		}
		var selfActive, lateOthers, errs atomic.Int64
		var lag maxDur
		parallel(trials, 6, func(i int) {
			a := c.nodes[i%3]
			tr := c.token(a)
			if tr.status != http.StatusOK {
				errs.Add(1)
				return
			}
			tok := tr.str("access_token")
			for _, nd := range c.nodes {
				if c.introspect(nd, tok).body["active"] != true {
					errs.Add(1)
					return
				}
			}
			if r := c.revoke(a, tok); r.status != http.StatusOK {
				errs.Add(1)
				return
			}
			answered := time.Now()
			if c.introspect(a, tok).body["active"] == true {
				selfActive.Add(1)
			}
			for k := 1; k < 3; k++ {
				o := c.nodes[(i+k)%3]
				// The lag is when the last request answered active was
				// sent: the instance answered it later than that, and how
				// long the answer then took to arrive is not its staleness.
				for sent := time.Now(); c.introspect(o, tok).body["active"] == true; sent = time.Now() {
					lateOthers.Add(1)
					lag.add(sent.Sub(answered))
					if time.Since(answered) > 5*time.Second {
						break
					}
					time.Sleep(time.Millisecond)
				}
			}
		})
		disabled := checkDisable(t, c)
		stopKill()
		l.stop()
		report(t, "revocation (%s): %d trials, %d errors; revoking instance active after the revocation's answer: %d; other instances active after it: %d answers, max lag %s (to the sending of the last request answered active); listener kills %d; client disabled on one, max time until refused on the others: %s (%d trials); background load %d ok, %d failed",
			v.name, trials, errs.Load(), selfActive.Load(), lateOthers.Load(), lag.get(), kills.Load(), disabled.max, disabled.trials, l.ok.Load(), l.fail.Load())
		if selfActive.Load() > 0 || lag.get() > within || disabled.max > within || errs.Load() > 0 {
			t.Errorf("revocation (%s) failed its bounds", v.name)
		}
		c.stopAll()
	}
}

type disableResult struct {
	trials int
	max    time.Duration
}

// checkDisable disables conf-other through one instance and measures how
// long the others still issue it tokens, then enables it again.
func checkDisable(t *testing.T, c *cluster) disableResult {
	const trials = 20
	var worst time.Duration
	for i := range trials {
		a := c.nodes[i%3]
		for _, o := range c.nodes { // every instance has the registration cached
			c.otherToken(o)
		}
		if !c.setDisabled(t, a, true) {
			continue
		}
		changed := time.Now()
		for k := 1; k < 3; k++ {
			o := c.nodes[(i+k)%3]
			for c.otherToken(o).status == http.StatusOK && time.Since(changed) < 5*time.Second {
				time.Sleep(time.Millisecond)
			}
		}
		worst = max(worst, lastRefusal(c, changed))
		c.setDisabled(t, a, false)
		for _, o := range c.nodes {
			for c.otherToken(o).status != http.StatusOK && time.Since(changed) < 10*time.Second {
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	return disableResult{trials, worst}
}

// lastRefusal is the time since changed at which every instance refused.
func lastRefusal(c *cluster, changed time.Time) time.Duration {
	d := time.Since(changed)
	for _, o := range c.nodes {
		if c.otherToken(o).status == http.StatusOK {
			return 10 * time.Second
		}
	}
	return d
}

func (c *cluster) otherToken(nd *node) reply {
	return c.post(nd, "/oauth2/token", "conf-other", otherPass,
		urlValues("grant_type", "client_credentials", "audience", "https://rs1.example", "scope", "tickets.read"))
}

// setDisabled flips conf-other's disabled flag through nd's admin API.
func (c *cluster) setDisabled(t *testing.T, nd *node, disabled bool) bool {
	r := c.admin(nd, http.MethodGet, "/admin/clients/conf-other", nil)
	if r.status != http.StatusOK {
		t.Errorf("GET client: %d %v", r.status, r.body)
		return false
	}
	r.body["disabled"] = disabled
	if p := c.admin(nd, http.MethodPut, "/admin/clients/conf-other", r.body); p.status != http.StatusOK {
		t.Errorf("PUT client: %d %v", p.status, p.body)
		return false
	}
	return true
}

// killListeners terminates the instances' listening connections every
// 200ms until the returned stop is called.
func killListeners(t *testing.T, db string, kills *atomic.Int64) func() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		conn, err := pgx.Connect(ctx, db)
		if err != nil {
			t.Errorf("connect: %v", err)
			return
		}
		defer conn.Close(context.Background())
		for ctx.Err() == nil {
			var n int64
			_ = conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
				WHERE application_name = 'vigil listen' AND datname = current_database()`).Scan(&n)
			kills.Add(n)
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	})
	return func() { cancel(); wg.Wait() }
}

func (c *cluster) stopAll() {
	for _, nd := range c.nodes {
		nd.srv.Kill()
	}
}

// checkRefreshRace: one refresh token refreshed on two instances at once.
func checkRefreshRace(t *testing.T, db string, n int) {
	c := start(t, db, 3)
	defer c.stopAll()
	var forks, noWinner, errs atomic.Int64
	parallel(n, 4, func(i int) {
		a, b := c.nodes[i%3], c.nodes[(i+1)%3]
		rt := c.token(a).str("refresh_token")
		if rt == "" {
			errs.Add(1)
			return
		}
		var wg sync.WaitGroup
		var got [2]reply
		for k, nd := range []*node{a, b} {
			wg.Go(func() {
				got[k] = c.post(nd, "/oauth2/token", agent, agentPass, urlValues("grant_type", "refresh_token", "refresh_token", rt))
			})
		}
		wg.Wait()
		successors := map[string]bool{}
		for _, r := range got {
			if r.status == http.StatusOK {
				successors[r.str("refresh_token")] = true
			} else if r.status >= 500 || r.err != nil {
				errs.Add(1)
			}
		}
		switch {
		case len(successors) == 0:
			noWinner.Add(1)
		case len(successors) > 1:
			forks.Add(1)
		}
	})
	report(t, "refresh race: %d refresh tokens each refreshed on two instances at once: %d with more than one successor, %d with none, %d errors",
		n, forks.Load(), noWinner.Load(), errs.Load())
	if forks.Load() > 0 || noWinner.Load() > 0 || errs.Load() > 0 {
		t.Error("refresh race failed")
	}
}

// checkFact: a hard fact recorded on one instance makes every instance
// answer inactive for the session's tokens. (A few sessions: hard facts on
// many sessions of one client rightly make the engine demand that the
// client revalidate.)
func checkFact(t *testing.T, db string) {
	c := start(t, db, 3)
	defer c.stopAll()
	n := len(factClients)
	var stillActive, errs atomic.Int64
	parallel(n, 1, func(i int) {
		a := c.nodes[i%3]
		tr := c.tokenFor(a, factClients[i][0], factClients[i][1])
		tok := tr.str("access_token")
		ir := c.introspect(a, tok)
		sid := ir.str("sid")
		if sid == "" {
			if errs.Add(1) == 1 {
				t.Logf("no session: token %d %v, introspection %d %v", tr.status, tr.body, ir.status, ir.body)
			}
			return
		}
		if r := c.admin(a, http.MethodPost, "/admin/signals", map[string]string{"sid": sid, "type": "session-revoked"}); r.status != http.StatusOK {
			errs.Add(1)
			return
		}
		for _, o := range c.nodes {
			if c.introspect(o, tok).body["active"] == true {
				stillActive.Add(1)
			}
		}
	})
	report(t, "hard fact: %d sessions given a hard fact on one instance; answers active afterwards on any instance: %d; errors %d",
		n, stillActive.Load(), errs.Load())
	if stillActive.Load() > 0 || errs.Load() > 0 {
		t.Error("hard fact check failed")
	}
}

func urlValues(kv ...string) map[string][]string {
	v := map[string][]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		v[kv[i]] = append(v[kv[i]], kv[i+1])
	}
	return v
}

// sessionHasFact reports whether the admin view of sid names fact code.
func (c *cluster) sessionHasFact(nd *node, sid, code string) bool {
	r := c.admin(nd, http.MethodGet, "/admin/sessions/"+sid, nil)
	b, _ := json.Marshal(r.body)
	return r.status == http.StatusOK && strings.Contains(string(b), code)
}

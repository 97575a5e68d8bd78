package cluster

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// checkKill: kill -9 one instance under load. Every write it acknowledged
// is kept, its sessions are judged by the others, their facts intact.
func checkKill(t *testing.T, db string) {
	c := start(t, db, 3)
	defer c.stopAll()
	victim, rest := c.nodes[2], c.nodes[:2]
	l := c.load(40, func() []*node { return rest })
	defer l.stop()
	// Sessions with a hard fact recorded through the victim.
	var facts []string
	for _, fc := range factClients {
		tok := c.tokenFor(victim, fc[0], fc[1]).str("access_token")
		sid := c.introspect(victim, tok).str("sid")
		if r := c.admin(victim, http.MethodPost, "/admin/signals", map[string]string{"sid": sid, "type": "session-revoked"}); r.status == http.StatusOK {
			facts = append(facts, tok+" "+sid)
		}
	}
	// Acknowledged tokens and revocations on the victim, until it dies.
	var mu sync.Mutex
	var issued, revoked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := c.otherToken(victim)
				if r.status != http.StatusOK {
					continue
				}
				tok := r.str("access_token")
				if (i+w)%2 == 0 {
					// A revocation the kill cut off may or may not have
					// committed: only acknowledged ones are checked.
					if c.post(victim, "/oauth2/revoke", "conf-other", otherPass, urlValues("token", tok)).status == http.StatusOK {
						mu.Lock()
						revoked = append(revoked, tok)
						mu.Unlock()
					}
					continue
				}
				mu.Lock()
				issued = append(issued, tok)
				mu.Unlock()
			}
		})
	}
	time.Sleep(2 * time.Second)
	victim.srv.Kill()
	killed := time.Now()
	close(stop)
	wg.Wait()
	// The first answer elsewhere for a session the victim opened.
	var judged time.Duration
	if len(issued) == 0 {
		t.Fatal("the instance acknowledged no token before it was killed")
	}
	for judged == 0 && time.Since(killed) < 10*time.Second {
		if r := c.introspect(rest[0], issued[len(issued)-1]); r.status == http.StatusOK && r.body["active"] == true && r.body["risk"] != nil {
			judged = time.Since(killed)
		}
	}
	// The survivors drop the killed instance from their members: its
	// clients get new owners.
	var moved time.Duration
	for moved == 0 && time.Since(killed) < 10*time.Second {
		if c.members(rest[0]) == 2 && c.members(rest[1]) == 2 {
			moved = time.Since(killed)
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	var lost, resurrected, factsLost int
	for i, tok := range issued {
		if r := c.introspect(rest[i%2], tok); r.body["active"] != true {
			if lost++; lost == 1 {
				t.Logf("an acknowledged token is inactive: %d %v", r.status, r.body)
			}
		}
	}
	for i, tok := range revoked {
		if c.introspect(rest[i%2], tok).body["active"] == true {
			resurrected++
		}
	}
	for i, f := range facts {
		tok, sid, _ := cut(f)
		if c.introspect(rest[i%2], tok).body["active"] == true || !c.sessionHasFact(rest[(i+1)%2], sid, "session_revoked") {
			factsLost++
		}
	}
	report(t, "kill -9: acknowledged by the killed instance: %d tokens, %d revocations, %d hard facts; after the kill: %d tokens lost, %d revoked tokens active, %d facts lost; its sessions judged by another %s after the kill; its clients owned by the survivors %s after the kill; background load %d ok, %d failed",
		len(issued), len(revoked), len(facts), lost, resurrected, factsLost, judged.Round(time.Millisecond), moved.Round(time.Millisecond), l.ok.Load(), l.fail.Load())
	if lost+resurrected+factsLost > 0 || judged == 0 || judged > 3*time.Second || len(issued) == 0 || moved == 0 || moved > 3*time.Second {
		t.Error("kill -9 check failed")
	}
}

func cut(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// checkDatabaseRestart: PostgreSQL restarted under load. While it is down
// the instances answer 503 (or inactive), never a stale active; afterwards
// they recover by themselves.
func checkDatabaseRestart(t *testing.T, db string) {
	version, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(version) == 0 {
		t.Fatalf("no local PostgreSQL cluster to restart: %v", err)
	}
	c := start(t, db, 3)
	defer c.stopAll()
	var revoked []string
	for i := range 30 {
		tok := c.token(c.nodes[i%3]).str("access_token")
		if c.revoke(c.nodes[i%3], tok).status == http.StatusOK {
			revoked = append(revoked, tok)
		}
	}
	var ok, unavailable, other, stale atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				nd := c.nodes[i%3]
				r := c.introspect(nd, revoked[i%len(revoked)])
				if r.body["active"] == true {
					stale.Add(1)
				}
				if i%2 == 0 {
					r = c.token(nd)
				}
				switch {
				case r.status == http.StatusOK:
					ok.Add(1)
				case r.status == http.StatusServiceUnavailable:
					unavailable.Add(1)
				default:
					other.Add(1)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	time.Sleep(time.Second)
	cmd := exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", version[0].Name(), "main", "restart")
	if out, err := cmd.CombinedOutput(); err != nil {
		close(stop)
		wg.Wait()
		t.Fatalf("restart PostgreSQL: %v\n%s", err, out)
	}
	restarted := time.Now()
	var recovered time.Duration
	for recovered == 0 && time.Since(restarted) < 30*time.Second {
		all := true
		for _, nd := range c.nodes {
			all = all && c.token(nd).status == http.StatusOK
		}
		if all {
			recovered = time.Since(restarted)
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	report(t, "database restart: %d answers ok, %d answered 503, %d other failures, %d stale active; every instance serving again %s after the restart returned, without restarting Vigil",
		ok.Load(), unavailable.Load(), other.Load(), stale.Load(), recovered.Round(time.Millisecond))
	if stale.Load() > 0 || recovered == 0 || unavailable.Load() == 0 {
		t.Error("database restart check failed")
	}
}

// members returns the live cluster members nd sees, from its metrics (-1
// if it does not answer).
func (c *cluster) members(nd *node) int { return c.metric(nd, "vigil_cluster_members") }

// metric returns the value of the sample named (with its labels) in nd's
// metrics, -1 if there is none.
func (c *cluster) metric(nd *node, sample string) int {
	res, err := c.http.Get(nd.srv.URL + "/metrics")
	if err != nil {
		return -1
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				return int(f)
			}
		}
	}
	return -1
}

// routes sums the cluster's risk events by route over the instances.
func (c *cluster) routes() map[string]int {
	out := map[string]int{}
	for _, nd := range c.nodes {
		for _, r := range []string{"local", "forwarded", "degraded", "served"} {
			out[r] += max(0, c.metric(nd, `vigil_cluster_risk_events_total{route="`+r+`"}`))
		}
	}
	return out
}

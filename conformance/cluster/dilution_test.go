package cluster

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage/postgres/pgtest"
)

// Dilution check bounds: a call's score on three instances may differ from
// the same call's score on one instance by at most scoreTolerance (the
// calls are timed by the wall clock, so rates differ a little between
// runs), and the verdicts (allow, step-up, inactive) must agree on all but
// verdictSlack calls, which a score on a threshold can flip.
const (
	dilutionCalls  = 60
	dilutionPace   = 25 * time.Millisecond
	scoreTolerance = 8
	verdictSlack   = 2
)

// point is one introspection's answer in a trajectory.
type point struct {
	score   int
	verdict string // allow, step_up or inactive
}

// checkDilution: one session's calls spread round robin over three
// instances get the scores and verdicts the same calls get on one
// instance. The same calls on three instances that each judge what they
// receive (cluster_url off) show the dilution the owners prevent.
func checkDilution(t *testing.T) {
	runs := []struct {
		name  string
		n     int
		extra []string
	}{
		{"one instance", 1, nil},
		{"three instances, one owner per client", 3, nil},
		{"three instances, each judging alone (cluster_url off)", 3, []string{"--cluster-url", "off"}},
	}
	var traj [3][]point
	for i, r := range runs {
		c := start(t, pgtest.Fresh(t), r.n, r.extra...)
		time.Sleep(2500 * time.Millisecond) // two heartbeats: every instance sees the others
		traj[i] = c.scenario(t)
		rt := c.routes()
		c.stopAll()
		report(t, "dilution (%s): %s; risk events judged by their owner %d, forwarded to it %d, judged away from it %d",
			r.name, summary(traj[i]), rt["local"]+rt["served"], rt["forwarded"], rt["degraded"])
	}
	maxDiff, mean, flips := compare(traj[0], traj[1])
	offDiff, offMean, offFlips := compare(traj[0], traj[2])
	report(t, "dilution: %d calls of one session round robin over three instances against one instance: max score difference %d (bound %d), mean %.1f, verdicts differing %d (bound %d); without owners: max score difference %d, mean %.1f, verdicts differing %d",
		dilutionCalls, maxDiff, scoreTolerance, mean, flips, verdictSlack, offDiff, offMean, offFlips)
	if maxDiff > scoreTolerance || flips > verdictSlack || len(traj[1]) != len(traj[0]) {
		t.Error("dilution check failed: a session spread over instances is judged differently")
	}
}

// scenario opens one session on the first instance and introspects its
// token dilutionCalls times, round robin over the instances, at a fixed
// pace: a burst over many tools from two networks, the calls that rate,
// fan-out, parallel use and novelty detectors weigh.
func (c *cluster) scenario(t *testing.T) []point {
	tr := c.token(c.nodes[0])
	if tr.status != http.StatusOK {
		t.Fatalf("token: %d %v", tr.status, tr.body)
	}
	tok := tr.str("access_token")
	var out []point
	next := time.Now()
	for i := range dilutionCalls {
		time.Sleep(time.Until(next))
		next = next.Add(dilutionPace)
		ip := "10.20.0.7"
		if i >= dilutionCalls*2/3 && i%2 == 1 {
			ip = "198.51.100.23" // a second origin, alternating with the first
		}
		r := c.post(c.nodes[i%len(c.nodes)], "/oauth2/introspect", rs, rsPass, urlValues("token", tok,
			"tool", fmt.Sprintf("tickets.tool%d", i%20), "ip", ip))
		if r.status != http.StatusOK {
			t.Fatalf("introspect %d: %d %v", i, r.status, r.body)
		}
		out = append(out, pointOf(r))
	}
	return out
}

func pointOf(r reply) point {
	if r.body["active"] != true {
		return point{score: 100, verdict: "inactive"}
	}
	v, _ := r.body["risk"].(map[string]any)
	score, _ := v["score"].(float64)
	action, _ := v["action"].(string)
	if action == "" {
		action = "allow"
	}
	return point{score: int(score), verdict: action}
}

// compare returns the largest and the mean score difference and the
// number of calls whose verdicts differ.
func compare(a, b []point) (maxDiff int, mean float64, flips int) {
	n := min(len(a), len(b))
	sum := 0
	for i := range n {
		d := abs(a[i].score - b[i].score)
		maxDiff, sum = max(maxDiff, d), sum+d
		if a[i].verdict != b[i].verdict {
			flips++
		}
	}
	if n > 0 {
		mean = float64(sum) / float64(n)
	}
	return maxDiff, mean, flips
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// summary prints a trajectory: the scores every tenth call, the peak and
// how many calls got each verdict.
func summary(p []point) string {
	var scores []string
	peak := 0
	verdicts := map[string]int{}
	for i, x := range p {
		if i%10 == 9 {
			scores = append(scores, fmt.Sprint(x.score))
		}
		peak = max(peak, x.score)
		verdicts[x.verdict]++
	}
	return fmt.Sprintf("score at calls 10,20,…: %s; peak %d; allow %d, step_up %d, inactive %d",
		strings.Join(scores, " "), peak, verdicts["allow"], verdicts["step_up"], verdicts["inactive"])
}

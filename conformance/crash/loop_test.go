package crash

import (
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestCrashLoop is SECURITY.md D1/D15: the mixed workload runs against the
// real server, which is killed with SIGKILL at a random moment and
// restarted, VIGIL_CRASH_CYCLES times (default 20). After every kill the
// data file is checked offline, and after every restart every acknowledged
// operation is checked online. VIGIL_CRASH_SEED replays a run.
func TestCrashLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("crash loop: skipped with -short")
	}
	cycles := envInt("VIGIL_CRASH_CYCLES", 20)
	maxRun := time.Duration(envInt("VIGIL_CRASH_MAX_RUN_MS", 1200)) * time.Millisecond
	seed := uint64(envInt("VIGIL_CRASH_SEED", int(time.Now().UnixNano()%1e9)))
	t.Logf("crash loop: %d cycles, kill within 50ms..%s, seed %d (VIGIL_CRASH_SEED)", cycles, maxRun, seed)
	r := rand.New(rand.NewPCG(seed, 1))
	d := newDeployment(t)
	m := newModel(t)
	const workers = 6
	for cycle := range cycles {
		m.cycle = cycle
		s := d.start(t)
		c := d.client()
		m.resolve(c)
		m.checkOnline(c, r)
		m.newSince, m.familiesSince = len(m.revokedATs), len(m.families)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range workers {
			wr := rand.New(rand.NewPCG(seed, uint64(cycle*workers+w+2)))
			wg.Go(func() { m.worker(c, wr, stop) })
		}
		time.Sleep(50*time.Millisecond + time.Duration(r.Int64N(int64(maxRun))))
		s.Kill()
		close(stop)
		wg.Wait()
		m.checkOffline(d.dbPath())
		if t.Failed() {
			t.Logf("server log of the failed cycle:\n%s", s.Logs())
			break
		}
	}
	t.Logf("crash loop: %d cycles; acknowledged %v; %d operations cut short by a kill; %d sessions, %d revocations, %d assertions, %d DPoP proofs checked",
		m.cycle+1, m.acked, m.unanswered, len(m.families), len(m.revokedATs), len(m.assertions), len(m.proofs))
}

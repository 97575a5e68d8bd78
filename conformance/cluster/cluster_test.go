// Package cluster runs three `vigil serve` processes on one PostgreSQL
// database under a bounded load and checks that every instance gives the
// same answers: revocations, refresh rotations, hard facts, registration
// changes, a killed instance and a restarted database. It prints a count
// for every check. `make cluster-test` runs it (VIGIL_CLUSTER_TEST=1); CI
// runs that target against the machine's PostgreSQL.
package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/conformance/crash/proc"
	"github.com/vigil-auth/vigil/storage/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(proc.Main(m)) }

const (
	secret     = "vigil-cluster-test-secret-0123456789abcdef"
	adminToken = "vat_cluster-test-admin-0123456789abcdefghijkl"
	issuer     = "https://vigil.cluster.example"
	agent      = "conf-agent"
	agentPass  = "conf-agent-secret-0123456789abcdefghijkl"
	rs         = "conf-rs1"
	rsPass     = "conf-rs1-secret-0123456789abcdefghijklmn"
	otherPass  = "conf-other-secret-0123456789abcdefghijkl"
)

// node is one vigil serve of the cluster.
type node struct {
	name string
	srv  *proc.Server
	args []string
	addr string
}

type cluster struct {
	t     *testing.T
	db    string // the database URL, as the instances use it
	nodes []*node
	http  *http.Client
}

// start launches n instances on the database at db; extra flags follow
// the common ones.
func start(t *testing.T, db string, n int, extra ...string) *cluster {
	c := &cluster{t: t, db: db, http: &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	for i := range n {
		addr := fmt.Sprintf("127.0.0.1:%d", proc.FreePort(t))
		nd := &node{name: string(rune('A' + i)), addr: addr, args: []string{"--config", "../vigil.yaml",
			"--listen", addr, "--data", t.TempDir(), "--issuer", issuer, "--store", db, "--log-level", logLevel()}}
		nd.args = append(nd.args, extra...)
		c.nodes = append(c.nodes, nd)
		c.launch(nd)
	}
	return c
}

func (c *cluster) launch(nd *node) {
	nd.srv = proc.Start(c.t, proc.Options{Args: nd.args, Addr: nd.addr,
		Env: []string{"VIGIL_SECRET=" + secret, "VIGIL_ADMIN_TOKEN=" + adminToken, "VIGIL_REFRESH_GRACE=10s"}})
}

// reply is one HTTP answer.
type reply struct {
	status int
	body   map[string]any
	err    error
}

func (r reply) str(k string) string { s, _ := r.body[k].(string); return s }

func (c *cluster) post(nd *node, path, user, pass string, form url.Values) reply {
	req, _ := http.NewRequest(http.MethodPost, nd.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(user, pass)
	return c.do(req)
}

func (c *cluster) admin(nd *node, method, path string, body any) reply {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, nd.srv.URL+path, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+adminToken)
	return c.do(req)
}

func (c *cluster) do(req *http.Request) reply {
	res, err := c.http.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer res.Body.Close()
	r := reply{status: res.StatusCode}
	_ = json.NewDecoder(res.Body).Decode(&r.body)
	return r
}

// token runs client_credentials on nd.
func (c *cluster) token(nd *node) reply { return c.tokenFor(nd, agent, agentPass) }

// tokenFor runs client_credentials on nd for client id.
func (c *cluster) tokenFor(nd *node, id, pass string) reply {
	return c.post(nd, "/oauth2/token", id, pass, url.Values{"grant_type": {"client_credentials"},
		"audience": {"https://rs1.example"}, "scope": {"tickets.read"}})
}

// factClients are clients that each get one session with a hard fact: many
// hard facts on one client's sessions rightly make the risk engine demand
// that the client revalidate.
var factClients = [][2]string{{agent, agentPass}, {"conf-actor", "conf-actor-secret-0123456789abcdefghijkl"},
	{"conf-jwt", "conf-jwt-secret-0123456789abcdefghijklmn"}}

// introspect asks nd about tok as the resource server.
func (c *cluster) introspect(nd *node, tok string) reply {
	return c.post(nd, "/oauth2/introspect", rs, rsPass, url.Values{"token": {tok}})
}

func (c *cluster) revoke(nd *node, tok string) reply {
	return c.post(nd, "/oauth2/revoke", agent, agentPass, url.Values{"token": {tok}})
}

// load runs a bounded background load (client_credentials and
// introspection, round robin over the live instances) until stop is called.
type load struct {
	ok, fail atomic.Int64
	stop     func()
}

func (c *cluster) load(perSecond int, live func() []*node) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{}
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second / time.Duration(perSecond))
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			nodes := live()
			nd := nodes[i%len(nodes)]
			wg.Go(func() {
				r := c.token(nd)
				if r.status == http.StatusOK {
					r = c.introspect(nodes[(i+1)%len(nodes)], r.str("access_token"))
				}
				if r.status == http.StatusOK {
					l.ok.Add(1)
				} else {
					l.fail.Add(1)
				}
			})
		}
	})
	l.stop = func() { cancel(); wg.Wait() }
	return l
}

// parallel runs fn(i) for i in [0, n) on w workers.
func parallel(n, w int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range w {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// maxDur keeps the largest duration it is given.
type maxDur struct {
	mu sync.Mutex
	d  time.Duration
}

func (m *maxDur) add(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.d = max(m.d, d)
}

func (m *maxDur) get() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d
}

func report(t *testing.T, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf("cluster: "+format, args...)
	fmt.Println(line)
	t.Log(line)
}

func TestCluster(t *testing.T) {
	if os.Getenv("VIGIL_CLUSTER_TEST") == "" {
		t.Skip("set VIGIL_CLUSTER_TEST=1 (make cluster-test) to run three vigil serve on PostgreSQL")
	}
	trials := envInt("VIGIL_CLUSTER_TRIALS", 10000)
	// Each check runs on a fresh database.
	t.Run("revocation", func(t *testing.T) { checkRevocation(t, pgtest.Fresh(t), trials) })
	t.Run("refresh race", func(t *testing.T) { checkRefreshRace(t, pgtest.Fresh(t), envInt("VIGIL_CLUSTER_REFRESHES", 1000)) })
	t.Run("hard fact", func(t *testing.T) { checkFact(t, pgtest.Fresh(t)) })
	t.Run("kill -9", func(t *testing.T) { checkKill(t, pgtest.Fresh(t)) })
	t.Run("database restart", func(t *testing.T) { checkDatabaseRestart(t, pgtest.Fresh(t)) })
	t.Run("dilution", func(t *testing.T) { checkDilution(t) })
}

func envInt(name string, def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv(name), &n); err == nil && n > 0 {
		return n
	}
	return def
}

// logLevel is the instances' log level: VIGIL_CLUSTER_LOG, default error.
func logLevel() string {
	if v := os.Getenv("VIGIL_CLUSTER_LOG"); v != "" {
		return v
	}
	return "error"
}

package crash

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage/bolt"
)

// TestGracefulShutdown is SECURITY.md §5.1 and D16: on SIGTERM under load
// the server reports not-ready while it keeps serving through the drain
// period, then stops accepting connections, finishes the requests in
// flight, closes its store and exits 0. No request it answered gets a 5xx,
// and the next start opens the data file at once.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("process test: skipped with -short")
	}
	d := newDeployment(t)
	d.extraArgs = []string{"--drain", "1s"}
	s := d.start(t)
	c := d.client()

	// A request in flight across the whole shutdown: half its body now,
	// the rest once the listener is closed.
	body := url.Values{"grant_type": {"client_credentials"}}.Encode()
	pr, pw := io.Pipe()
	slow := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, d.issuer+"/oauth2/token", pr)
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(agentID, d.secrets[agentID])
		slow <- (&client{d: d, hc: &http.Client{Timeout: 30 * time.Second}}).do(req)
	}()
	if _, err := pw.Write([]byte(body[:5])); err != nil {
		t.Fatal(err)
	}

	l := &loadLog{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { l.run(c, stop) })
	}
	wg.Go(func() { l.pollReady(d.issuer, stop) })
	time.Sleep(300 * time.Millisecond)
	if err := s.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	l.mark()
	if !waitRefused(d.addr, 20*time.Second) {
		t.Fatal("the listener never closed after SIGTERM")
	}
	if _, err := pw.Write([]byte(body[5:])); err != nil {
		t.Fatalf("finishing the in-flight request: %v", err)
	}
	pw.Close()
	if a := <-slow; a.err != nil || a.status != 200 {
		t.Fatalf("the request in flight at shutdown got %d %s %v, want 200", a.status, a.raw, a.err)
	}
	code, err := s.Wait(25 * time.Second)
	close(stop)
	wg.Wait()
	if err != nil || code != 0 {
		t.Fatalf("exit code %d (%v)\n%s", code, err, s.Logs())
	}
	l.check(t)
	for _, msg := range []string{`"msg":"shutting down"`, `"msg":"stopped"`, `"msg":"storage closed"`} {
		if !s.LogHas(msg) {
			t.Errorf("log lacks %s", msg)
		}
	}
	st, err := bolt.Open(d.dbPath(), bolt.WithLockTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatalf("data file after a clean exit: %v", err)
	}
	defer st.Close()
	if err := st.Check(); err != nil {
		t.Fatal(err)
	}
	for _, tok := range l.issued {
		if _, err := st.GetToken(context.Background(), tokenID(tok)); err != nil {
			t.Fatalf("a token answered 200 during shutdown is not in the data file: %v", err)
		}
	}
}

// loadLog records what the load saw.
type loadLog struct {
	mu          sync.Mutex
	termAt      time.Time
	statuses    map[int]int
	afterTerm   map[int]int
	readyAfter  map[int]int
	readyAgain  bool // ready once more after reporting not-ready
	errors      int
	issued      []string
	serverError string
}

func (l *loadLog) mark() { l.mu.Lock(); l.termAt = time.Now(); l.mu.Unlock() }

func (l *loadLog) after() bool { return !l.termAt.IsZero() }

func (l *loadLog) run(c *client, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		a := c.as(agentID, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, nil)
		l.mu.Lock()
		switch {
		case a.err != nil:
			l.errors++ // no answer: the connection was refused or closed, nothing was accepted
		default:
			if l.statuses == nil {
				l.statuses, l.afterTerm = map[int]int{}, map[int]int{}
			}
			l.statuses[a.status]++
			if l.after() {
				l.afterTerm[a.status]++
			}
			if a.status == 200 {
				l.issued = append(l.issued, a.str("access_token"))
			}
			if a.status >= 500 {
				l.serverError = string(a.raw)
			}
		}
		l.mu.Unlock()
		if a.err != nil {
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func (l *loadLog) pollReady(issuer string, stop <-chan struct{}) {
	hc := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-stop:
			return
		default:
		}
		if resp, err := hc.Get(issuer + "/health/ready"); err == nil {
			resp.Body.Close()
			l.mu.Lock()
			if l.after() {
				if l.readyAfter == nil {
					l.readyAfter = map[int]int{}
				}
				l.readyAfter[resp.StatusCode]++
				if resp.StatusCode == http.StatusOK && l.readyAfter[http.StatusServiceUnavailable] > 0 {
					l.readyAgain = true
				}
			}
			l.mu.Unlock()
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (l *loadLog) check(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Logf("answers %v (after SIGTERM %v), readiness after SIGTERM %v, %d requests not accepted", l.statuses, l.afterTerm, l.readyAfter, l.errors)
	for code := range l.statuses {
		if code >= 500 {
			t.Errorf("an accepted request got %d: %s", code, l.serverError)
		}
	}
	if l.readyAfter[http.StatusServiceUnavailable] == 0 {
		t.Error("readiness never reported 503 after SIGTERM")
	}
	if l.readyAgain {
		t.Error("readiness went back to 200 after reporting 503")
	}
	if l.afterTerm[http.StatusOK] == 0 {
		t.Error("no request was served during the drain period")
	}
}

// waitRefused waits until a TCP connection to addr is refused.
func waitRefused(addr string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil && strings.Contains(err.Error(), "refused") {
			return true
		}
		if conn != nil {
			conn.Close()
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

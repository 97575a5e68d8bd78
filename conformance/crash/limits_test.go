package crash

import (
	"bufio"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func itoa(n int) string { return strconv.Itoa(n) }

// TestHTTP_89_SlowHeaders is SECURITY.md #89 (slowloris) against the
// shipped server: a client that sends its headers a byte at a time is cut
// off by the header timeout long before it finishes, and the server keeps
// serving everyone else.
func TestHTTP_89_SlowHeaders(t *testing.T) {
	if testing.Short() {
		t.Skip("process test: skipped with -short")
	}
	d := newDeployment(t)
	d.start(t)
	conn, err := net.Dial("tcp", d.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("POST /oauth2/token HTTP/1.1\r\nHost: x\r\nX-Slow: ")); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() {
		_, _ = bufio.NewReader(conn).ReadString('\n') // returns when the server closes or answers
		close(closed)
	}()
	const bytes = 60 // at 4 bytes a second: 15s, three times the header timeout
	sent := 0
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
loop:
	for ; sent < bytes; sent++ {
		select {
		case <-closed:
			break loop
		case <-tick.C:
			if _, err := conn.Write([]byte("a")); err != nil {
				break loop
			}
		}
	}
	if sent == bytes {
		t.Fatalf("the server waited for all %d header bytes sent one at a time", bytes)
	}
	if a := d.client().as(agentID, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, nil); a.status != 200 {
		t.Fatalf("server after the slow client: %d %v", a.status, a.err)
	}
}

// TestHTTP_75_HeaderSize is SECURITY.md #75 against the shipped server: a
// header block past its limit (16 KiB) is refused with 431 before any
// handler runs.
func TestHTTP_75_HeaderSize(t *testing.T) {
	if testing.Short() {
		t.Skip("process test: skipped with -short")
	}
	d := newDeployment(t)
	d.start(t)
	for _, size := range []int{20 << 10, 1 << 20} {
		req, _ := http.NewRequest(http.MethodPost, d.issuer+"/oauth2/token", strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+strings.Repeat("a", size))
		a := d.client().do(req)
		if a.err == nil && a.status != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("%d-byte header: %d %s", size, a.status, a.raw)
		}
	}
}

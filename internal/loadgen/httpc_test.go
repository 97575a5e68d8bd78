package loadgen

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// rawServer answers every request on every connection with the bytes
// answer returns for it, and counts the connections it accepted. With
// hangUp it closes each connection after one answer, without saying so.
func rawServer(t *testing.T, hangUp bool, answer func(n int) string) (*Target, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var conns atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go serveRaw(c, hangUp, answer)
		}
	}()
	tg, err := NewTarget("http://"+ln.Addr().String(), false)
	if err != nil {
		t.Fatal(err)
	}
	return tg, &conns
}

func serveRaw(c net.Conn, hangUp bool, answer func(n int) string) {
	defer c.Close()
	br := bufio.NewReader(c)
	for n := 0; ; n++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		out := answer(n)
		if _, err := io.WriteString(c, out); err != nil || strings.Contains(out, "Connection: close") || hangUp {
			return
		}
	}
}

func TestConnFraming(t *testing.T) {
	cases := []struct {
		name, answer string
		status       int
		body         string
		reuse        bool
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, "hello", true},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2;ext=1\r\nlo\r\n0\r\nX-T: 1\r\n\r\n", 200, "hello", true},
		{"no body", "HTTP/1.1 204 No Content\r\n\r\n", 204, "", true},
		{"close", "HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno", 401, "no", false},
		{"http/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, "ok", false},
		{"http/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", 200, "ok", true},
		{"until close", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody", 200, "body", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tg, conns := rawServer(t, false, func(int) string { return tc.answer })
			c := NewConn(tg, 5*time.Second)
			defer c.Close()
			for range 3 {
				resp, err := c.Do(context.Background(), &Request{Method: "POST", Path: "/x", Header: formHeader, Body: []byte("a=b")})
				if err != nil {
					t.Fatal(err)
				}
				if resp.Status != tc.status || string(resp.Body) != tc.body {
					t.Fatalf("got %d %q, want %d %q", resp.Status, resp.Body, tc.status, tc.body)
				}
			}
			want := int32(3)
			if tc.reuse {
				want = 1
			}
			if got := conns.Load(); got != want {
				t.Errorf("connections: got %d, want %d", got, want)
			}
		})
	}
}

func TestConnMalformed(t *testing.T) {
	cases := []string{
		"SMTP ready\r\n\r\n",
		"HTTP/1.1 abc OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nbroken header\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	}
	for _, answer := range cases {
		t.Run(strings.Fields(answer)[0], func(t *testing.T) {
			tg, _ := rawServer(t, false, func(int) string { return answer })
			c := NewConn(tg, 5*time.Second)
			defer c.Close()
			_, err := c.Do(context.Background(), &Request{Method: "GET", Path: "/"})
			if !errors.Is(err, errMalformed) {
				t.Fatalf("got %v, want errMalformed", err)
			}
			if c.nc != nil {
				t.Error("connection kept after a malformed answer")
			}
		})
	}
}

func TestConnRedialsAfterSilentClose(t *testing.T) {
	// The server hangs up after every answer without saying so: the next
	// request on that connection fails, and the one after redials.
	tg, conns := rawServer(t, true, func(int) string { return "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" })
	c := NewConn(tg, 5*time.Second)
	defer c.Close()
	req := &Request{Method: "GET", Path: "/"}
	if _, err := c.Do(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(context.Background(), req); err == nil {
		t.Fatal("request on a hung-up connection succeeded")
	}
	if _, err := c.Do(context.Background(), req); err != nil {
		t.Fatalf("no redial: %v", err)
	}
	if got := conns.Load(); got != 2 {
		t.Errorf("connections: got %d, want 2", got)
	}
}

func TestRender(t *testing.T) {
	tg, err := NewTarget("https://as.example/tenant/", false)
	if err != nil {
		t.Fatal(err)
	}
	c := NewConn(tg, time.Second)
	got := string(c.render(nil, &Request{Method: "POST", Path: "/oauth2/token", Header: "X-A: 1\r\n", Body: []byte("k=v")}))
	want := "POST /tenant/oauth2/token HTTP/1.1\r\nHost: as.example\r\nUser-Agent: vigil-bench\r\nX-A: 1\r\nContent-Length: 3\r\n\r\nk=v"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if tg.addr != "as.example:443" {
		t.Errorf("addr %q", tg.addr)
	}
}

func TestNewTargetRejects(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:8080", "ftp://x", "http://"} {
		if _, err := NewTarget(u, false); err == nil {
			t.Errorf("NewTarget(%q) accepted", u)
		}
	}
}

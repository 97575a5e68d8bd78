package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// Request is one prepared HTTP request: a method, a path below the target
// and a pre-rendered header block. Body is sent with a Content-Length.
type Request struct {
	Method string
	Path   string
	// Header holds extra header lines, each ending in "\r\n".
	Header string
	Body   []byte
}

// Response is what Conn.Do read. Body is only valid until the next Do on
// the same connection.
type Response struct {
	Status int
	Body   []byte
}

// Target is where requests go: a base URL (http or https) and how to reach it.
type Target struct {
	base *url.URL
	// hostHeader is the Host header value.
	hostHeader string
	addr       string
	tls        *tls.Config
	// prefix is the base URL's path, prepended to every request path.
	prefix string
}

// NewTarget parses base ("http://127.0.0.1:8080", "https://as.example/tenant").
// insecure skips TLS certificate verification (for self-signed test servers).
func NewTarget(base string, insecure bool) (*Target, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("loadgen: target %q must be an absolute http(s) URL", base)
	}
	t := &Target{base: u, hostHeader: u.Host, addr: u.Host, prefix: trimSlash(u.Path)}
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		t.addr = net.JoinHostPort(u.Hostname(), port)
	}
	if u.Scheme == "https" {
		t.tls = &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: insecure, MinVersion: tls.VersionTLS12} //nolint:gosec // opt-in for test servers
	}
	return t, nil
}

// URL returns the base URL with path appended.
func (t *Target) URL(path string) string {
	return t.base.Scheme + "://" + t.base.Host + t.prefix + path
}

// PathOf returns the request path of an absolute endpoint URL on this
// target's host (as discovery metadata gives it), or an error for another host.
func (t *Target) PathOf(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host != t.base.Host || u.Scheme != t.base.Scheme {
		return "", fmt.Errorf("loadgen: endpoint %q is not on %s", endpoint, t.base.Host)
	}
	return u.RequestURI(), nil
}

func trimSlash(p string) string {
	for len(p) > 0 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return p
}

// Conn is one keep-alive HTTP/1.1 connection that redials after an error or
// a "Connection: close". It is not safe for concurrent use: each worker owns
// one. It allocates nothing per request once warm, so the load generator
// costs as little CPU as possible on the machine it shares with the server.
type Conn struct {
	t       *Target
	nc      net.Conn
	br      *bufio.Reader
	wbuf    []byte
	body    []byte
	timeout time.Duration
}

// NewConn returns an unconnected Conn to t; it dials on first use. Each
// request must complete within timeout.
func NewConn(t *Target, timeout time.Duration) *Conn {
	return &Conn{t: t, timeout: timeout}
}

// Close closes the underlying connection.
func (c *Conn) Close() error {
	if c.nc == nil {
		return nil
	}
	err := c.nc.Close()
	c.nc = nil
	return err
}

func (c *Conn) dial(ctx context.Context) error {
	d := net.Dialer{Timeout: c.timeout}
	nc, err := d.DialContext(ctx, "tcp", c.t.addr)
	if err != nil {
		return err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	if c.t.tls != nil {
		tc := tls.Client(nc, c.t.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return err
		}
		nc = tc
	}
	c.nc = nc
	if c.br == nil {
		c.br = bufio.NewReaderSize(nc, 16<<10)
	} else {
		c.br.Reset(nc)
	}
	return nil
}

// Do sends req and reads the whole response. On any transport error the
// connection is closed (the next Do redials) and the error returned.
func (c *Conn) Do(ctx context.Context, req *Request) (Response, error) {
	if c.nc == nil {
		if err := c.dial(ctx); err != nil {
			return Response{}, fmt.Errorf("dial: %w", err)
		}
	}
	if c.timeout > 0 {
		_ = c.nc.SetDeadline(time.Now().Add(c.timeout))
	}
	resp, keep, err := c.roundTrip(req)
	if err != nil || !keep {
		c.Close()
	}
	return resp, err
}

func (c *Conn) roundTrip(req *Request) (Response, bool, error) {
	c.wbuf = c.render(c.wbuf[:0], req)
	if _, err := c.nc.Write(c.wbuf); err != nil {
		return Response{}, false, fmt.Errorf("write: %w", err)
	}
	return c.read(req.Method == "HEAD")
}

func (c *Conn) render(b []byte, req *Request) []byte {
	b = append(b, req.Method...)
	b = append(b, ' ')
	b = append(b, c.t.prefix...)
	b = append(b, req.Path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, c.t.hostHeader...)
	b = append(b, "\r\nUser-Agent: vigil-bench\r\n"...)
	b = append(b, req.Header...)
	if req.Body != nil || req.Method == "POST" || req.Method == "PUT" {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(req.Body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	return append(b, req.Body...)
}

// errMalformed reports a response this client cannot parse.
var errMalformed = errors.New("malformed HTTP response")

// head is what the status line and headers said.
type head struct {
	status  int
	length  int // -1: not given
	chunked bool
	close   bool
}

func (c *Conn) read(isHead bool) (Response, bool, error) {
	h, err := c.readHead()
	if err != nil {
		return Response{}, false, err
	}
	resp := Response{Status: h.status}
	switch {
	case isHead || h.status == 204 || h.status == 304 || (h.status >= 100 && h.status < 200):
		resp.Body = c.body[:0]
	case h.chunked:
		resp.Body, err = c.readChunked()
	case h.length >= 0:
		resp.Body, err = c.readN(h.length)
	default: // until close
		resp.Body, err = io.ReadAll(c.br)
		h.close = true
	}
	if err != nil {
		return Response{}, false, fmt.Errorf("read body: %w", err)
	}
	return resp, !h.close, nil
}

func (c *Conn) readHead() (head, error) {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return head{}, fmt.Errorf("read status: %w", err)
	}
	h := head{length: -1}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return h, errMalformed
	}
	h.status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return h, errMalformed
	}
	h.close = line[7] == '0' // HTTP/1.0 closes unless told otherwise
	for {
		line, err = c.br.ReadSlice('\n')
		if err != nil {
			return h, fmt.Errorf("read header: %w", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			return h, nil
		}
		if err := h.header(line); err != nil {
			return h, err
		}
	}
}

func (h *head) header(line []byte) error {
	name, value, ok := bytes.Cut(line, []byte{':'})
	if !ok {
		return errMalformed
	}
	value = bytes.TrimSpace(value)
	switch {
	case bytes.EqualFold(name, []byte("Content-Length")):
		n, err := strconv.Atoi(string(value))
		if err != nil || n < 0 {
			return errMalformed
		}
		h.length = n
	case bytes.EqualFold(name, []byte("Transfer-Encoding")):
		h.chunked = bytes.Contains(bytes.ToLower(value), []byte("chunked"))
	case bytes.EqualFold(name, []byte("Connection")):
		v := bytes.ToLower(value)
		h.close = h.close && !bytes.Contains(v, []byte("keep-alive")) || bytes.Contains(v, []byte("close"))
	}
	return nil
}

// maxBody bounds a response body; a load test never needs more.
const maxBody = 8 << 20

func (c *Conn) readN(n int) ([]byte, error) {
	if n > maxBody {
		return nil, errMalformed
	}
	if cap(c.body) < n {
		c.body = make([]byte, n)
	}
	c.body = c.body[:n]
	_, err := io.ReadFull(c.br, c.body)
	return c.body, err
}

func (c *Conn) readChunked() ([]byte, error) {
	c.body = c.body[:0]
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte{';'})
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 32)
		if err != nil || n < 0 || len(c.body)+int(n) > maxBody {
			return nil, errMalformed
		}
		if n == 0 {
			return c.body, c.skipTrailers()
		}
		start := len(c.body)
		c.body = slices.Grow(c.body, int(n))[:start+int(n)]
		if _, err := io.ReadFull(c.br, c.body[start:]); err != nil {
			return nil, err
		}
		if _, err := c.br.Discard(2); err != nil { // CRLF after the chunk
			return nil, err
		}
	}
}

func (c *Conn) skipTrailers() error {
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return nil
		}
	}
}

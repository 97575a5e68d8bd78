// Package proc builds the vigil binary and runs it as a separate process
// for tests that need the shipped server: crash and restart loops,
// shutdown on SIGTERM, the HTTP server's own limits, and startup checks on
// a damaged data file. It imports only the standard library.
package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Module is the import path of the command that is built.
const Module = "github.com/vigil-auth/vigil/cmd/vigil"

var (
	buildOnce sync.Once
	buildDir  string
	binary    string
	buildErr  error
)

// Main runs a test binary's tests and then removes the built server.
// Call it from TestMain: os.Exit(proc.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	return code
}

// Binary builds the vigil command once per test binary (without the race
// detector, as it ships) and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "vigil-proc-")
		if buildErr != nil {
			return
		}
		binary = filepath.Join(buildDir, "vigil")
		cmd := exec.Command("go", "build", "-o", binary, Module)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Errorf("go build %s: %w\n%s", Module, err, out.String())
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// FreePort returns a free loopback TCP port below the usual ephemeral
// range (Linux: 32768-60999), so that neither listeners on port 0 nor the
// source ports of outgoing connections take it while a server restarts.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 200 {
		port := 20000 + mathrand.IntN(12000)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no free port in 20000-31999")
	return 0
}

// Options say how to start the server.
type Options struct {
	// Args follow "serve" on the command line (--config, --data, --listen, ...).
	Args []string
	// Addr is the host:port the server listens on (to poll for readiness).
	Addr string
	// Env is added to the test's environment.
	Env []string
}

// Server is a running vigil process.
type Server struct {
	URL  string
	cmd  *exec.Cmd
	logs *buffer
	done chan struct{}
	err  error // the process's exit, once done is closed
}

// buffer is a goroutine-safe bytes.Buffer for the process's output.
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) { b.mu.Lock(); defer b.mu.Unlock(); return b.b.Write(p) }
func (b *buffer) String() string              { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

// Launch starts vigil serve without waiting for it to be ready.
func Launch(t testing.TB, o Options) *Server {
	t.Helper()
	s := &Server{URL: "http://" + o.Addr, logs: &buffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(Binary(t), append([]string{"serve"}, o.Args...)...)
	s.cmd.Env = append(os.Environ(), o.Env...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start vigil: %v", err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() { s.Kill() })
	return s
}

// Start launches vigil serve and waits until /health/ready answers 200.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	s := Launch(t, o)
	if err := s.WaitReady(30 * time.Second); err != nil {
		s.Kill()
		t.Fatalf("vigil did not become ready: %v\n%s", err, s.Logs())
	}
	return s
}

// WaitReady polls /health/ready until it answers 200, the process exits, or
// timeout passes.
func (s *Server) WaitReady(timeout time.Duration) error {
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("process exited: %v", s.err)
		default:
		}
		if resp, err := hc.Get(s.URL + "/health/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("timed out")
}

// Kill sends SIGKILL and waits for the process to be gone. Killing an
// exited process does nothing.
func (s *Server) Kill() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Signal sends sig to the process.
func (s *Server) Signal(sig syscall.Signal) error { return s.cmd.Process.Signal(sig) }

// Wait waits up to timeout for the process to exit and returns its exit
// code (-1 when it was killed by a signal).
func (s *Server) Wait(timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	select {
	case <-s.done:
	case <-ctx.Done():
		return 0, fmt.Errorf("vigil still running after %s", timeout)
	}
	var ee *exec.ExitError
	switch {
	case s.err == nil:
		return 0, nil
	case errors.As(s.err, &ee):
		return ee.ExitCode(), nil
	}
	return 0, s.err
}

// Exited reports whether the process has exited.
func (s *Server) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Logs returns everything the process wrote to stdout and stderr.
func (s *Server) Logs() string { return s.logs.String() }

// LogHas reports whether a log line contains every one of parts.
func (s *Server) LogHas(parts ...string) bool {
	for _, line := range strings.Split(s.Logs(), "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

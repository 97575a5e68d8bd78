// Package servertest starts a Vigil instance for tests, through the same
// [server.Open] that `vigil serve` uses, on a fresh data directory and a
// loopback HTTP server.
package servertest

import (
	"crypto/rand"
	"encoding/base64"
	"net/http/httptest"
	"testing"

	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/internal/server"
)

// Server is an instance served over a loopback HTTP server.
type Server struct {
	*server.Instance
	// URL is the base URL, which is also the issuer.
	URL string
}

// Settings returns the defaults of a zero-configuration server, with no
// data directory (Start makes a temporary one).
func Settings() config.Settings {
	s := config.Defaults()
	s.Data = ""
	return s
}

// Env returns a getenv for [server.WithGetenv]: a fresh VIGIL_SECRET, and
// adminToken as VIGIL_ADMIN_TOKEN ("" means a generated admin-token file).
func Env(adminToken string) func(string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	secret := base64.RawURLEncoding.EncodeToString(b)
	return func(k string) string {
		switch k {
		case "VIGIL_SECRET":
			return secret
		case server.AdminTokenEnv:
			return adminToken
		}
		return ""
	}
}

// Start opens an instance with s (Issuer and Data filled in when empty:
// the server's URL and a temporary directory), serves it, and closes both
// when the test ends. opts come after a default [Env] with no admin token.
func Start(t testing.TB, s config.Settings, opts ...server.Option) *Server {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	url := "http://" + ts.Listener.Addr().String()
	if s.Issuer == "" {
		s.Issuer = url
	}
	if s.ClusterURL == "" {
		s.ClusterURL = url // the instances of a cluster reach each other here
	}
	if s.Data == "" {
		s.Data = t.TempDir()
	}
	in, err := server.Open(t.Context(), s, append([]server.Option{server.WithGetenv(Env(""))}, opts...)...)
	if err != nil {
		ts.Close()
		t.Fatalf("servertest: open: %v", err)
	}
	ts.Config.Handler = in.Handler()
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		if err := in.Close(); err != nil {
			t.Errorf("servertest: close: %v", err)
		}
	})
	return &Server{Instance: in, URL: url}
}

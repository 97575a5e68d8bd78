package server

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAdminTokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), AdminTokenFile)
	log := slog.New(slog.DiscardHandler)
	first, err := LoadAdminToken(path, log)
	if err != nil {
		t.Fatal(err)
	}
	second, err := LoadAdminToken(path, log)
	if err != nil || second != first {
		t.Errorf("second load = %q, %v; want the same token", second, err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadAdminToken(path, log); err == nil {
		t.Error("a group-readable admin token file was accepted")
	}
}

func TestFileModeWarning(t *testing.T) {
	tests := []struct {
		name    string
		perm    os.FileMode
		secrets bool
		listen  string
		warn    string
	}{
		{"fresh checkout of the example, loopback", 0o644, true, "127.0.0.1:8080", ""},
		{"readable, no secrets, public", 0o644, false, "0.0.0.0:8080", ""},
		{"readable, secrets, public", 0o644, true, "0.0.0.0:8080", "readable by other users"},
		{"readable, secrets, all interfaces by empty host", 0o640, true, ":8080", "readable by other users"},
		{"private, secrets, public", 0o600, true, "0.0.0.0:8080", ""},
		{"group-writable, secrets, loopback", 0o664, true, "[::1]:8080", "may change it"},
		{"world-writable, no secrets", 0o666, false, "127.0.0.1:8080", ""},
	}
	for _, tt := range tests {
		if got := fileModeWarning(tt.perm, tt.secrets, tt.listen); (tt.warn == "") != (got == "") || !strings.Contains(got, tt.warn) {
			t.Errorf("%s: warning %q, want one containing %q", tt.name, got, tt.warn)
		}
	}
}

package bolt_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/bolt"
)

var t0 = time.Date(2030, 5, 6, 7, 8, 9, 123456789, time.UTC)

// TestReopenKeepsData closes a store and reads everything back from a new
// Open of the same file.
func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	sess := storage.Session{ID: "s1", ClientID: "c1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), Status: storage.SessionActive}
	tok := storage.Token{ID: "t1", ClientID: "c1", SessionID: "s1", IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	err = s.Update(t.Context(), func(w storage.Writer) error {
		return errors.Join(w.CreateSession(t.Context(), sess), w.CreateToken(t.Context(), tok),
			w.AppendEvent(t.Context(), storage.Event{SessionID: "s1", Type: "token"}),
			w.AppendAudit(t.Context(), storage.AuditRecord{Type: "issue", Outcome: "granted"}),
			w.UseJTI(t.Context(), "j1", t0.Add(time.Hour), t0))
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s, err = bolt.Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
	if got, err := s.GetSession(t.Context(), "s1"); err != nil || !got.CreatedAt.Equal(t0) {
		t.Errorf("GetSession after reopen = %+v, %v", got, err)
	}
	if got, err := s.ListSessionTokens(t.Context(), "s1"); err != nil || len(got) != 1 || got[0].ID != "t1" {
		t.Errorf("ListSessionTokens after reopen = %+v, %v", got, err)
	}
	err = s.Update(t.Context(), func(w storage.Writer) error {
		return errors.Join(w.AppendEvent(t.Context(), storage.Event{SessionID: "s1", Type: "refresh"}),
			w.AppendAudit(t.Context(), storage.AuditRecord{Type: "refresh", Outcome: "granted"}))
	})
	if err != nil {
		t.Fatalf("Update after reopen: %v", err)
	}
	if evs, err := s.ListEvents(t.Context(), "s1"); err != nil || len(evs) != 2 || evs[1].Seq != 2 {
		t.Errorf("events after reopen = %+v, %v; want Seq 1, 2", evs, err)
	}
	if recs, err := s.ListAudit(t.Context(), storage.AuditFilter{}); err != nil || len(recs) != 2 || recs[1].Seq != 2 {
		t.Errorf("audit after reopen = %+v, %v; want Seq 1, 2", recs, err)
	}
	err = s.Update(t.Context(), func(w storage.Writer) error { return w.UseJTI(t.Context(), "j1", t0.Add(time.Hour), t0) })
	if !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("UseJTI after reopen: %v, want ErrAlreadyExists", err)
	}
}

func TestFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("data file mode = %v, want -rw-------", perm)
	}
}

// lockPathEnv tells the test binary, run as a child process, to try to
// open the data file another process holds.
const lockPathEnv = "VIGIL_BOLT_TEST_LOCKED_PATH"

// TestOpenLockedByAnotherProcess holds the data file open and runs a second
// process that tries to open it with the default lock timeout.
func TestOpenLockedByAnotherProcess(t *testing.T) {
	if path := os.Getenv(lockPathEnv); path != "" {
		openLockedChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "vigil.db")
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestOpenLockedByAnotherProcess$")
	cmd.Env = append(os.Environ(), lockPathEnv+"="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "data file is in use by another process") {
		t.Errorf("child output does not name the cause:\n%s", out)
	}
}

// openLockedChild is the child side: it reports Open's error and exits.
func openLockedChild(path string) {
	s, err := bolt.Open(path)
	switch {
	case err == nil:
		s.Close()
		os.Stdout.WriteString("second Open succeeded\n")
		os.Exit(1)
	case !errors.Is(err, bolt.ErrLocked):
		os.Stdout.WriteString("error does not match ErrLocked: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString(err.Error() + "\n")
	os.Exit(0)
}

// TestOpenLockedInProcess checks the same error when the holder is this
// process (the lock is per open file, not per process).
func TestOpenLockedInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	_, err = bolt.Open(path, bolt.WithLockTimeout(50*time.Millisecond))
	if !errors.Is(err, bolt.ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Errorf("second Open: %v, want ErrLocked naming %s", err, path)
	}
}

func TestOpenFailures(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("not a database ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
	}{
		{"missing directory", filepath.Join(dir, "no", "such", "dir", "vigil.db")},
		{"not a bbolt file", notDB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := bolt.Open(tt.path)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, storage.ErrUnavailable) {
				t.Errorf("Open: %v, want errors.Is storage.ErrUnavailable", err)
			}
		})
	}
}

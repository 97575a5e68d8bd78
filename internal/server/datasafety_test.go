package server_test

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/internal/server"
	"github.com/vigil-auth/vigil/internal/server/servertest"
	"github.com/vigil-auth/vigil/storage"
)

// openDir opens the state of data directory dir, as vigil serve does.
func openDir(t *testing.T, dir string, getenv func(string) string, opts ...server.Option) (*server.State, error) {
	t.Helper()
	s := servertest.Settings()
	s.Data = dir
	return server.OpenState(context.Background(), s, append([]server.Option{server.WithGetenv(getenv)}, opts...)...)
}

func update(t *testing.T, st *server.State, fn func(context.Context, storage.Writer) error) {
	t.Helper()
	ctx := context.Background()
	if err := st.Store().Update(ctx, func(w storage.Writer) error { return fn(ctx, w) }); err != nil {
		t.Fatal(err)
	}
}

func copyTo(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDataDir_OlderCopyRefused: a database file put back by hand from an
// older copy (taken before a revocation) is refused at open with the way
// out; vigil db restore of the same copy ends every session the copy holds,
// and the directory opens again.
func TestDataDir_OlderCopyRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	env := servertest.Env("")
	st, err := openDir(t, dir, env)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	tok := storage.Token{ID: "t1", Kind: storage.AccessToken, ClientID: "c1", Subject: "c1", SessionID: "s1",
		IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(time.Hour)}
	update(t, st, func(ctx context.Context, w storage.Writer) error {
		if err := w.PutClient(ctx, storage.Client{ID: "c1", Kind: "service", SecretHash: "x", CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		if err := w.CreateSession(ctx, storage.Session{ID: "s1", ClientID: "c1", Subject: "c1", CreatedAt: now,
			Status: storage.SessionActive}); err != nil {
			return err
		}
		return w.CreateToken(ctx, tok)
	})
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, server.DBFile)
	older := filepath.Join(t.TempDir(), "older.db")
	copyTo(t, db, older)

	st, err = openDir(t, dir, env)
	if err != nil {
		t.Fatal(err)
	}
	revoked := tok
	revoked.RevokedAt = now
	update(t, st, func(ctx context.Context, w storage.Writer) error { return w.PutToken(ctx, revoked) })
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	copyTo(t, older, db) // put back by hand
	_, err = openDir(t, dir, env)
	if !errors.Is(err, server.ErrOlderCopy) || !strings.Contains(err.Error(), "vigil db restore") {
		t.Fatalf("an older copy put back by hand: %v", err)
	}
	_, err = openDir(t, dir, env, server.WithInit())
	if !errors.Is(err, server.ErrOlderCopy) {
		t.Fatalf("--init let an older copy through: %v", err)
	}

	rep, err := server.Restore(ctx, dir, older, now, slog.New(slog.DiscardHandler))
	if err != nil || rep.Sessions != 1 {
		t.Fatalf("restore: %+v %v", rep, err)
	}
	st, err = openDir(t, dir, env)
	if err != nil {
		t.Fatalf("open after the restore: %v", err)
	}
	defer st.Close()
	got, err := st.Store().GetToken(ctx, "t1")
	if err != nil || got.RevokedAt.IsZero() {
		t.Fatalf("the token revoked after the copy was taken is live after the restore: %+v %v", got, err)
	}
}

// TestDataDir_LostDatabaseRefused: a data directory that held a database
// refuses to start a new, empty one unless told to initialize.
func TestDataDir_LostDatabaseRefused(t *testing.T) {
	dir := t.TempDir()
	env := servertest.Env("")
	st, err := openDir(t, dir, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, server.DBFile)
	if err := os.Rename(db, db+".aside"); err != nil {
		t.Fatal(err)
	}
	if _, err := openDir(t, dir, env); !errors.Is(err, server.ErrNoDatabase) || !strings.Contains(err.Error(), "--init") {
		t.Fatalf("a lost database: %v", err)
	}
	if _, err := os.Stat(db); err == nil {
		t.Fatal("a new database was created anyway")
	}
	st, err = openDir(t, dir, env, server.WithInit())
	if err != nil {
		t.Fatalf("--init: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// The new database is the one this directory serves now.
	if st, err = openDir(t, dir, env); err != nil {
		t.Fatalf("reopen after --init: %v", err)
	}
	_ = st.Close()
}

// TestDataDir_DamagedRefused: a damaged file is refused with the way out,
// never a panic.
func TestDataDir_DamagedRefused(t *testing.T) {
	dir := t.TempDir()
	env := servertest.Env("")
	st, err := openDir(t, dir, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, server.DBFile)
	b, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	for off := 2 * page; off+16 <= len(b); off += page {
		copy(b[off:off+16], make([]byte, 16))
	}
	if err := os.WriteFile(db, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = openDir(t, dir, env)
	if !errors.Is(err, server.ErrDamaged) || !strings.Contains(err.Error(), "restore") {
		t.Fatalf("a damaged file: %v", err)
	}
}

// TestDataDir_NewerMetaPageLost: when the newer of bbolt's two meta pages
// is damaged, the file opens at the commit before; what the lost commit did
// is unknown, so every session of the file is ended, as after a restore.
// A damaged older meta page loses nothing and changes nothing.
func TestDataDir_NewerMetaPageLost(t *testing.T) {
	for _, newer := range []bool{true, false} {
		t.Run(map[bool]string{true: "newer", false: "older"}[newer], func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			env := servertest.Env("")
			st, err := openDir(t, dir, env)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now().Truncate(time.Second)
			update(t, st, func(ctx context.Context, w storage.Writer) error {
				if err := w.PutClient(ctx, storage.Client{ID: "c1", Kind: "service", SecretHash: "x", CreatedAt: now, UpdatedAt: now}); err != nil {
					return err
				}
				return w.CreateSession(ctx, storage.Session{ID: "s1", ClientID: "c1", Subject: "c1", CreatedAt: now,
					Status: storage.SessionActive})
			})
			update(t, st, func(ctx context.Context, w storage.Writer) error {
				return w.AppendAudit(ctx, storage.AuditRecord{At: now, Type: "admin", Outcome: "noted"})
			})
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			db := filepath.Join(dir, server.DBFile)
			b, err := os.ReadFile(db)
			if err != nil {
				t.Fatal(err)
			}
			const page = 4096
			txid := func(i int) uint64 { return binary.LittleEndian.Uint64(b[i*page+64:]) }
			i := 0
			if (txid(1) > txid(0)) == newer {
				i = 1
			}
			copy(b[i*page+32:i*page+56], make([]byte, 24)) // root bucket and freelist of meta page i
			if err := os.WriteFile(db, b, 0o600); err != nil {
				t.Fatal(err)
			}
			st, err = openDir(t, dir, env)
			if err != nil {
				t.Fatalf("open with a damaged %s meta page: %v", map[bool]string{true: "newer", false: "older"}[newer], err)
			}
			defer st.Close()
			s, err := st.Store().GetSession(ctx, "s1")
			if err != nil {
				t.Fatal(err)
			}
			if ended := s.Status != storage.SessionActive; ended != newer {
				t.Fatalf("session %s (%s) with the %v meta page damaged", s.Status, s.Reason, map[bool]string{true: "newer", false: "older"}[newer])
			}
		})
	}
}

// TestDataDir_RequiredRefusesEmpty: where the configuration says the data
// directory holds a database (data_required, from the file or the
// environment), an empty directory (a new volume, a wrong path) is refused
// instead of silently starting a new server; --init creates it.
func TestDataDir_RequiredRefusesEmpty(t *testing.T) {
	doors := map[string]struct {
		file string
		env  map[string]string
	}{
		"configuration file": {file: "data_required: true\n"},
		"environment":        {env: map[string]string{"VIGIL_DATA_REQUIRED": "true"}},
	}
	for name, door := range doors {
		t.Run(name, func(t *testing.T) {
			var f *config.File
			if door.file != "" {
				var err error
				if f, err = config.Parse([]byte(door.file)); err != nil {
					t.Fatal(err)
				}
			}
			s, _, err := config.Resolve(f, func(k string) string { return door.env[k] }, nil)
			if err != nil {
				t.Fatal(err)
			}
			s.Data = filepath.Join(t.TempDir(), "data")
			env := servertest.Env("")
			_, err = server.OpenState(context.Background(), s, server.WithGetenv(env))
			if !errors.Is(err, server.ErrNoDatabase) || !strings.Contains(err.Error(), "--init") {
				t.Fatalf("an empty data directory with data_required: %v", err)
			}
			if _, err := os.Stat(filepath.Join(s.Data, server.DBFile)); err == nil {
				t.Fatal("a new database was created anyway")
			}
			st, err := server.OpenState(context.Background(), s, server.WithGetenv(env), server.WithInit())
			if err != nil {
				t.Fatalf("--init: %v", err)
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			st, err = server.OpenState(context.Background(), s, server.WithGetenv(env))
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			_ = st.Close()
		})
	}
}

// TestDataDir_EndRestoredSessions: the way out in place for a database
// restored by other means: every session ends, and the directory serves the
// file from then on.
func TestDataDir_EndRestoredSessions(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	env := servertest.Env("")
	st, err := openDir(t, dir, env)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	update(t, st, func(ctx context.Context, w storage.Writer) error {
		if err := w.PutClient(ctx, storage.Client{ID: "c1", Kind: "service", SecretHash: "x", CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		return w.CreateSession(ctx, storage.Session{ID: "s1", ClientID: "c1", Subject: "c1", CreatedAt: now, Status: storage.SessionActive})
	})
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, server.DBFile)
	older := filepath.Join(t.TempDir(), "older.db")
	copyTo(t, db, older)
	st, err = openDir(t, dir, env)
	if err != nil {
		t.Fatal(err)
	}
	update(t, st, func(ctx context.Context, w storage.Writer) error {
		return w.AppendAudit(ctx, storage.AuditRecord{At: now, Type: "admin", Outcome: "noted"})
	})
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	copyTo(t, older, db)
	if _, err := openDir(t, dir, env); !errors.Is(err, server.ErrOlderCopy) || !strings.Contains(err.Error(), "end-sessions") {
		t.Fatalf("an older copy: %v", err)
	}
	s := servertest.Settings()
	s.Data = dir
	n, err := server.EndRestoredSessions(ctx, s, now, slog.New(slog.DiscardHandler))
	if err != nil || n != 1 {
		t.Fatalf("end-sessions: %d %v", n, err)
	}
	st, err = openDir(t, dir, env)
	if err != nil {
		t.Fatalf("open after end-sessions: %v", err)
	}
	defer st.Close()
	if sess, err := st.Store().GetSession(ctx, "s1"); err != nil || sess.Status == storage.SessionActive {
		t.Fatalf("the session of the copy is %+v %v", sess, err)
	}
}

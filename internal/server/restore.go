package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/bolt"
	"github.com/vigil-auth/vigil/storage/postgres"
)

// RestoreReport says what a restore did.
type RestoreReport struct {
	// Previous is where the database the restore replaced was kept ("" if
	// there was none).
	Previous string
	// Sessions is how many sessions of the backup were ended.
	Sessions int
}

// restoreReason is the reason recorded on every session a restore ends.
const restoreReason = "restored from a backup"

// Restore replaces the database of data directory dir with the backup file
// at src, with the server stopped. The backup is copied and checked first;
// the database it replaces is kept beside it. Every session of the backup
// is then ended and every token of it revoked: the backup cannot know what
// was revoked, terminated or rotated after it was taken, so no token issued
// before the restore is trusted. Clients get new tokens (client_credentials
// or a new exchange); refresh tokens from before the restore are refused.
func Restore(ctx context.Context, dir, src string, now time.Time, log *slog.Logger) (RestoreReport, error) {
	var rep RestoreReport
	dst := filepath.Join(dir, DBFile)
	if _, err := os.Stat(dst); err == nil {
		cur, err := bolt.Open(dst, bolt.WithLockTimeout(lockTimeout))
		if errors.Is(err, bolt.ErrLocked) {
			return rep, fmt.Errorf("%s is in use: stop the server before restoring", dst)
		}
		if err == nil {
			_ = cur.Close()
		}
	}
	tmp := dst + ".restoring"
	if err := copyFile(src, tmp); err != nil {
		return rep, err
	}
	defer os.Remove(tmp)
	store, err := bolt.Open(tmp, bolt.WithLockTimeout(lockTimeout), bolt.WithLogger(log))
	if err != nil {
		return rep, fmt.Errorf("the backup %s cannot be opened: %w", src, err)
	}
	err = store.Check()
	if err == nil {
		rep.Sessions, err = EndAllSessions(ctx, store, now, restoreReason)
	}
	var gen uint64
	if err == nil {
		gen, err = store.Generation()
	}
	if cerr := store.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return rep, fmt.Errorf("the backup %s: %w", src, err)
	}
	if _, err := os.Stat(dst); err == nil {
		rep.Previous = dst + ".before-restore-" + now.UTC().Format("20060102T150405Z")
		if err := os.Rename(dst, rep.Previous); err != nil {
			return rep, err
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		return rep, err
	}
	if err := syncDir(dir); err != nil {
		return rep, err
	}
	if err := markInitialized(dir, now); err != nil {
		return rep, err
	}
	// The restored file is older than the one it replaced: from now on it
	// is the one this directory serves.
	return rep, recordGeneration(dir, gen, now)
}

// EndRestoredSessions ends every session of the store s names, with every
// instance stopped, as Restore does: for a database restored by other means
// (a PostgreSQL dump or snapshot, a file-system snapshot of the data
// directory), which cannot know what was revoked, terminated or rotated
// after it was taken. For the bbolt file of s.Data, the file's generation
// then becomes the data directory's (an older copy put in place by hand is
// served after this).
func EndRestoredSessions(ctx context.Context, s config.Settings, now time.Time, log *slog.Logger) (int, error) {
	if config.IsPostgres(s.Store) {
		store, err := postgres.Open(ctx, s.Store, postgres.WithLogger(log))
		if err != nil {
			return 0, err
		}
		defer store.Close()
		return EndAllSessions(ctx, store, now, restoreReason)
	}
	path := filepath.Join(s.Data, DBFile)
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		return 0, fmt.Errorf("%s: no database to end the sessions of", path)
	}
	store, err := openBoltFile(s.Data, log)
	if err != nil {
		return 0, err
	}
	if err := store.Check(); err != nil {
		return 0, errors.Join(damaged(path, err), store.Close())
	}
	n, err := EndAllSessions(ctx, store, now, restoreReason)
	var gen uint64
	if err == nil {
		gen, err = store.Generation()
	}
	if cerr := store.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = markInitialized(s.Data, now)
	}
	if err == nil {
		err = recordGeneration(s.Data, gen, now)
	}
	return n, err
}

// EndAllSessions ends every active session of store at now, revoking each
// of its tokens, and records why in the audit log. It returns how many
// sessions it ended.
func EndAllSessions(ctx context.Context, store storage.Store, now time.Time, reason string) (int, error) {
	sess, err := store.ListSessions(ctx, storage.SessionFilter{Status: storage.SessionActive})
	if err != nil {
		return 0, err
	}
	const batch = 200
	for i := 0; i < len(sess); i += batch {
		part := sess[i:min(i+batch, len(sess))]
		err := store.Update(ctx, func(w storage.Writer) error {
			for _, s := range part {
				if err := endSession(ctx, w, s.ID, now, reason); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return i, err
		}
	}
	return len(sess), nil
}

func endSession(ctx context.Context, w storage.Writer, sid string, now time.Time, reason string) error {
	s, err := w.GetSession(ctx, sid)
	if err != nil {
		return err
	}
	s.Status, s.TerminatedAt, s.Reason = storage.SessionTerminated, now, reason
	if err := w.PutSession(ctx, s); err != nil {
		return err
	}
	toks, err := w.ListSessionTokens(ctx, sid)
	if err != nil {
		return err
	}
	for _, t := range toks {
		if t.RevokedAt.IsZero() {
			t.RevokedAt = now
			if err := w.PutToken(ctx, t); err != nil {
				return err
			}
		}
	}
	return w.AppendAudit(ctx, storage.AuditRecord{At: now, Type: "terminate", ClientID: s.ClientID, SessionID: sid,
		Outcome: "terminated", Reason: reason})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// CheckFile opens the database file at path (the server stopped) and runs
// its consistency check.
func CheckFile(path string) error {
	if _, err := os.Stat(path); err != nil {
		return err
	}
	store, err := bolt.Open(path, bolt.WithLockTimeout(lockTimeout))
	if errors.Is(err, bolt.ErrLocked) {
		return fmt.Errorf("%s is in use by a running server: take a backup (vigil db backup FILE) and check that", path)
	}
	if err != nil {
		return damaged(path, err)
	}
	err = store.Check()
	if cerr := store.Close(); err == nil && cerr != nil {
		return cerr
	}
	if err != nil {
		return damaged(path, err)
	}
	return nil
}

package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/storage/bolt"
)

// MarkerFile, in the data directory, records that a database was created
// there. A data directory that has it (or a key-encryption key or admin
// token) but no database lost its database: the server refuses to start a
// new, empty one there unless told to initialize (WithInit, serve --init).
const MarkerFile = "vigil.initialized"

// WithInit allows OpenState to create a new, empty database in a data
// directory that says it held one (serve --init).
func WithInit() Option { return func(o *openOptions) { o.init = true } }

// ErrNoDatabase reports a data directory that held a database which is
// gone (moved, deleted, or the wrong directory).
var ErrNoDatabase = errors.New("the data directory held a database that is not there")

// ErrOlderCopy reports a database file older than one the data directory
// already served, with both meta pages intact: a copy put back by hand.
var ErrOlderCopy = errors.New("the database file is an older copy than the one this data directory served")

// ErrDamaged reports a database file that fails its consistency check.
var ErrDamaged = errors.New("the database file is damaged")

// checkDataDir refuses to let a new, empty database be created where one
// existed (a marker says so, or the configuration: data_required), unless
// init is set.
func checkDataDir(dir string, init, required bool) error {
	db := filepath.Join(dir, DBFile)
	if fi, err := os.Stat(db); err == nil && fi.Size() > 0 {
		return nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("data directory: %w", err)
	}
	if init {
		return nil
	}
	if required {
		return fmt.Errorf("%w: %s has no %s (or it is empty), and data_required says it holds one. The database "+
			"was moved or deleted, or --data names the wrong directory (a new volume?). Put the database back, "+
			"restore a backup (vigil db restore FILE --data %s; see docs/OPERATIONS.md), or start a new, empty "+
			"server with --init", ErrNoDatabase, dir, DBFile, dir)
	}
	for _, name := range []string{MarkerFile, kekFile, AdminTokenFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return fmt.Errorf("%w: %s has no %s (or it is empty) but holds %s. The database was moved or deleted, "+
				"or --data names the wrong directory. Put the database back, restore a backup "+
				"(vigil db restore FILE --data %s; see docs/OPERATIONS.md), or start a new, empty server with --init",
				ErrNoDatabase, dir, DBFile, name, dir)
		}
	}
	return nil
}

// markInitialized records that dir holds a database.
func markInitialized(dir string, now time.Time) error {
	path := filepath.Join(dir, MarkerFile)
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	err := os.WriteFile(path, []byte("database created or restored "+now.UTC().Format(time.RFC3339)+"\n"), 0o600)
	if err != nil {
		return fmt.Errorf("data directory: write %s: %w", path, err)
	}
	return nil
}

// The marker also holds the highest generation (bolt.Store.Generation) the
// directory's database was seen at: at open, every few seconds while the
// server runs, at close and after a restore. A database file found at a
// lower generation is an older copy put in place by hand; serving it would
// bring back every token revoked and session ended since the copy was
// taken, so it is refused (ErrOlderCopy) and the way out is vigil db
// restore, which ends every session the copy cannot vouch for.
const generationPrefix = "generation "

// readGeneration returns the generation the marker of dir records, if any.
func readGeneration(dir string) (uint64, bool) {
	b, err := os.ReadFile(filepath.Join(dir, MarkerFile))
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), generationPrefix); ok {
			g, err := strconv.ParseUint(v, 10, 64)
			return g, err == nil
		}
	}
	return 0, false
}

// recordGeneration writes gen into the marker of dir, keeping its first
// line; the marker is replaced whole (written and fsynced beside it, then
// renamed).
func recordGeneration(dir string, gen uint64, now time.Time) error {
	path := filepath.Join(dir, MarkerFile)
	first := "database created or restored " + now.UTC().Format(time.RFC3339)
	if b, err := os.ReadFile(path); err == nil {
		if l, _, _ := strings.Cut(string(b), "\n"); l != "" && !strings.HasPrefix(l, generationPrefix) {
			first = l
		}
	}
	tmp := path + ".tmp"
	body := first + "\n" + generationPrefix + strconv.FormatUint(gen, 10) + "\n"
	if err := WriteSynced(tmp, []byte(body)); err != nil {
		return fmt.Errorf("data directory: write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	return nil
}

// WriteSynced replaces the file at path (mode 0600) with b and fsyncs it,
// so that a crash after a rename that follows never leaves an empty file.
func WriteSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// lostCommitsReason is the reason recorded on the sessions ended because
// the database lost its latest commits.
const lostCommitsReason = "the database lost its latest commits (a damaged meta page)"

// lostCommits handles a database whose newer meta page is damaged, so that
// bbolt opened it at the commit before: what the lost commits did (a
// revocation, a termination, a rotation) is unknown, so, as after a
// restore, every session is ended and every token revoked.
func lostCommits(ctx context.Context, store *bolt.Store, dir string, now time.Time, log *slog.Logger) error {
	n, err := EndAllSessions(ctx, store, now, lostCommitsReason)
	if err != nil {
		return fmt.Errorf("%s: ending the sessions of a database that lost its latest commits: %w", dir, err)
	}
	log.Warn("the database's newer meta page is damaged: it was opened at the commit before, and every session "+
		"it holds was ended (clients get new tokens); see docs/OPERATIONS.md", "path", filepath.Join(dir, DBFile), "sessions", n)
	return nil
}

// checkGeneration refuses a database file older than the marker says the
// directory served.
func checkGeneration(dir string, gen uint64) error {
	seen, ok := readGeneration(dir)
	if !ok || gen >= seen {
		return nil
	}
	db := filepath.Join(dir, DBFile)
	return fmt.Errorf("%w: %s is at generation %d, but this data directory already served generation %d. "+
		"It is an older copy put in its place by hand (a backup?); serving it would bring back tokens revoked "+
		"and sessions ended since the copy was taken. Restore it with vigil db restore, which ends every "+
		"session the copy cannot vouch for: mv %s %s.copy && vigil db restore %s.copy --data %s, or in place: "+
		"vigil db end-sessions --data %s (see docs/OPERATIONS.md)",
		ErrOlderCopy, db, gen, seen, db, db, db, dir, dir)
}

// verifyStore runs the database's consistency check at open; a damaged
// file is refused with the way out.
func verifyStore(store *bolt.Store, path string) error {
	if err := store.Check(); err != nil {
		return damaged(path, err)
	}
	return nil
}

func damaged(path string, err error) error {
	return fmt.Errorf("%w: %s: %v. Vigil will not serve from it. Keep the file for analysis and restore "+
		"the latest backup (vigil db restore FILE; see docs/OPERATIONS.md)", ErrDamaged, path, err)
}

// openVerified opens the bbolt file of dir after checking that a missing
// database is meant to be new, verifies it, and marks dir initialized.
func openVerified(ctx context.Context, dir string, init, required bool, now time.Time, log *slog.Logger, opts ...bolt.Option) (*bolt.Store, error) {
	if err := checkDataDir(dir, init, required); err != nil {
		return nil, err
	}
	fi, err := os.Stat(filepath.Join(dir, DBFile))
	existed := err == nil && fi.Size() > 0
	if !existed {
		// Info, not a warning: it is also every first start. data_required
		// turns it into a refusal once the directory should hold a database.
		log.Info("no database in the data directory: creating a new, empty one (new signing keys; a new admin "+
			"credential unless one is configured). If this directory should hold a database, stop and restore it; "+
			"set data_required: true to have this refused", "path", filepath.Join(dir, DBFile))
	}
	store, err := openBoltFile(dir, log, opts...)
	if err != nil {
		if errors.Is(err, bolt.ErrLocked) {
			return nil, err
		}
		return nil, damaged(filepath.Join(dir, DBFile), err)
	}
	if err := verifyStore(store, filepath.Join(dir, DBFile)); err != nil {
		return nil, errors.Join(err, store.Close())
	}
	gen, err := store.Generation()
	if err == nil && existed {
		err = checkGeneration(dir, gen)
		if damaged, _ := bolt.MetaDamaged(filepath.Join(dir, DBFile)); errors.Is(err, ErrOlderCopy) && damaged {
			// bbolt fell back to the older meta page: the file is whole, but
			// its latest commits are lost. It is served as a restored one.
			err = lostCommits(ctx, store, dir, now, log)
			if err == nil {
				gen, err = store.Generation()
			}
		}
	}
	if err == nil {
		err = markInitialized(dir, now)
	}
	if err == nil {
		err = recordGeneration(dir, gen, now)
	}
	if err != nil {
		return nil, errors.Join(err, store.Close())
	}
	return store, nil
}

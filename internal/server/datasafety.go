package server

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
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

// ErrDamaged reports a database file that fails its consistency check.
var ErrDamaged = errors.New("the database file is damaged")

// checkDataDir refuses to let a new, empty database be created where one
// existed, unless init is set.
func checkDataDir(dir string, init bool) error {
	db := filepath.Join(dir, DBFile)
	if fi, err := os.Stat(db); err == nil && fi.Size() > 0 {
		return nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("data directory: %w", err)
	}
	if init {
		return nil
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
func openVerified(dir string, init bool, now time.Time, log *slog.Logger) (*bolt.Store, error) {
	if err := checkDataDir(dir, init); err != nil {
		return nil, err
	}
	store, err := openBoltFile(dir, log)
	if err != nil {
		if errors.Is(err, bolt.ErrLocked) {
			return nil, err
		}
		return nil, damaged(filepath.Join(dir, DBFile), err)
	}
	if err := verifyStore(store, filepath.Join(dir, DBFile)); err != nil {
		return nil, errors.Join(err, store.Close())
	}
	if err := markInitialized(dir, now); err != nil {
		return nil, errors.Join(err, store.Close())
	}
	return store, nil
}

package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/internal/secret"
	"github.com/vigil-auth/vigil/keys"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/bolt"
)

// Files in the data directory.
const (
	dbFile         = "vigil.db"
	kekFile        = "kek"
	adminTokenFile = "admin-token"
	// adminTokenPrefix starts generated admin tokens.
	adminTokenPrefix = "vat_"
	// lockTimeout is how long a second process waits for the data file.
	lockTimeout = time.Second
)

// Labels for keys derived from the key-encryption key, one per use.
const (
	labelClientSecrets = "vigil client secrets"
	labelRefreshTokens = "vigil refresh tokens"
)

// state is what lives in the data directory: the store, signing keys,
// derived keys and the admin token.
type state struct {
	store      *bolt.Store
	keys       *keys.Manager
	hasher     *secret.Hasher
	refreshKey []byte
	adminToken string
	journal    *riskJournal // set once the risk engine is restored
}

// openState opens (creating on first start) the data directory s.Data:
// the bbolt store, the key-encryption key, the signing keys and the admin
// token. A data directory in use by another process fails fast.
func openState(ctx context.Context, s config.Settings, getenv func(string) string, log *slog.Logger, now func() time.Time) (*state, error) {
	if err := ensureDataDir(s.Data, log); err != nil {
		return nil, err
	}
	store, err := openStore(s.Data, log)
	if err != nil {
		return nil, err
	}
	st, err := initState(ctx, store, s, getenv, log, now)
	if err != nil {
		return nil, errors.Join(err, store.Close())
	}
	return st, nil
}

func initState(ctx context.Context, store *bolt.Store, s config.Settings, getenv func(string) string, log *slog.Logger, now func() time.Time) (*state, error) {
	kek, err := keys.LoadKEK(getenv, filepath.Join(s.Data, kekFile))
	if err != nil {
		return nil, err
	}
	km, err := keys.Open(ctx, store, kek, keys.Config{Alg: s.KeyAlg, RotateAfter: s.KeyRotateAfter,
		MaxTokenTTL: storage.MaxAccessTokenTTL}, keys.WithLogger(log), keys.WithClock(now))
	if err != nil {
		return nil, err
	}
	h, err := secret.NewHasher(derive(kek, labelClientSecrets))
	if err != nil {
		return nil, err
	}
	tok, err := loadAdminToken(filepath.Join(s.Data, adminTokenFile), log)
	if err != nil {
		return nil, err
	}
	return &state{store: store, keys: km, hasher: h, refreshKey: derive(kek, labelRefreshTokens), adminToken: tok}, nil
}

func (st *state) close(log *slog.Logger) {
	if err := st.store.Close(); err != nil {
		log.Error("closing the store failed", "err", err)
	}
}

// derive returns HMAC-SHA256(kek, label): a key for one purpose.
func derive(kek []byte, label string) []byte {
	m := hmac.New(sha256.New, kek)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// ensureDataDir creates dir with mode 0700, and warns when an existing one
// is open to group or others.
func ensureDataDir(dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		log.Warn("data directory is accessible to other users; chmod 700 it", "path", dir, "mode", fi.Mode().Perm().String())
	}
	return nil
}

// openStore opens the bbolt file, turning a held lock into a clear message.
func openStore(dir string, log *slog.Logger) (*bolt.Store, error) {
	path := filepath.Join(dir, dbFile)
	store, err := bolt.Open(path, bolt.WithLockTimeout(lockTimeout), bolt.WithLogger(log))
	if errors.Is(err, bolt.ErrLocked) {
		return nil, fmt.Errorf("%s is in use by another vigil process; stop it or use another --data directory: %w", path, err)
	}
	return store, err
}

// loadAdminToken reads the admin token file, creating it (mode 0600, a
// generated token) on first start. The token itself is never logged.
func loadAdminToken(path string, log *slog.Logger) (string, error) {
	tok, err := readSecretFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return tok, err
	}
	tok = secret.Generate(adminTokenPrefix)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readSecretFile(path) // another process created it first
	}
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	_, err = f.WriteString(tok + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("admin token: write %s: %w", path, err)
	}
	log.Info("admin token created; send it as \"Authorization: Bearer <token>\" to /admin/ (the CLI reads the file)", "path", path)
	return tok, nil
}

// readSecretFile reads a one-line secret from a file that only its owner
// may read or write.
func readSecretFile(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s is accessible to other users (mode %s); chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return tok, nil
}

// warnIfReadable warns when a configuration file holding client secrets
// may be misused by other local users: always when others may write it (they
// could declare a client of their own), and when others may read it while
// the server listens beyond loopback. A development server on loopback,
// such as `make run` with the example file from a fresh checkout (mode
// 0644), is not warned about: its secrets are examples.
func warnIfReadable(path string, f *config.File, listen string, log *slog.Logger) {
	fi, err := os.Stat(path)
	if err != nil {
		return
	}
	if msg := fileModeWarning(fi.Mode().Perm(), hasSecrets(f), listen); msg != "" {
		log.Warn(msg, "path", path, "mode", fmt.Sprintf("%04o", fi.Mode().Perm()))
	}
}

func hasSecrets(f *config.File) bool {
	for _, c := range f.Clients {
		if c.Secret != "" {
			return true
		}
	}
	return false
}

// fileModeWarning returns the warning for a configuration file of mode
// perm, or "" when there is nothing to warn about.
func fileModeWarning(perm os.FileMode, secrets bool, listen string) string {
	switch {
	case !secrets:
		return ""
	case perm&0o022 != 0:
		return "configuration file holds client secrets and other users may change it; chmod 600 it"
	case perm&0o044 != 0 && !loopbackListen(listen):
		return "configuration file holds client secrets and is readable by other users; chmod 600 it"
	}
	return ""
}

// loopbackListen reports whether listen (host:port) accepts connections
// from this machine only.
func loopbackListen(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

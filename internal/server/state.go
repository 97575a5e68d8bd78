package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/internal/secret"
	"github.com/vigil-auth/vigil/keys"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/bolt"
	"github.com/vigil-auth/vigil/storage/postgres"
)

// Files in the data directory.
const (
	// DBFile is the bbolt data file in the data directory.
	DBFile = "vigil.db"
	// AdminTokenFile holds the generated admin token in the data directory.
	AdminTokenFile = "admin-token"
	kekFile        = "kek"
	// adminTokenPrefix starts generated admin tokens.
	adminTokenPrefix = "vat_"
	// lockTimeout is how long a second process waits for the data file.
	lockTimeout = time.Second
)

// AdminTokenEnv, when set, is the admin credential every instance accepts;
// the data directory's admin-token file is then neither read nor created.
const AdminTokenEnv = "VIGIL_ADMIN_TOKEN"

// Labels for keys derived from the key-encryption key, one per use.
const (
	labelClientSecrets = "vigil client secrets"
	labelRefreshTokens = "vigil refresh tokens"
	labelClusterPeers  = "vigil cluster peers"
)

// State is what a server runs on: the store, the signing keys, the keys
// derived from the key-encryption key, and the admin credential.
type State struct {
	store      storage.Store
	keys       *keys.Manager
	hasher     *secret.Hasher
	refreshKey []byte
	// peerKey authenticates the instances of a cluster to each other.
	peerKey    []byte
	adminToken string
	// adminDigest is the hex SHA-256 of the cluster's admin token, stored
	// in a shared database, when no admin token is configured.
	adminDigest string
	ownStore    bool // Close closes store
	// file is the bbolt store of data directory dir, whose generation
	// markGeneration records; nil for a PostgreSQL or given store.
	file   *bolt.Store
	dir    string
	marked atomic.Uint64
	now    func() time.Time // the marker's clock
}

// generationEvery is how often a running server records its database's
// generation in the data directory's marker.
const generationEvery = 5 * time.Second

// markGeneration records the database's generation in the data directory's
// marker when it grew: an older copy of the file put in its place later is
// then refused at open (checkGeneration).
func (st *State) markGeneration(log *slog.Logger) {
	if st.file == nil {
		return
	}
	gen, err := st.file.Generation()
	if err != nil || gen <= st.marked.Load() {
		return
	}
	if err := recordGeneration(st.dir, gen, st.now()); err != nil {
		log.Warn("recording the database generation failed", "err", err)
		return
	}
	st.marked.Store(gen)
}

// Store returns the opened store.
func (st *State) Store() storage.Store { return st.store }

// Keys returns the signing key manager.
func (st *State) Keys() *keys.Manager { return st.keys }

// Hasher returns the client-secret hasher.
func (st *State) Hasher() *secret.Hasher { return st.hasher }

// AdminToken returns the admin credential ("" if the admin API is off).
func (st *State) AdminToken() string { return st.adminToken }

// Close closes the store, unless it was given with [WithStore].
func (st *State) Close() error {
	if !st.ownStore {
		return nil
	}
	st.markGeneration(slog.New(slog.DiscardHandler))
	return st.store.Close()
}

// OpenState opens (creating on first start) the state s names: the data
// directory s.Data with its bbolt store, the key-encryption key
// (VIGIL_SECRET or the kek file), the signing keys and the admin token. A
// data directory in use by another process fails fast.
func OpenState(ctx context.Context, s config.Settings, opts ...Option) (*State, error) {
	o := options(opts)
	if err := ensureDataDir(s.Data, o.log); err != nil {
		return nil, err
	}
	if o.store != nil {
		return initState(ctx, o.store, s, o)
	}
	store, err := openConfigured(ctx, s, o)
	if err != nil {
		return nil, err
	}
	st, err := initState(ctx, store, s, o)
	if err != nil {
		return nil, errors.Join(err, store.Close())
	}
	st.ownStore = true
	if b, ok := store.(*bolt.Store); ok {
		st.file, st.dir, st.now = b, s.Data, o.now
	}
	return st, nil
}

func initState(ctx context.Context, store storage.Store, s config.Settings, o openOptions) (*State, error) {
	kekPath := filepath.Join(s.Data, kekFile)
	if config.IsPostgres(s.Store) {
		kekPath = "" // instances share the keys: only the shared secret will do
	}
	kek, err := keys.LoadKEK(o.getenv, kekPath)
	if err != nil {
		if kekPath == "" {
			err = fmt.Errorf("a shared store needs %s, the same on every instance: %w", keys.SecretEnv, err)
		}
		return nil, err
	}
	km, err := keys.Open(ctx, store, kek, keys.Config{Alg: s.KeyAlg, RotateAfter: s.KeyRotateAfter,
		MaxTokenTTL: storage.MaxAccessTokenTTL}, keys.WithLogger(o.log), keys.WithClock(o.now))
	if err != nil {
		return nil, err
	}
	h, err := secret.NewHasher(derive(kek, labelClientSecrets))
	if err != nil {
		return nil, err
	}
	st := &State{store: store, keys: km, hasher: h, refreshKey: derive(kek, labelRefreshTokens),
		peerKey: derive(kek, labelClusterPeers)}
	st.adminToken = o.getenv(AdminTokenEnv)
	switch shared, ok := store.(sharedValues); {
	case st.adminToken != "":
	case ok && config.IsPostgres(s.Store):
		st.adminDigest, err = sharedAdminDigest(ctx, shared, filepath.Join(s.Data, AdminTokenFile), o.log)
	default:
		st.adminToken, err = LoadAdminToken(filepath.Join(s.Data, AdminTokenFile), o.log)
	}
	if err != nil {
		return nil, err
	}
	return st, nil
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

// openConfigured opens the store s names: a PostgreSQL database, or the bbolt
// file in the data directory.
func openConfigured(ctx context.Context, s config.Settings, o openOptions) (storage.Store, error) {
	if config.IsPostgres(s.Store) {
		return postgres.Open(ctx, s.Store, postgres.WithLogger(o.log))
	}
	return openVerified(ctx, s.Data, o.init, s.DataRequired, o.now(), o.log, bolt.WithCacheBudget(mib(s.DataCacheMiB)))
}

// openBoltFile opens the bbolt file, turning a held lock into a clear message.
// A serving store passes its page-cache budget (bolt.WithCacheBudget, the
// data_cache_mib setting); offline tools pass none.
func openBoltFile(dir string, log *slog.Logger, opts ...bolt.Option) (*bolt.Store, error) {
	path := filepath.Join(dir, DBFile)
	opts = append([]bolt.Option{bolt.WithLockTimeout(lockTimeout), bolt.WithLogger(log)}, opts...)
	store, err := bolt.Open(path, opts...)
	if errors.Is(err, bolt.ErrLocked) {
		return nil, fmt.Errorf("%s is in use by another vigil process; stop it or use another --data directory: %w", path, err)
	}
	return store, err
}

// LoadAdminToken reads the admin token file, creating it (mode 0600, a
// generated token) on first start. The token itself is never logged.
func LoadAdminToken(path string, log *slog.Logger) (string, error) {
	tok, err := ReadSecretFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return tok, err
	}
	tok = secret.Generate(adminTokenPrefix)
	if err := writeSecretFile(path, tok); errors.Is(err, fs.ErrExist) {
		return ReadSecretFile(path) // another process created it first
	} else if err != nil {
		return "", err
	}
	log.Info("admin token created; send it as \"Authorization: Bearer <token>\" to /admin/ (the CLI reads the file)", "path", path)
	return tok, nil
}

// writeSecretFile creates path (mode 0600) holding tok, fsynced; it fails
// with fs.ErrExist if path exists.
func writeSecretFile(path, tok string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("admin token: %w", err)
	}
	_, err = f.WriteString(tok + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("admin token: write %s: %w", path, err)
	}
	return nil
}

// ReadSecretFile reads a one-line secret from a file that only its owner
// may read or write.
func ReadSecretFile(path string) (string, error) {
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

// mib returns n MiB in bytes, at most math.MaxInt64 rounded down to a MiB
// (so a huge data_cache_mib is no bound, never a wrapped small one).
func mib(n int) int64 { return min(int64(n), math.MaxInt64>>20) << 20 }

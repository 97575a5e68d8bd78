package keys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// DefaultMaxTokenTTL is how long a retired key stays published when
// Config.MaxTokenTTL is zero.
const DefaultMaxTokenTTL = 24 * time.Hour

// DefaultLeeway is the clock skew Verify allows on exp, nbf and iat.
const DefaultLeeway = 10 * time.Second

// Store is the part of storage.Store the Manager uses; storage.Store
// satisfies it.
type Store interface {
	// ListKeys returns every signing key.
	ListKeys(ctx context.Context) ([]storage.Key, error)
	// Update runs fn in one atomic transaction; fn may run more than once.
	Update(ctx context.Context, fn func(w storage.Writer) error) error
}

// Config says how signing keys are made and rotated.
type Config struct {
	// Alg is the signing algorithm: "ES256" (default) or "EdDSA".
	Alg string
	// RotateAfter is the active key's age at which RotateIfDue rotates it;
	// zero never rotates by age.
	RotateAfter time.Duration
	// MaxTokenTTL is how long a retired key stays published: at least the
	// longest lifetime of any token it signed. Zero means DefaultMaxTokenTTL.
	MaxTokenTTL time.Duration
}

// withDefaults fills the zero fields of c.
func (c Config) withDefaults() Config {
	if c.Alg == "" {
		c.Alg = ES256
	}
	if c.MaxTokenTTL == 0 {
		c.MaxTokenTTL = DefaultMaxTokenTTL
	}
	return c
}

// Validate reports every problem with c (zero fields are taken as defaults).
func (c Config) Validate() error {
	var errs []error
	if c.Alg != "" && c.Alg != ES256 && c.Alg != EdDSA {
		errs = append(errs, fmt.Errorf("keys: alg %q: want %s or %s", c.Alg, ES256, EdDSA))
	}
	if c.RotateAfter < 0 {
		errs = append(errs, errors.New("keys: rotate_after must not be negative"))
	}
	if c.MaxTokenTTL < 0 {
		errs = append(errs, errors.New("keys: max_token_ttl must not be negative"))
	}
	return errors.Join(errs...)
}

// An Option replaces one of the Manager's defaults.
type Option func(*Manager)

// WithClock sets the time source. The default is time.Now.
func WithClock(now func() time.Time) Option { return func(m *Manager) { m.now = now } }

// WithLogger sets the logger; nil keeps the default, which discards.
func WithLogger(l *slog.Logger) Option {
	return func(m *Manager) {
		if l != nil {
			m.log = l
		}
	}
}

// WithLeeway sets the clock skew Verify allows. The default is DefaultLeeway.
func WithLeeway(d time.Duration) Option { return func(m *Manager) { m.leeway = d } }

// Manager holds Vigil's signing keys: one active key that signs, and retired
// keys that stay published (and verify) until PublishUntil. It is safe for
// concurrent use; Sign, Verify, JWKS and SigningAlgs never touch the store.
type Manager struct {
	store  Store
	kek    []byte
	cfg    Config
	now    func() time.Time
	log    *slog.Logger
	leeway time.Duration

	mu   sync.Mutex // serialises Reload and rotations
	ring atomic.Pointer[keyring]
}

// Open loads the keys in store, decrypting the active key with kek. When the
// store holds no active key, or the active key's algorithm is not cfg.Alg,
// Open creates a new key (retiring the old one) and persists it. A wrong kek
// makes Open fail with ErrKeyDecrypt.
func Open(ctx context.Context, store Store, kek []byte, cfg Config, opts ...Option) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(kek) != KEKSize {
		return nil, fmt.Errorf("keys: key-encryption key is %d bytes, want %d", len(kek), KEKSize)
	}
	m := &Manager{
		store: store, kek: append([]byte(nil), kek...), cfg: cfg.withDefaults(),
		now: time.Now, log: slog.New(slog.DiscardHandler), leeway: DefaultLeeway,
	}
	for _, opt := range opts {
		opt(m)
	}
	if _, err := m.rotate(ctx, m.needsKey); err != nil {
		return nil, err
	}
	return m, nil
}

// needsKey reports whether there is no usable active key for the configured
// algorithm.
func (m *Manager) needsKey(active *storage.Key, _ time.Time) bool {
	return active == nil || active.Alg != m.cfg.Alg
}

// isDue reports whether the active key is at least RotateAfter old.
func (m *Manager) isDue(active *storage.Key, now time.Time) bool {
	if m.needsKey(active, now) {
		return true
	}
	return m.cfg.RotateAfter > 0 && !now.Before(active.CreatedAt.Add(m.cfg.RotateAfter))
}

// Rotate makes a new active key. The previous active key is retired and
// stays published until now + MaxTokenTTL.
func (m *Manager) Rotate(ctx context.Context) error {
	_, err := m.rotate(ctx, func(*storage.Key, time.Time) bool { return true })
	return err
}

// RotateIfDue rotates when the active key is older than RotateAfter, and
// reports whether it did. The age is re-checked inside the store
// transaction, so several processes sharing a store rotate once.
func (m *Manager) RotateIfDue(ctx context.Context) (bool, error) {
	if m.cfg.RotateAfter == 0 {
		return false, nil
	}
	if ring := m.ring.Load(); ring != nil && m.now().Before(ring.active.createdAt.Add(m.cfg.RotateAfter)) {
		return false, nil
	}
	return m.rotate(ctx, m.isDue)
}

// Reload reads the keys again, picking up rotations made by another process
// sharing the store (for example the `vigil keys rotate` command).
func (m *Manager) Reload(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reloadLocked(ctx)
}

// reloadLocked rebuilds the keyring from the store; m.mu is held.
func (m *Manager) reloadLocked(ctx context.Context) error {
	recs, err := m.store.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("keys: list keys: %w", err)
	}
	ring, err := buildKeyring(m.kek, recs, m.ring.Load())
	if err != nil {
		return err
	}
	m.ring.Store(ring)
	return nil
}

// rotate adds a new active key when due(active, now) holds inside the
// store transaction, then reloads. It reports whether it rotated.
func (m *Manager) rotate(ctx context.Context, due func(active *storage.Key, now time.Time) bool) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	next, err := newKeyRecord(m.kek, m.cfg.Alg, now)
	if err != nil {
		return false, err
	}
	var retired string
	err = m.store.Update(ctx, func(w storage.Writer) error {
		var txErr error
		retired, txErr = m.rotateTx(ctx, w, next, now, due)
		return txErr
	})
	if err != nil {
		return false, fmt.Errorf("keys: rotate: %w", err)
	}
	if err := m.reloadLocked(ctx); err != nil {
		return false, err
	}
	if retired == noRotation {
		return false, nil
	}
	if retired == "" {
		m.log.InfoContext(ctx, "signing key created", "kid", next.ID, "alg", next.Alg)
	} else {
		m.log.InfoContext(ctx, "signing key rotated", "kid", next.ID, "alg", next.Alg, "retired_kid", retired)
	}
	return true, nil
}

// noRotation is what rotateTx returns when the rotation was not due.
const noRotation = "\x00none"

// rotateTx retires every active key and stores next, unless due says no.
// It returns the retired key ID ("" when there was none), or noRotation.
func (m *Manager) rotateTx(ctx context.Context, w storage.Writer, next storage.Key, now time.Time, due func(*storage.Key, time.Time) bool) (string, error) {
	recs, err := w.ListKeys(ctx)
	if err != nil {
		return "", fmt.Errorf("list keys: %w", err)
	}
	act, ok := activeRecord(recs)
	if !due(activePtr(act, ok), now) {
		return noRotation, nil
	}
	for _, k := range recs {
		if !k.RetiredAt.IsZero() {
			continue
		}
		k.RetiredAt, k.PublishUntil = now.UTC(), now.Add(m.cfg.MaxTokenTTL).UTC()
		if err := w.PutKey(ctx, k); err != nil {
			return "", fmt.Errorf("retire key %s: %w", k.ID, err)
		}
	}
	if err := w.PutKey(ctx, next); err != nil {
		return "", fmt.Errorf("store key %s: %w", next.ID, err)
	}
	return act.ID, nil
}

// activePtr returns &k when ok, else nil.
func activePtr(k storage.Key, ok bool) *storage.Key {
	if !ok {
		return nil
	}
	return &k
}

// JWKS returns the JWK Set to publish (RFC 7517): the public keys of the
// active key and of retired keys before their PublishUntil, each with kid,
// alg and use "sig". The returned slice must not be modified.
func (m *Manager) JWKS() []byte { return m.ring.Load().jwks(m.now()) }

// SigningAlgs returns the algorithms of the published keys, the active
// key's first: what a verifier of Vigil's tokens must accept.
func (m *Manager) SigningAlgs() []string {
	algs := m.ring.Load().algs(m.now())
	out := make([]string, len(algs))
	for i, a := range algs {
		out[i] = string(a)
	}
	return out
}

// ActiveKeyID returns the key ID that Sign uses now.
func (m *Manager) ActiveKeyID() string { return m.ring.Load().active.kid }

// ActiveKeyCreated returns when the active signing key was made (for the
// key-age metric).
func (m *Manager) ActiveKeyCreated() time.Time { return m.ring.Load().active.createdAt }

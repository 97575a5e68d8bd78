// Package memory is an in-memory [storage.Store]: the reference semantics
// for every backend, and the store used by tests and development servers.
// Nothing survives Close or a restart.
//
// Records live in maps guarded by one sync.RWMutex. Reads share the lock;
// [Store.Update] holds it exclusively while fn runs, buffering fn's writes
// in an overlay that is applied only when fn returns nil, so an aborted
// update writes nothing and concurrent read-modify-write updates never lose
// each other's changes. Every record is deep-copied on the way in and out.
//
// It imports nothing from this module but storage.
package memory

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

var _ storage.Store = (*Store)(nil)

// Store is an in-memory storage.Store. It is safe for concurrent use. The
// zero value is not usable; call [New].
type Store struct {
	mu        sync.RWMutex
	d         *data
	view      *tx // read-only view of d with an empty overlay
	closed    bool
	retention time.Duration
}

// An Option replaces one of Store's defaults.
type Option func(*Store)

// WithRetention keeps expired tokens, sessions, single-use identifiers and
// events for d after they expire before DeleteExpired removes them. The
// default is 0: they are removable as soon as they expire.
func WithRetention(d time.Duration) Option { return func(s *Store) { s.retention = d } }

// New returns an empty Store.
func New(opts ...Option) *Store {
	d := newData()
	s := &Store{d: d, view: newTx(d)}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Update runs fn with exclusive access to the store. fn's writes are
// buffered and applied together only if fn returns nil; otherwise nothing
// is written and fn's error is returned. fn runs exactly once here, but the
// [storage.Store] contract allows backends to run it more than once. fn
// must read and write through w only: calling the Store from fn deadlocks.
// The Writer must not be used after fn returns.
func (s *Store) Update(ctx context.Context, fn func(w storage.Writer) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(ctx); err != nil {
		return err
	}
	t := newTx(s.d)
	defer func() { t.done = true }()
	if err := fn(t); err != nil {
		return err
	}
	t.commit()
	return nil
}

// DeleteExpired removes tokens and single-use identifiers whose expiry is
// at or before now minus the retention, then sessions that expired by then
// and have no tokens left, together with their events. It returns how many
// records (tokens, identifiers, sessions and events) it removed.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(ctx); err != nil {
		return 0, err
	}
	return s.d.deleteExpired(now.Add(-s.retention)), nil
}

// Close releases the store's records. Every later call returns an error
// matching storage.ErrUnavailable. Close is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.d = newData()
	s.view = newTx(s.d)
	return nil
}

// usable reports why the store cannot serve a call; s.mu must be held.
func (s *Store) usable(ctx context.Context) error {
	if s.closed {
		return fmt.Errorf("memory: store closed: %w", storage.ErrUnavailable)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	return nil
}

// read runs fn against the committed records under the read lock.
func read[T any](ctx context.Context, s *Store, fn func(*tx) (T, error)) (T, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(ctx); err != nil {
		var zero T
		return zero, err
	}
	return fn(s.view)
}

// expired reports whether something that expires at exp has expired at now:
// records are live while now is before their expiry, as in storage.Token.Active.
func expired(exp, now time.Time) bool { return !now.Before(exp) }

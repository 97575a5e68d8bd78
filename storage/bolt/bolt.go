// Package bolt is the durable [storage.Store]: one bbolt file, with a
// bucket per record kind and index buckets for the lookups the contract
// needs (sessions by creation time and by client, audit records by client,
// and expiry indexes that let DeleteExpired find what to remove without
// scanning). A session's record, the index of its tokens, its events and
// the index of its audit records share one bucket under the session's
// prefix, so a request that touches a session dirties one page for all of
// them. Tokens, sessions and clients, which every introspection reads, are
// stored in a compact binary form; other records as JSON. Files written in
// older layouts are migrated when opened (schema 1 rewritten, schema 2 read
// as it is).
//
// Reads run in their own read-only transaction and decode straight out of
// the memory map, so nothing returned shares memory with the file; clients
// and resources are also kept decoded in a cache that every write to them
// drops before it returns. [Store.Update] goes through a group commit:
// Updates that arrive while a commit is in progress share the next
// transaction and its one fsync, which is why fn may run more than once. I/O failures (disk full, closed store, corrupt records) are
// reported wrapped in [storage.ErrUnavailable].
//
// It imports only storage from this module, and is the only package that
// imports go.etcd.io/bbolt.
package bolt

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/vigil-auth/vigil/storage"
	bbolt "go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"
)

var _ storage.Store = (*Store)(nil)

// ErrLocked reports that another process holds the data file open. Open
// returns it (wrapped) when the file lock is not acquired in time.
var ErrLocked = errors.New("data file is in use by another process")

// Store is a storage.Store backed by one bbolt file. It is safe for
// concurrent use by many goroutines; the file is locked against other
// processes while the Store is open.
type Store struct {
	db        *bbolt.DB
	path      string
	log       *slog.Logger
	retention time.Duration
	closed    atomic.Bool
	regs      *regCache
	counts    txCounts
	commits   *committer
	cache     *cacheKeeper
}

// txCounts counts transactions, for TxCounts.
type txCounts struct {
	reads, writes, commits atomic.Uint64
	// commitNanos sums the time of committed write transactions.
	commitNanos atomic.Int64
	// lastTx is the write transaction whose commit is already counted.
	lastTx atomic.Pointer[bbolt.Tx]
}

// An Option replaces one of Open's defaults.
type Option func(*options)

type options struct {
	lockTimeout time.Duration
	batchDelay  time.Duration
	retention   time.Duration
	log         *slog.Logger
	cacheBudget int64
	cacheEvery  time.Duration
}

// WithLockTimeout sets how long Open waits for the file lock held by
// another process before failing with ErrLocked. The default is 1s; d <= 0
// keeps it (bbolt would otherwise wait forever).
func WithLockTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.lockTimeout = d
		}
	}
}

// WithBatchDelay makes each group commit wait d for more Updates to join
// before it starts. The default is no delay: Updates that arrive while a
// commit is in progress already share the next one, so the batch grows with
// the load by itself. d <= 0 keeps the default.
func WithBatchDelay(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.batchDelay = d
		}
	}
}

// WithRetention keeps expired tokens, sessions, single-use identifiers and
// events for d after they expire before DeleteExpired removes them. The
// default is 0.
func WithRetention(d time.Duration) Option { return func(o *options) { o.retention = d } }

// WithLogger sets the logger for opening, closing, expiry sweeps and I/O
// failures. The default discards everything. Record contents are never logged.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// Open opens or creates the data file at path (mode 0600) and its buckets.
// The directory must exist. If another process has the file open, Open
// fails after the lock timeout with an error matching ErrLocked.
func Open(path string, opts ...Option) (st *Store, err error) {
	defer func() {
		// bbolt panics on some damaged pages; a damaged file is an error.
		if r := recover(); r != nil {
			st, err = nil, fmt.Errorf("bolt: open %s: %w: damaged data file: %v", path, storage.ErrUnavailable, r)
		}
	}()
	o := options{lockTimeout: time.Second, log: slog.New(slog.DiscardHandler), cacheEvery: cacheCheckEvery}
	for _, opt := range opts {
		opt(&o)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: o.lockTimeout})
	if errors.Is(err, bberrors.ErrTimeout) {
		return nil, fmt.Errorf("bolt: open %s: %w (lock not acquired within %s)", path, ErrLocked, o.lockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w: %w", path, storage.ErrUnavailable, err)
	}
	if err := prepare(db, o.log); err != nil {
		return nil, errors.Join(fmt.Errorf("bolt: open %s: %w", path, err), db.Close())
	}
	o.log.Info("storage opened", "path", path)
	return &Store{db: db, path: path, log: o.log, retention: o.retention, regs: newRegCache(),
		commits: &committer{db: db, delay: o.batchDelay},
		cache:   startCacheKeeper(db, path, o.cacheBudget, o.cacheEvery, o.log)}, nil
}

// initBuckets creates missing buckets and returns the file's schema
// version, recording the current one in a new file. A version this build
// cannot read is an error.
func initBuckets(tx *bbolt.Tx) (string, error) {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return "", fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	switch v := string(meta.Get(keyVersion)); v {
	case "":
		return schemaVersion, meta.Put(keyVersion, []byte(schemaVersion))
	case schemaV1, schemaV2, schemaVersion:
		return v, nil
	default:
		return v, fmt.Errorf("data file schema version %q, this build reads %q", v, schemaVersion)
	}
}

// prepare creates missing buckets and migrates an older layout. A
// schema-2 file is current once its version says so. A current file that
// has every bucket is only read: opening commits nothing, so a file's
// generation (Generation) is the one it was closed or copied at.
func prepare(db *bbolt.DB, log *slog.Logger) error {
	var version string
	ready := false
	_ = db.View(func(tx *bbolt.Tx) error {
		for _, name := range allBuckets {
			if tx.Bucket(name) == nil {
				return nil
			}
		}
		version = string(tx.Bucket(bucketMeta).Get(keyVersion))
		ready = version == schemaVersion
		return nil
	})
	if ready {
		return nil
	}
	err := db.Update(func(tx *bbolt.Tx) error {
		var err error
		if version, err = initBuckets(tx); err == nil && version == schemaV2 {
			log.Info("storage: data file schema 2 recorded as " + schemaVersion + " (read as it is)")
			err = tx.Bucket(bucketMeta).Put(keyVersion, []byte(schemaVersion))
		}
		return err
	})
	if err == nil && version == schemaV1 {
		err = migrateV1(db, log)
	}
	return err
}

// Update runs fn in one read-write transaction, committed with any
// concurrent Updates in a single fsync (group commit: see committer). When Update returns nil, fn's writes
// are on stable storage. When fn returns an error nothing is written and
// that error is returned. fn may run more than once (when another Update in
// the same commit fails, the rest are retried) and must have no side effects
// outside w. fn must read and write through w only (calling the Store from
// fn can deadlock), and w must not be used after fn returns. A failed
// commit is reported wrapped in storage.ErrUnavailable.
//
// Clients and resources written by fn are visible to every read that
// starts after Update returns (the registration cache is dropped first).
func (s *Store) Update(ctx context.Context, fn func(w storage.Writer) error) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	s.counts.writes.Add(1)
	var fnErr error
	var ch changes
	err := s.commits.do(func(tx *bbolt.Tx) error {
		s.countCommit(tx)
		ch = changes{}
		fnErr = fn(txn{tx: tx, ch: &ch})
		return fnErr
	})
	if ch.registrations {
		s.regs.drop()
	}
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return s.ioError("update", err)
	}
	return nil
}

// countCommit counts tx's commit once, however many Updates share it, and
// the time from its first Update's start to its commit.
func (s *Store) countCommit(tx *bbolt.Tx) {
	if s.counts.lastTx.Swap(tx) != tx {
		start := time.Now()
		tx.OnCommit(func() {
			s.counts.commits.Add(1)
			s.counts.commitNanos.Add(int64(time.Since(start)))
		})
	}
}

// CommitTime returns the total time the store's write transactions took,
// each from its first Update's start to its commit (fsync included). With
// TxCounts' commits it gives the mean commit latency. Safe for concurrent
// use.
func (s *Store) CommitTime() time.Duration { return time.Duration(s.counts.commitNanos.Load()) }

// TxCounts returns how many read transactions, write transactions (Update
// calls) and commits (each one fsync, shared by the Updates batched into
// it) the store has run since it was opened. Reads served from the
// registration cache run no transaction. Safe for concurrent use.
func (s *Store) TxCounts() (reads, writes, commits uint64) {
	return s.counts.reads.Load(), s.counts.writes.Load(), s.counts.commits.Load()
}

// Close closes the data file, waiting for running transactions, and
// releases its lock. Every later call returns an error matching
// storage.ErrUnavailable. Close is idempotent.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.cache.close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("bolt: close %s: %w: %w", s.path, storage.ErrUnavailable, err)
	}
	s.log.Info("storage closed", "path", s.path)
	return nil
}

// Check runs bbolt's consistency check over the whole file (every page
// reachable exactly once, freelist consistent, keys ordered) and returns
// every problem found, joined. It reads a consistent snapshot and does not
// block writers. It reads the file ahead in file order first; with a cache
// budget (WithCacheBudget), the pages it brought in are handed back after.
func (s *Store) Check() (err error) {
	if err := s.usable(context.Background()); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil { // bbolt panics on some damaged pages
			err = fmt.Errorf("bolt: check %s: damaged page: %v", s.path, r)
		}
	}()
	err = s.db.View(func(tx *bbolt.Tx) error {
		// The check reads every page in tree order, one fault and one
		// small read each when the file is not in the page cache (bbolt
		// maps it for random access, without readahead): read it ahead
		// in file order, at the disk's sequential speed.
		readAhead(s.path, tx.Size())
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
	// The check mapped every page: with a cache budget, hand them back
	// now rather than at the next periodic look.
	s.cache.check()
	if err != nil {
		return fmt.Errorf("bolt: check %s: %w", s.path, err)
	}
	return nil
}

// Generation is the data file's last committed transaction id. It grows
// with every committed write, and a copy of the file (a backup) keeps the
// generation it was taken at: a file whose generation is lower than one
// already served from its directory is an older copy.
func (s *Store) Generation() (uint64, error) {
	if err := s.usable(context.Background()); err != nil {
		return 0, err
	}
	var g uint64
	err := s.db.View(func(tx *bbolt.Tx) error {
		g = uint64(tx.ID())
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("bolt: generation %s: %w", s.path, err)
	}
	return g, nil
}

// Backup writes a consistent copy of the whole data file to w, from one
// read transaction: writers go on meanwhile, and the copy is the state of
// one commit. It returns the bytes written.
func (s *Store) Backup(w io.Writer) (int64, error) {
	if err := s.usable(context.Background()); err != nil {
		return 0, err
	}
	var n int64
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("bolt: backup %s: %w", s.path, err)
	}
	return n, nil
}

// usable reports why the store cannot serve a call.
func (s *Store) usable(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("bolt: store closed: %w", storage.ErrUnavailable)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bolt: %w", err)
	}
	return nil
}

// ioError wraps a failure of bbolt itself in storage.ErrUnavailable and
// logs it, unless it only reports that the store was closed meanwhile.
func (s *Store) ioError(op string, err error) error {
	if !errors.Is(err, bberrors.ErrDatabaseNotOpen) {
		s.log.Error("storage failure", "op", op, "path", s.path, "err", err)
	}
	return fmt.Errorf("bolt: %s: %w: %w", op, storage.ErrUnavailable, err)
}

// view runs fn in a read-only transaction.
func (s *Store) view(ctx context.Context, fn func(r txn) error) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	s.counts.reads.Add(1)
	var fnErr error
	err := s.db.View(func(tx *bbolt.Tx) error {
		fnErr = fn(txn{tx: tx})
		return fnErr
	})
	if err != nil && fnErr == nil {
		return s.ioError("read", err)
	}
	return err
}

// read runs fn in a read-only transaction and returns its result.
func read[T any](ctx context.Context, s *Store, fn func(r txn) (T, error)) (T, error) {
	var v T
	err := s.view(ctx, func(r txn) error {
		var err error
		v, err = fn(r)
		return err
	})
	return v, err
}

// MetaDamaged reports whether exactly one of the two meta pages of the
// bbolt file at path fails its checks (magic, version, checksum). bbolt then
// opens the file at the other one: if the damaged page was the newer, the
// last commit is lost. It reads the file directly and needs no lock.
func MetaDamaged(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	buf := make([]byte, 2*maxPageSize)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return false, err
	}
	buf = buf[:n]
	size, ok0 := validMeta(buf, 0)
	if !ok0 {
		// Without the first meta page's page size, try the sizes bbolt uses.
		for _, s := range []int{os.Getpagesize(), 4096, 8192, 16384, 65536} {
			if _, ok := validMeta(buf, s); ok {
				return true, nil
			}
		}
		return false, nil
	}
	_, ok1 := validMeta(buf, size)
	return !ok1, nil
}

// maxPageSize bounds the page sizes MetaDamaged looks at.
const maxPageSize = 64 << 10

// validMeta checks the meta page at off of buf as bbolt does, returning
// the page size it records.
func validMeta(buf []byte, off int) (int, bool) {
	const (
		header   = 16 // page header
		sumAt    = 56 // the meta's checksum follows magic, version, page size, flags, root, freelist, pgid, txid
		magic    = 0xED0CDAED
		version  = 2
		metaSize = sumAt + 8
	)
	if off < 0 || off+header+metaSize > len(buf) {
		return 0, false
	}
	m := buf[off+header : off+header+metaSize]
	if binary.LittleEndian.Uint32(m[0:4]) != magic || binary.LittleEndian.Uint32(m[4:8]) != version {
		return 0, false
	}
	h := fnv.New64a()
	h.Write(m[:sumAt])
	if h.Sum64() != binary.LittleEndian.Uint64(m[sumAt:]) {
		return 0, false
	}
	size := int(binary.LittleEndian.Uint32(m[8:12]))
	return size, size > 0 && size <= maxPageSize
}

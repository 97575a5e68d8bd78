// Package postgres is a [storage.Store] on PostgreSQL, for running several
// Vigil instances on one database. It passes the same conformance suite as
// the bbolt and memory stores.
//
// Each record is kept as its JSON document next to the columns its lists
// filter and order by; times are nanoseconds since the epoch, because
// timestamptz keeps only microseconds. The schema is embedded and migrated
// on [Open] by goose with its table locker (no advisory locks).
//
// [Store.Update] runs fn in a READ COMMITTED transaction. Reading a token or
// a session through the Writer locks its row (SELECT … FOR UPDATE), so two
// instances rotating one refresh token, or changing one session, take
// turns; reading the signing keys through the Writer locks the key table,
// so key rotations take turns too. A serialization failure or a deadlock
// runs fn again, as the contract allows.
//
// Every change that alters an answer on another instance (a token changed,
// a session terminated or given facts, a registration or signing key
// changed) adds a row to the changes table in the same transaction and
// wakes the other instances with NOTIFY; see [Feed]. Registrations, access
// tokens and sessions are cached in process and answer from the cache only
// while the feed is fresh, so introspection of a token seen before needs
// no database round trip; a change committed anywhere stops a cached
// answer within [FreshFor].
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"math"
	neturl "net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vigil-auth/vigil/storage"
)

var _ storage.Store = (*Store)(nil)

// Defaults for the connection pool.
const (
	// DefaultMaxConns is the pool size unless the URL sets pool_max_conns.
	DefaultMaxConns = 16
	// DefaultStatementTimeout bounds every statement unless the URL sets
	// statement_timeout.
	DefaultStatementTimeout = 5 * time.Second
	// maxAttempts is how often Update runs fn on serialization failures
	// and deadlocks before giving up.
	maxAttempts = 10
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a storage.Store on PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool      *pgxpool.Pool
	closed    atomic.Bool
	retention time.Duration
	log       *slog.Logger
	feed      *Feed
	now       func() time.Time
	// cache holds registrations; records holds access tokens and sessions.
	cache   *cache
	records *cache
	counts  struct{ reads, writes, commits atomic.Uint64 }
}

// Option adjusts a Store.
type Option func(*Store)

// WithRetention keeps expired records for d before DeleteExpired removes
// them (default 0).
func WithRetention(d time.Duration) Option { return func(s *Store) { s.retention = d } }

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// WithClock sets the clock that decides when a cached token or session has
// expired; the default is time.Now.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// Open connects to the database at url (a postgres:// URL or a key=value
// DSN), migrates the schema and starts following the change feed. The pool
// holds DefaultMaxConns connections and every statement times out after
// DefaultStatementTimeout unless url says otherwise.
//
// The URL parameter vigil_listen=off turns the NOTIFY wake-ups off: the
// feed then runs on its poll floor alone (for poolers in transaction mode
// and databases without LISTEN).
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	url, listen := listenParam(url)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if !hasPoolSize(url) {
		cfg.MaxConns = DefaultMaxConns
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["statement_timeout"]; !ok {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = fmt.Sprint(DefaultStatementTimeout.Milliseconds())
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w: %w", storage.ErrUnavailable, err)
	}
	s := &Store{pool: pool, log: slog.New(slog.DiscardHandler), now: time.Now,
		cache: newCache(maxRegistrations), records: newCache(maxRecords)}
	for _, opt := range opts {
		opt(s)
	}
	if err := migrate(ctx, pool, s.log); err != nil {
		pool.Close()
		return nil, err
	}
	s.feed = newFeed(pool, s.log, s.invalidate, s.flush)
	s.feed.SetListen(listen)
	if err := s.feed.start(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Feed returns the store's change feed.
func (s *Store) Feed() *Feed { return s.feed }

// Close stops the feed and closes the pool. Later calls return
// storage.ErrUnavailable. Close is idempotent.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.feed.stop()
	s.pool.Close()
	return nil
}

// TxCounts returns how many reads went to the database (each one
// statement outside a transaction; reads the caches answer and the change
// feed's polls are not counted), how many Update transactions ran (each
// attempt) and how many of them committed, since the store was opened.
// Safe for concurrent use.
func (s *Store) TxCounts() (reads, writes, commits uint64) {
	return s.counts.reads.Load(), s.counts.writes.Load(), s.counts.commits.Load()
}

// usable reports why the store cannot serve a call.
func (s *Store) usable(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("postgres: store closed: %w", storage.ErrUnavailable)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}

// Update runs fn in one transaction and commits it. fn runs again on a
// serialization failure or deadlock, up to maxAttempts times.
func (s *Store) Update(ctx context.Context, fn func(w storage.Writer) error) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	var err error
	for attempt := range maxAttempts {
		var w *writer
		w, err = s.updateOnce(ctx, fn)
		if err == nil {
			for _, c := range w.changes {
				s.invalidate(c)
			}
			for _, sid := range w.extended {
				s.records.invalidate(Change{Kind: KindSession, Key: sid})
			}
			return nil
		}
		if !retryable(err) || ctx.Err() != nil {
			return err
		}
		backoff(ctx, attempt)
	}
	return err
}

// updateOnce runs fn in a transaction and commits it, returning the
// writer with what it changed.
func (s *Store) updateOnce(ctx context.Context, fn func(w storage.Writer) error) (*writer, error) {
	s.counts.writes.Add(1)
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return nil, dbErr(ctx, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it is a no-op
	w := &writer{reader: reader{q: tx, lock: true}, tx: tx}
	if err := fn(w); err != nil {
		return nil, err
	}
	if err := w.flushChanges(ctx); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, dbErr(ctx, err)
	}
	s.counts.commits.Add(1)
	return w, nil
}

// invalidate drops from its cache what change c makes stale.
func (s *Store) invalidate(c Change) {
	switch c.Kind {
	case KindToken, KindSession:
		s.records.invalidate(c)
	default:
		s.cache.invalidate(c)
	}
}

// flush empties both caches.
func (s *Store) flush() {
	s.cache.flush()
	s.records.flush()
}

// backoff sleeps a little longer on each attempt, with jitter from the clock.
func backoff(ctx context.Context, attempt int) {
	d := time.Duration(attempt+1)*time.Millisecond + time.Duration(time.Now().UnixNano()%1000)*time.Microsecond
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// retryable reports a serialization failure or a deadlock.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// DeleteExpired removes tokens, single-use identifiers and outbox entries
// whose expiry is at or before now minus the retention, then sessions that
// expired by then and have no tokens left, with their events.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	if err := s.usable(ctx); err != nil {
		return 0, err
	}
	cut := ns(now.Add(-s.retention))
	total := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		total = 0
		for _, q := range []string{
			`DELETE FROM tokens WHERE expires_ns <= $1`,
			`DELETE FROM used_jti WHERE exp_ns <= $1`,
			`DELETE FROM outbox WHERE expires_ns IS NOT NULL AND expires_ns <= $1`,
		} {
			tag, err := tx.Exec(ctx, q, cut)
			if err != nil {
				return err
			}
			total += int(tag.RowsAffected())
		}
		var n int
		err := tx.QueryRow(ctx, `WITH gone AS (DELETE FROM sessions s WHERE expires_ns <= $1
				AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.session_id = s.id) RETURNING id),
			ev AS (DELETE FROM events e USING gone WHERE e.session_id = gone.id RETURNING 1)
			SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM ev)`, cut).Scan(&n)
		total += n
		if err == nil {
			_, err = tx.Exec(ctx, `DELETE FROM changes WHERE at < now() - make_interval(secs => $1)`, changeRetention.Seconds())
		}
		return err
	})
	if err != nil {
		return 0, dbErr(ctx, err)
	}
	return total, nil
}

// dbErr wraps a database failure: a cancelled ctx stays recognisable, and
// anything else is storage.ErrUnavailable (the caller answers 503).
func dbErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("postgres: %w: %w", cerr, err)
	}
	if retryable(err) {
		return fmt.Errorf("postgres: %w", err)
	}
	return fmt.Errorf("postgres: %w: %w", storage.ErrUnavailable, err)
}

// ns returns t as nanoseconds since the epoch, clamped to int64; the zero
// time is the minimum.
func ns(t time.Time) int64 {
	switch {
	case t.IsZero() || t.Year() < 1678:
		return math.MinInt64
	case t.Year() > 2261:
		return math.MaxInt64
	}
	return t.UnixNano()
}

// listenParam removes vigil_listen from a postgres:// URL and reports
// whether it leaves notifications on.
func listenParam(raw string) (string, bool) {
	u, err := neturl.Parse(raw)
	if err != nil || !u.Query().Has("vigil_listen") {
		return raw, true
	}
	q := u.Query()
	on := q.Get("vigil_listen") != "off"
	q.Del("vigil_listen")
	u.RawQuery = q.Encode()
	return u.String(), on
}

// hasPoolSize reports whether url sets the pool size itself.
func hasPoolSize(url string) bool { return strings.Contains(url, "pool_max_conns") }

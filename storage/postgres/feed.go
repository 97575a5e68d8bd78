package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vigil-auth/vigil/storage"
)

// Kinds of change on the feed.
const (
	KindClient       = "client"
	KindResource     = "resource"
	KindIssuer       = "issuer"
	KindRegistration = "registration"
	KindKey          = "key"
	KindToken        = "token"   // revoked
	KindSession      = "session" // terminated, or given facts
	KindPolicy       = "policy"
)

const (
	// notifyChannel is the NOTIFY channel that wakes the followers.
	notifyChannel = "vigil_changes"
	// listenName is the application_name of the listening connection.
	listenName = "vigil listen"
	// PollEvery is the feed's poll floor: without a notification the
	// changes table is read this often.
	PollEvery = 20 * time.Millisecond
	// FreshFor is how recent the last good poll must be for caches to
	// answer; past it every read goes to the database.
	FreshFor = 60 * time.Millisecond
	// gapWait is how long a skipped sequence number is looked for: a
	// transaction that took it may still commit.
	gapWait = 30 * time.Second
	// changeRetention is how long rows stay in the changes table.
	changeRetention = time.Hour
	// relistenAfter is the pause before the listener reconnects.
	relistenAfter = time.Second
)

// Change is one entry of the change feed: something of Kind, named by Key,
// changed in a committed transaction.
type Change struct {
	Seq  int64
	Kind string
	Key  string
}

// Feed follows the changes table. A dedicated connection LISTENs for the
// NOTIFY each changing commit sends, and wakes the poller; the poller also
// reads the table every PollEvery, so a lost notification or a dropped
// listener delays nothing past the poll floor. Sequence numbers skipped by
// transactions still running are looked for again until gapWait.
//
// The store's caches (registrations; access tokens and sessions) answer
// only while the last good poll started at most FreshFor ago
// ([Feed.Fresh]); otherwise reads go to the database. A
// stuck poller or an unreachable database therefore degrades to database
// reads (and their errors), never to stale answers.
type Feed struct {
	pool       *pgxpool.Pool
	log        *slog.Logger
	invalidate func(Change)
	flush      func()
	listen     atomic.Bool
	lastGood   atomic.Int64 // unix ns at which the last good poll started
	freshFor   atomic.Int64 // FreshFor; tests that must not race the clock lengthen it
	listenPID  atomic.Uint32

	mu      sync.Mutex
	subs    []func(Change)
	cursor  int64
	pending map[int64]time.Time

	wake   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newFeed(pool *pgxpool.Pool, log *slog.Logger, invalidate func(Change), flush func()) *Feed {
	f := &Feed{pool: pool, log: log, invalidate: invalidate, flush: flush, pending: map[int64]time.Time{},
		wake: make(chan struct{}, 1)}
	f.listen.Store(true)
	f.freshFor.Store(int64(FreshFor))
	return f
}

// start reads the current end of the feed and starts following it.
func (f *Feed) start(ctx context.Context) error {
	start := time.Now()
	if err := f.pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM changes`).Scan(&f.cursor); err != nil {
		return dbErr(ctx, err)
	}
	f.lastGood.Store(start.UnixNano())
	ctx, f.cancel = context.WithCancel(context.WithoutCancel(ctx))
	f.wg.Go(func() { f.pollLoop(ctx) })
	f.wg.Go(func() { f.listenLoop(ctx) })
	return nil
}

func (f *Feed) stop() {
	f.cancel()
	f.wg.Wait()
}

// Subscribe calls fn for every change read from the feed, after the cache
// has dropped what it made stale. fn runs on the feed's goroutine and must
// return quickly.
func (f *Feed) Subscribe(fn func(Change)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs = append(f.subs, fn)
}

// Fresh reports whether the last good poll started at most FreshFor ago.
func (f *Feed) Fresh() bool { return f.freshSince(f.mark()) }

// Lag returns how long ago the last good poll started: every change
// committed before then has reached this node's caches and subscribers. It
// stays about PollEvery while the feed is followed and grows while polls
// fail or stall.
func (f *Feed) Lag() time.Duration { return time.Since(time.Unix(0, f.mark())) }

// mark returns when the last good poll started (unix ns); every change it
// read has been dropped from the caches by the time mark returns it.
func (f *Feed) mark() int64 { return f.lastGood.Load() }

// freshSince reports whether the poll that mark returned started at most
// FreshFor ago.
func (f *Feed) freshSince(mark int64) bool {
	return time.Since(time.Unix(0, mark)) <= time.Duration(f.freshFor.Load())
}

// SetListen turns the NOTIFY wake-ups on or off (the poll floor stays):
// operators and tests use it to run on polling alone.
func (f *Feed) SetListen(on bool) { f.listen.Store(on) }

// ListenerPID returns the backend process id of the listening connection,
// 0 if none is connected.
func (f *Feed) ListenerPID() uint32 { return f.listenPID.Load() }

func (f *Feed) pollLoop(ctx context.Context) {
	t := time.NewTicker(PollEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-f.wake:
		}
		if err := f.poll(ctx); err != nil && ctx.Err() == nil {
			f.log.Debug("change feed poll failed", "err", err)
		}
	}
}

// poll reads the changes after the cursor, and the skipped ones still
// awaited, and hands them on.
func (f *Feed) poll(ctx context.Context) error {
	start := time.Now()
	f.mu.Lock()
	cursor, gaps := f.cursor, f.gapsLocked(start)
	f.mu.Unlock()
	qctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	rows, err := f.pool.Query(qctx, `SELECT seq, kind, key FROM changes WHERE seq > $1 OR seq = ANY($2) ORDER BY seq`, cursor, gaps)
	if err != nil {
		return err
	}
	changes, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Change])
	if err != nil {
		return err
	}
	f.mu.Lock()
	for _, c := range changes {
		f.advanceLocked(c.Seq, start)
	}
	subs := f.subs
	f.mu.Unlock()
	for _, c := range changes {
		f.invalidate(c)
	}
	f.lastGood.Store(start.UnixNano())
	for _, c := range changes {
		for _, fn := range subs {
			fn(c)
		}
	}
	return nil
}

// gapsLocked returns the skipped sequence numbers still awaited, dropping
// those awaited longer than gapWait.
func (f *Feed) gapsLocked(now time.Time) []int64 {
	gaps := make([]int64, 0, len(f.pending))
	for seq, since := range f.pending {
		if now.Sub(since) > gapWait {
			delete(f.pending, seq)
			continue
		}
		gaps = append(gaps, seq)
	}
	return gaps
}

// advanceLocked moves the cursor past seq, remembering what it skipped.
func (f *Feed) advanceLocked(seq int64, now time.Time) {
	if seq <= f.cursor {
		delete(f.pending, seq)
		return
	}
	for s := f.cursor + 1; s < seq && len(f.pending) < 100_000; s++ {
		f.pending[s] = now
	}
	f.cursor = seq
}

// listenLoop keeps one connection LISTENing, reconnecting after failures;
// each notification wakes the poller. After a reconnect the cache is
// flushed: notifications sent meanwhile are lost (the poll floor still
// reads their changes).
func (f *Feed) listenLoop(ctx context.Context) {
	for ctx.Err() == nil {
		if f.listen.Load() {
			err := f.listenOnce(ctx)
			if ctx.Err() != nil {
				return
			}
			f.log.Debug("change feed listener lost; reconnecting", "err", err)
			f.flush()
		}
		t := time.NewTimer(relistenAfter)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (f *Feed) listenOnce(ctx context.Context) error {
	cfg := f.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = listenName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	f.listenPID.Store(conn.PgConn().PID())
	defer f.listenPID.Store(0)
	for f.listen.Load() {
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			select {
			case f.wake <- struct{}{}:
			default:
			}
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			// no notification this second; check the switch and wait again
		default:
			return fmt.Errorf("listen: %w", err)
		}
	}
	return nil
}

// Wait blocks until a poll that started after the call has succeeded, or
// ctx ends: what was committed before Wait is then in the cache's view.
func (f *Feed) Wait(ctx context.Context) error {
	since := time.Now().UnixNano()
	for f.lastGood.Load() < since {
		select {
		case <-ctx.Done():
			return fmt.Errorf("postgres: feed: %w: %w", storage.ErrUnavailable, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

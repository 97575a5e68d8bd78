package ssf

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// Observer is the risk engine as Vigil's endpoints call it.
type Observer interface {
	Observe(ev risk.Event) risk.Decision
}

// LevelWatch wraps the risk engine and notices when a session's risk level
// moves (in CAEP terms: LOW, MEDIUM, HIGH), so that the Transmitter can send
// risk-level-change. Decisions pass through unchanged and without delay:
// the change is queued by a background writer ([LevelWatch.Run]), so a
// crash can lose a level change that was never written; the decision itself
// never depends on it. It is safe for concurrent use.
type LevelWatch struct {
	inner   Observer
	tx      *Transmitter
	mu      sync.Mutex
	levels  map[string]string // sid -> last CAEP level above LOW
	changes chan levelChange
}

type levelChange struct {
	sid, prev, cur, reason string
}

// maxTrackedSessions bounds the sessions whose level above LOW is remembered.
const maxTrackedSessions = 100000

// maxPendingChanges bounds level changes waiting to be written; beyond it
// they are dropped and logged.
const maxPendingChanges = 1024

// WatchLevels returns inner wrapped so that tx hears of level changes.
func WatchLevels(inner Observer, tx *Transmitter) *LevelWatch {
	return &LevelWatch{inner: inner, tx: tx, levels: map[string]string{}, changes: make(chan levelChange, maxPendingChanges)}
}

// Observe judges ev with the wrapped engine and notes a level change.
func (l *LevelWatch) Observe(ev risk.Event) risk.Decision {
	d := l.inner.Observe(ev)
	if ev.SessionID == "" || d.Level == "" {
		return d
	}
	cur := caepLevel(d.Level)
	l.mu.Lock()
	prev := l.levels[ev.SessionID]
	if prev == "" {
		prev = "LOW"
	}
	changed := prev != cur
	switch {
	case cur == "LOW" || d.Action == risk.Terminate:
		delete(l.levels, ev.SessionID)
	case len(l.levels) >= maxTrackedSessions:
		clear(l.levels) // forget, rather than grow: a session may then report a change twice
		fallthrough
	default:
		l.levels[ev.SessionID] = cur
	}
	l.mu.Unlock()
	if changed {
		select {
		case l.changes <- levelChange{sid: ev.SessionID, prev: prev, cur: cur, reason: reasonOf(d)}:
		default:
			l.tx.log.Warn("ssf: risk level change dropped (queue full)", "sid", ev.SessionID)
		}
	}
	return d
}

// caepLevel maps a risk level to CAEP's three (critical is HIGH).
func caepLevel(l risk.Level) string {
	switch l {
	case risk.LevelMedium:
		return "MEDIUM"
	case risk.LevelHigh, risk.LevelCritical:
		return "HIGH"
	}
	return "LOW"
}

// reasonOf names the decision's detectors, never their evidence.
func reasonOf(d risk.Decision) string {
	codes := make([]string, 0, len(d.Reasons))
	for _, r := range d.Reasons {
		codes = append(codes, r.Code)
	}
	return strings.Join(codes, " ")
}

// Run writes noticed level changes to the outbox until ctx is done.
func (l *LevelWatch) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case c := <-l.changes:
			if err := l.write(ctx, c); err != nil && ctx.Err() == nil {
				l.tx.log.Warn("ssf: queueing a risk level change failed", "sid", c.sid, "err", err)
			}
		}
	}
}

func (l *LevelWatch) write(ctx context.Context, c levelChange) error {
	streams, err := l.tx.store.ListStreams(ctx)
	if err != nil || len(streams) == 0 {
		return err
	}
	err = l.tx.store.Update(ctx, func(w storage.Writer) error {
		sess, err := w.GetSession(ctx, c.sid)
		if err != nil {
			return err
		}
		return l.tx.RiskLevelChanged(ctx, w, sess, c.prev, c.cur, c.reason)
	})
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return err
}

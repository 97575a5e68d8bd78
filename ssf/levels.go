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
// moves (in CAEP terms: LOW, MEDIUM, HIGH), and when a client's does: a
// client's level is the highest of its sessions' levels. The Transmitter
// then sends risk-level-change about the session, or about the client.
// Decisions pass through unchanged and without delay: the change is queued
// by a background writer ([LevelWatch.Run]), so a crash can lose a level
// change that was never written; the decision itself never depends on it.
// It is safe for concurrent use.
type LevelWatch struct {
	inner  Observer
	tx     *Transmitter
	mu     sync.Mutex
	levels map[string]tracked // sid -> last CAEP level above LOW
	// clients counts each client's tracked sessions at MEDIUM and at HIGH.
	clients map[string]*[2]int
	changes chan levelChange
}

// tracked is a session whose level is above LOW.
type tracked struct{ level, clientID string }

// levelChange is a level that moved: a session's (sid set) or a client's.
type levelChange struct {
	sid, clientID, prev, cur, reason string
}

// maxTrackedSessions bounds the sessions whose level above LOW is remembered.
const maxTrackedSessions = 100000

// maxPendingChanges bounds level changes waiting to be written; beyond it
// they are dropped and logged.
const maxPendingChanges = 1024

// WatchLevels returns inner wrapped so that tx hears of level changes.
func WatchLevels(inner Observer, tx *Transmitter) *LevelWatch {
	return &LevelWatch{inner: inner, tx: tx, levels: map[string]tracked{}, clients: map[string]*[2]int{},
		changes: make(chan levelChange, maxPendingChanges)}
}

// Observe judges ev with the wrapped engine and notes a level change of
// the session and of its client.
func (l *LevelWatch) Observe(ev risk.Event) risk.Decision {
	d := l.inner.Observe(ev)
	if ev.SessionID == "" || d.Level == "" {
		return d
	}
	cur := caepLevel(d.Level)
	l.mu.Lock()
	old, ok := l.levels[ev.SessionID]
	prev := "LOW"
	if ok {
		prev = old.level
	}
	client := cmpOr(old.clientID, ev.ClientID)
	clientPrev := l.clientLevel(client)
	l.count(old, -1)
	switch {
	case cur == "LOW" || d.Action == risk.Terminate:
		delete(l.levels, ev.SessionID)
	case len(l.levels) >= maxTrackedSessions && !ok:
		// Forget, rather than grow: a session or a client may then report
		// a change twice, and a client's level restarts from its sessions
		// seen from now on.
		clear(l.levels)
		clear(l.clients)
		clientPrev = "LOW"
		fallthrough
	default:
		t := tracked{level: cur, clientID: client}
		l.levels[ev.SessionID] = t
		l.count(t, 1)
	}
	clientCur := l.clientLevel(client)
	l.mu.Unlock()
	reason := reasonOf(d)
	if prev != cur {
		l.queue(levelChange{sid: ev.SessionID, prev: prev, cur: cur, reason: reason})
	}
	if client != "" && clientPrev != clientCur {
		l.queue(levelChange{clientID: client, prev: clientPrev, cur: clientCur, reason: reason})
	}
	return d
}

// count adds n to t's client's count at t's level; l.mu is held.
func (l *LevelWatch) count(t tracked, n int) {
	if t.clientID == "" || t.level == "" || t.level == "LOW" {
		return
	}
	c := l.clients[t.clientID]
	if c == nil {
		c = &[2]int{}
		l.clients[t.clientID] = c
	}
	i := 0
	if t.level == "HIGH" {
		i = 1
	}
	c[i] += n
	if c[0] <= 0 && c[1] <= 0 {
		delete(l.clients, t.clientID)
	}
}

// clientLevel is the highest level of client's tracked sessions; l.mu is held.
func (l *LevelWatch) clientLevel(client string) string {
	c := l.clients[client]
	switch {
	case c == nil:
		return "LOW"
	case c[1] > 0:
		return "HIGH"
	case c[0] > 0:
		return "MEDIUM"
	}
	return "LOW"
}

func (l *LevelWatch) queue(c levelChange) {
	select {
	case l.changes <- c:
	default:
		l.tx.log.Warn("ssf: risk level change dropped (queue full)", "sid", c.sid, "client_id", c.clientID)
	}
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
	if len(codes) == 0 {
		return "none" // no detector fired: the level fell back
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
				l.tx.log.Warn("ssf: queueing a risk level change failed", "sid", c.sid, "client_id", c.clientID, "err", err)
			}
		}
	}
}

func (l *LevelWatch) write(ctx context.Context, c levelChange) error {
	streams, err := l.tx.store.ListStreams(ctx)
	if err != nil || len(streams) == 0 {
		return err
	}
	if c.sid == "" {
		return l.tx.store.Update(ctx, func(w storage.Writer) error {
			return l.tx.ClientRiskLevelChanged(ctx, w, c.clientID, c.prev, c.cur, c.reason)
		})
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

package memory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

var _ storage.Writer = (*tx)(nil)

// tx is a transaction over data: reads see committed records overlaid with
// the transaction's own pending writes. The Store's read-only view is a tx
// that is never written.
type tx struct {
	d         *data
	clients   layer[storage.Client]
	resources layer[storage.Resource]
	issuers   layer[storage.Issuer]
	sessions  layer[storage.Session]
	tokens    layer[storage.Token]
	keys      layer[storage.Key]
	jtis      layer[time.Time]
	events    map[string][]storage.Event // appended in this transaction, per session
	audit     []storage.AuditRecord      // appended in this transaction
	streams   layer[storage.Stream]
	outbox    layer[storage.OutboxEntry]
	outboxN   uint64 // outbox entries appended in this transaction
	done      bool
	// initialTokens and registrations hold dynamic client registration.
	initialTokens layer[storage.InitialAccessToken]
	registrations layer[storage.Registration]
}

func newTx(d *data) *tx {
	return &tx{
		d:             d,
		clients:       layer[storage.Client]{base: d.clients},
		resources:     layer[storage.Resource]{base: d.resources},
		issuers:       layer[storage.Issuer]{base: d.issuers},
		sessions:      layer[storage.Session]{base: d.sessions},
		tokens:        layer[storage.Token]{base: d.tokens},
		keys:          layer[storage.Key]{base: d.keys},
		jtis:          layer[time.Time]{base: d.jtis},
		streams:       layer[storage.Stream]{base: d.streams},
		outbox:        layer[storage.OutboxEntry]{base: d.outbox},
		initialTokens: layer[storage.InitialAccessToken]{base: d.initialTokens},
		registrations: layer[storage.Registration]{base: d.registrations},
	}
}

var (
	errFinished = errors.New("memory: transaction already finished")
	errEmptyKey = errors.New("memory: empty key")
)

// check reports why t cannot serve a call.
func (t *tx) check(ctx context.Context) error {
	if t.done {
		return errFinished
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	return nil
}

// commit applies every pending write to t.d. The token index is updated
// first, while t.d.tokens still holds each token's previous session.
func (t *tx) commit() {
	for id, p := range t.tokens.over {
		old := t.d.tokens[id].SessionID
		t.d.indexToken(id, old, p.v.SessionID)
	}
	t.clients.commit()
	t.resources.commit()
	t.issuers.commit()
	t.sessions.commit()
	t.tokens.commit()
	t.keys.commit()
	t.jtis.commit()
	t.initialTokens.commit()
	t.registrations.commit()
	for sid, evs := range t.events {
		t.d.events[sid] = append(t.d.events[sid], evs...)
	}
	t.d.audit = append(t.d.audit, t.audit...)
	t.d.lastAudit += uint64(len(t.audit))
	t.streams.commit()
	t.outbox.commit()
	t.d.lastOutbox += t.outboxN
}

// notFound wraps storage.ErrNotFound with what was missing.
func notFound(kind, key string) error {
	return fmt.Errorf("memory: %s %q: %w", kind, key, storage.ErrNotFound)
}

// get returns the record k of l, cloned, or storage.ErrNotFound.
func get[V any](ctx context.Context, t *tx, l *layer[V], clone func(V) V, kind, k string) (V, error) {
	var zero V
	if err := t.check(ctx); err != nil {
		return zero, err
	}
	v, ok := l.get(k)
	if !ok {
		return zero, notFound(kind, k)
	}
	return clone(v), nil
}

// list returns every record of l, cloned, ordered by key.
func list[V any](ctx context.Context, t *tx, l *layer[V], clone func(V) V) ([]V, error) {
	if err := t.check(ctx); err != nil {
		return nil, err
	}
	return values(l, clone), nil
}

// put stores a clone of v as record k of l.
func put[V any](ctx context.Context, t *tx, l *layer[V], clone func(V) V, kind, k string, v V) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if k == "" {
		return fmt.Errorf("memory: put %s: %w", kind, errEmptyKey)
	}
	l.put(k, clone(v))
	return nil
}

// del removes record k of l, or returns storage.ErrNotFound.
func del[V any](ctx context.Context, t *tx, l *layer[V], kind, k string) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if _, ok := l.get(k); !ok {
		return notFound(kind, k)
	}
	l.del(k)
	return nil
}

// newestFirst orders sessions by creation time, newest first, then by ID.
func newestFirst(a, b storage.Session) int {
	return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
}

// issuedFirst orders tokens by issue time, oldest first, then by ID.
func issuedFirst(a, b storage.Token) int {
	return cmp.Or(a.IssuedAt.Compare(b.IssuedAt), cmp.Compare(a.ID, b.ID))
}

// createdFirst orders keys by creation time, oldest first, then by ID.
func createdFirst(a, b storage.Key) int {
	return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
}

// limit truncates s to n elements when n is positive.
func limit[S ~[]E, E any](s S, n int) S {
	if n > 0 && len(s) > n {
		return s[:n]
	}
	return s
}

// sorted sorts s by less and returns it.
func sorted[S ~[]E, E any](s S, order func(a, b E) int) S {
	slices.SortFunc(s, order)
	return s
}

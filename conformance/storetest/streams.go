package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

func newStream(id, client string) storage.Stream {
	return storage.Stream{ID: id, ClientID: client, Audience: []string{"https://rp.example"},
		EventsRequested: []string{"https://schemas.openid.net/secevent/caep/event-type/session-revoked"},
		EventsDelivered: []string{"https://schemas.openid.net/secevent/caep/event-type/session-revoked"},
		Method:          storage.DeliveryPush, EndpointURL: "https://rp.example/ssf", AuthorizationHeader: "Bearer x",
		Status: storage.StreamEnabled, Subjects: []string{"session:s1"}, CreatedAt: t0, UpdatedAt: at(time.Second)}
}

func newEntry(stream, jti string, exp time.Time) storage.OutboxEntry {
	return storage.OutboxEntry{StreamID: stream, JTI: jti, Claims: json.RawMessage(`{"jti":"` + jti + `"}`),
		CreatedAt: t0, ExpiresAt: exp}
}

// appendEntries appends entries in one transaction and returns their Seqs.
func appendEntries(t *testing.T, s storage.Store, es ...storage.OutboxEntry) {
	t.Helper()
	update(t, s, func(ctx context.Context, w storage.Writer) error {
		for _, e := range es {
			if err := w.AppendOutbox(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
}

func outbox(t *testing.T, s storage.Store, stream string, n int) []storage.OutboxEntry {
	t.Helper()
	return get(t, "ListOutbox", func(ctx context.Context) ([]storage.OutboxEntry, error) { return s.ListOutbox(ctx, stream, n) })
}

func jtis(es []storage.OutboxEntry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.JTI)
	}
	return out
}

// testStreams pins the stream records: round trip, order, replacement,
// copies, and deletion taking the stream's outbox with it.
func testStreams(t *testing.T, s storage.Store) {
	a, b := newStream("st-b", "rp1"), newStream("st-a", "rp2")
	update(t, s, func(ctx context.Context, w storage.Writer) error {
		if err := w.PutStream(ctx, a); err != nil {
			return err
		}
		return w.PutStream(ctx, b)
	})
	equal(t, "GetStream", get(t, "GetStream", func(ctx context.Context) (storage.Stream, error) { return s.GetStream(ctx, "st-b") }), a)
	list := get(t, "ListStreams", func(ctx context.Context) ([]storage.Stream, error) { return s.ListStreams(ctx) })
	equal(t, "ListStreams", list, []storage.Stream{b, a})
	list[0].Subjects[0] = "mutated"
	equal(t, "copy", get(t, "GetStream", func(ctx context.Context) (storage.Stream, error) { return s.GetStream(ctx, "st-a") }), b)

	a.Status, a.Subjects = storage.StreamPaused, nil
	update(t, s, func(ctx context.Context, w storage.Writer) error { return w.PutStream(ctx, a) })
	equal(t, "replaced", get(t, "GetStream", func(ctx context.Context) (storage.Stream, error) { return s.GetStream(ctx, "st-b") }), a)

	appendEntries(t, s, newEntry("st-b", "j1", time.Time{}), newEntry("st-a", "j2", time.Time{}))
	update(t, s, func(ctx context.Context, w storage.Writer) error { return w.DeleteStream(ctx, "st-b") })
	_, err := s.GetStream(t.Context(), "st-b")
	isErr(t, "deleted stream", err, storage.ErrNotFound)
	equal(t, "deleted stream's outbox", jtis(outbox(t, s, "st-b", 0)), []string{})
	equal(t, "other stream's outbox", jtis(outbox(t, s, "st-a", 0)), []string{"j2"})
	err = s.Update(t.Context(), func(w storage.Writer) error { return w.DeleteStream(t.Context(), "st-b") })
	isErr(t, "delete again", err, storage.ErrNotFound)
}

// testOutbox pins the outbox: Seq increases across transactions and
// streams, entries list in Seq order per stream, an entry needs its stream,
// an aborted transaction appends nothing, and deletion is by Seq.
func testOutbox(t *testing.T, s storage.Store) {
	update(t, s, func(ctx context.Context, w storage.Writer) error {
		for _, id := range []string{"x", "y", "x1"} {
			if err := w.PutStream(ctx, newStream(id, "rp")); err != nil {
				return err
			}
		}
		return nil
	})
	appendEntries(t, s, newEntry("x", "a", at(time.Hour)), newEntry("y", "b", at(time.Hour)), newEntry("x", "c", at(time.Hour)))
	appendEntries(t, s, newEntry("x1", "p", at(time.Hour)), newEntry("x", "d", at(3*time.Hour)))
	err := s.Update(t.Context(), func(w storage.Writer) error {
		if err := w.AppendOutbox(t.Context(), newEntry("x", "aborted", time.Time{})); err != nil {
			return err
		}
		return errBoom
	})
	isErr(t, "aborted", err, errBoom)
	err = s.Update(t.Context(), func(w storage.Writer) error {
		return w.AppendOutbox(t.Context(), newEntry("nope", "z", time.Time{}))
	})
	isErr(t, "unknown stream", err, storage.ErrNotFound)

	xs := outbox(t, s, "x", 0)
	equal(t, "x in order", jtis(xs), []string{"a", "c", "d"})
	equal(t, "x1 separate", jtis(outbox(t, s, "x1", 0)), []string{"p"})
	equal(t, "limit", jtis(outbox(t, s, "x", 2)), []string{"a", "c"})
	for i := 1; i < len(xs); i++ {
		if xs[i].Seq <= xs[i-1].Seq {
			t.Errorf("Seq not increasing: %d then %d", xs[i-1].Seq, xs[i].Seq)
		}
	}
	want := newEntry("x", "a", at(time.Hour))
	want.Seq = xs[0].Seq
	equal(t, "round trip", xs[0], want)
	appendEntries(t, s, newEntry("x", "e", time.Time{}))
	if e := outbox(t, s, "x", 0)[3]; e.Seq <= xs[2].Seq {
		t.Errorf("Seq after a later append = %d, not above %d", e.Seq, xs[2].Seq)
	}

	update(t, s, func(ctx context.Context, w storage.Writer) error { return w.DeleteOutbox(ctx, "x", xs[1].Seq) })
	equal(t, "after delete", jtis(outbox(t, s, "x", 0)), []string{"a", "d", "e"})
	err = s.Update(t.Context(), func(w storage.Writer) error { return w.DeleteOutbox(t.Context(), "x", xs[1].Seq) })
	isErr(t, "delete again", err, storage.ErrNotFound)
	err = s.Update(t.Context(), func(w storage.Writer) error { return w.DeleteOutbox(t.Context(), "y", xs[0].Seq) })
	isErr(t, "delete under the wrong stream", err, storage.ErrNotFound)

	// Entries expire at ExpiresAt; a zero ExpiresAt never does.
	n, err := s.DeleteExpired(t.Context(), at(2*time.Hour))
	must(t, "DeleteExpired", err)
	equal(t, "expired entries removed", n, 3) // a (x), b (y), p (x1)
	equal(t, "x after expiry", jtis(outbox(t, s, "x", 0)), []string{"d", "e"})
	equal(t, "y after expiry", jtis(outbox(t, s, "y", 0)), []string{})
}

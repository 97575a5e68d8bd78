package bolt

import (
	"bytes"
	"context"
	"fmt"

	"github.com/vigil-auth/vigil/storage"
)

// Shared Signals streams are JSON records in bucketStreams keyed by stream
// ID; outbox entries are JSON records in bucketOutbox keyed P(stream) N(seq),
// so one stream's entries are adjacent and in Seq order. Seq comes from the
// outbox bucket's own sequence.

// GetStream implements storage.Reader.
func (r txn) GetStream(ctx context.Context, id string) (storage.Stream, error) {
	return getRecord[storage.Stream](ctx, r, bucketStreams, "stream", id)
}

// ListStreams implements storage.Reader.
func (r txn) ListStreams(ctx context.Context) ([]storage.Stream, error) {
	return listRecords[storage.Stream](ctx, r, bucketStreams, "stream")
}

// ListOutbox implements storage.Reader.
func (r txn) ListOutbox(ctx context.Context, streamID string, n int) ([]storage.OutboxEntry, error) {
	if err := check(ctx); err != nil {
		return nil, err
	}
	var out []storage.OutboxEntry
	p := prefix(streamID)
	c := r.tx.Bucket(bucketOutbox).Cursor()
	for k, v := first(c, p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		var e storage.OutboxEntry
		if err := decode(v, &e, "outbox entry", k); err != nil {
			return nil, err
		}
		out = append(out, e)
		if n > 0 && len(out) == n {
			break
		}
	}
	return out, nil
}

// PutStream implements storage.Writer.
func (r txn) PutStream(ctx context.Context, s storage.Stream) error {
	return r.putRecord(ctx, bucketStreams, "stream", []byte(s.ID), s)
}

// DeleteStream implements storage.Writer.
func (r txn) DeleteStream(ctx context.Context, id string) error {
	if err := r.deleteRecord(ctx, bucketStreams, "stream", id); err != nil {
		return err
	}
	p := prefix(id)
	var doomed [][]byte
	c := r.tx.Bucket(bucketOutbox).Cursor()
	for k, _ := first(c, p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		doomed = append(doomed, bytes.Clone(k))
	}
	for _, k := range doomed {
		if err := r.del(bucketOutbox, k); err != nil {
			return err
		}
	}
	return nil
}

// AppendOutbox implements storage.Writer.
func (r txn) AppendOutbox(ctx context.Context, e storage.OutboxEntry) error {
	if err := check(ctx); err != nil {
		return err
	}
	if r.tx.Bucket(bucketStreams).Get([]byte(e.StreamID)) == nil {
		return notFound("stream", []byte(e.StreamID))
	}
	b := r.tx.Bucket(bucketOutbox)
	seq, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("bolt: outbox sequence: %w: %w", storage.ErrUnavailable, err)
	}
	e.Seq = seq
	return r.putRecord(ctx, bucketOutbox, "outbox entry", keyPN(e.StreamID, seq), e)
}

// DeleteOutbox implements storage.Writer.
func (r txn) DeleteOutbox(ctx context.Context, streamID string, seq uint64) error {
	if err := check(ctx); err != nil {
		return err
	}
	k := keyPN(streamID, seq)
	if r.tx.Bucket(bucketOutbox).Get(k) == nil {
		return notFound("outbox entry", k)
	}
	return r.del(bucketOutbox, k)
}

// sweepOutbox deletes up to sweepBatch outbox entries that expired at or
// before cutoff. Outboxes are short (entries leave when acknowledged), so it
// scans them rather than keep an expiry index.
func sweepOutbox(r txn, cutoff uint64, after []byte) (int, []byte, bool, error) {
	c := r.tx.Bucket(bucketOutbox).Cursor()
	k, v := c.First()
	if after != nil {
		k, v = c.Seek(after)
	}
	var doomed [][]byte
	seen := 0
	for ; k != nil && seen < sweepBatch; k, v = c.Next() {
		seen++
		var e storage.OutboxEntry
		if err := decode(v, &e, "outbox entry", k); err != nil {
			return 0, nil, false, err
		}
		if !e.ExpiresAt.IsZero() && timeBits(e.ExpiresAt) <= cutoff {
			doomed = append(doomed, bytes.Clone(k))
		}
	}
	next := bytes.Clone(k)
	for _, d := range doomed {
		if err := r.del(bucketOutbox, d); err != nil {
			return 0, nil, false, err
		}
	}
	return len(doomed), next, next != nil, nil
}

// Store-level reads.

// GetStream returns stream id, or an error matching storage.ErrNotFound.
func (s *Store) GetStream(ctx context.Context, id string) (storage.Stream, error) {
	return read(ctx, s, func(r txn) (storage.Stream, error) { return r.GetStream(ctx, id) })
}

// ListStreams returns every stream ordered by ID.
func (s *Store) ListStreams(ctx context.Context) ([]storage.Stream, error) {
	return read(ctx, s, func(r txn) ([]storage.Stream, error) { return r.ListStreams(ctx) })
}

// ListOutbox returns up to n entries of the stream's outbox in Seq order.
func (s *Store) ListOutbox(ctx context.Context, streamID string, n int) ([]storage.OutboxEntry, error) {
	return read(ctx, s, func(r txn) ([]storage.OutboxEntry, error) { return r.ListOutbox(ctx, streamID, n) })
}

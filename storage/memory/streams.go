package memory

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/vigil-auth/vigil/storage"
)

// outboxKey is the layer key of an outbox entry: the stream, a NUL, and the
// sequence number in fixed width, so keys sort in Seq order within a stream.
func outboxKey(streamID string, seq uint64) string {
	return fmt.Sprintf("%s\x00%020d", streamID, seq)
}

func cloneStream(s storage.Stream) storage.Stream {
	s.Audience = cloneSlice(s.Audience)
	s.EventsRequested = cloneSlice(s.EventsRequested)
	s.EventsDelivered = cloneSlice(s.EventsDelivered)
	s.Subjects = cloneSlice(s.Subjects)
	return s
}

func cloneOutbox(e storage.OutboxEntry) storage.OutboxEntry {
	e.Claims = cloneSlice(e.Claims)
	return e
}

// GetStream implements storage.Reader.
func (t *tx) GetStream(ctx context.Context, id string) (storage.Stream, error) {
	return get(ctx, t, &t.streams, cloneStream, "stream", id)
}

// ListStreams implements storage.Reader.
func (t *tx) ListStreams(ctx context.Context) ([]storage.Stream, error) {
	return list(ctx, t, &t.streams, cloneStream)
}

// ListOutbox implements storage.Reader.
func (t *tx) ListOutbox(ctx context.Context, streamID string, n int) ([]storage.OutboxEntry, error) {
	if err := t.check(ctx); err != nil {
		return nil, err
	}
	var out []storage.OutboxEntry
	t.outbox.each(func(k string, e storage.OutboxEntry) {
		if strings.HasPrefix(k, streamID+"\x00") {
			out = append(out, cloneOutbox(e))
		}
	})
	out = sorted(out, func(a, b storage.OutboxEntry) int { return cmp.Compare(a.Seq, b.Seq) })
	return limit(out, n), nil
}

// PutStream implements storage.Writer.
func (t *tx) PutStream(ctx context.Context, s storage.Stream) error {
	return put(ctx, t, &t.streams, cloneStream, "stream", s.ID, s)
}

// DeleteStream implements storage.Writer.
func (t *tx) DeleteStream(ctx context.Context, id string) error {
	if err := del(ctx, t, &t.streams, "stream", id); err != nil {
		return err
	}
	var doomed []string
	t.outbox.each(func(k string, _ storage.OutboxEntry) {
		if strings.HasPrefix(k, id+"\x00") {
			doomed = append(doomed, k)
		}
	})
	for _, k := range doomed {
		t.outbox.del(k)
	}
	return nil
}

// AppendOutbox implements storage.Writer. Seq counts every entry the store
// ever appended, starting at 1.
func (t *tx) AppendOutbox(ctx context.Context, e storage.OutboxEntry) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if _, ok := t.streams.get(e.StreamID); !ok {
		return notFound("stream", e.StreamID)
	}
	t.outboxN++
	e.Seq = t.d.lastOutbox + t.outboxN
	t.outbox.put(outboxKey(e.StreamID, e.Seq), cloneOutbox(e))
	return nil
}

// DeleteOutbox implements storage.Writer.
func (t *tx) DeleteOutbox(ctx context.Context, streamID string, seq uint64) error {
	return del(ctx, t, &t.outbox, "outbox entry", outboxKey(streamID, seq))
}

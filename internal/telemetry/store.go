package telemetry

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/vigil-auth/vigil/storage"
)

// Attribute keys of storage spans.
const (
	attrBackend   = "vigil.storage.backend"
	attrOperation = "db.operation.name"
	attrErrorType = "error.type"
)

// Store returns s with a span around each of its transactions: "storage.Update"
// for a read-write transaction, "storage.GetToken" and the like for a single
// read (its own read transaction), each with the backend's name and the
// operation as attributes and nothing of the records. A span is started
// only under a span in the call's context (a traced request); calls
// outside one go straight to s. Reads and writes through the Writer inside
// Update belong to the Update span. ErrNotFound is an answer, not an
// error: only other errors mark a span failed, by kind (error.type), never
// with the error's text. On a nil *Tracing Store returns s itself, so
// optional interfaces of s stay visible.
func (t *Tracing) Store(s storage.Store, backend string) storage.Store {
	if t == nil {
		return s
	}
	return tracedStore{Store: s, t: t, backend: attribute.String(attrBackend, backend)}
}

// tracedStore is a storage.Store that traces its transactions.
type tracedStore struct {
	storage.Store
	t       *Tracing
	backend attribute.KeyValue
}

var _ storage.Store = tracedStore{}

// call runs f in a span named "storage."+op when ctx carries a span.
func call[T any](s tracedStore, ctx context.Context, op string, f func(context.Context) (T, error)) (T, error) {
	ctx, span := s.t.child(ctx, "storage."+op, s.backend, attribute.String(attrOperation, op))
	v, err := f(ctx)
	if span != nil {
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			span.SetAttributes(attribute.String(attrErrorType, errorType(err)))
			span.SetStatus(codes.Error, errorType(err))
		}
		span.End()
	}
	return v, err
}

// errorType classifies err without its text, which may name a key.
func errorType(err error) string {
	switch {
	case errors.Is(err, storage.ErrAlreadyExists):
		return "already_exists"
	case errors.Is(err, storage.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	return "other"
}

// Update implements storage.Store: one span for the whole transaction,
// however many times the backend runs fn.
func (s tracedStore) Update(ctx context.Context, fn func(w storage.Writer) error) error {
	_, err := call(s, ctx, "Update", func(ctx context.Context) (struct{}, error) { return struct{}{}, s.Store.Update(ctx, fn) })
	return err
}

// DeleteExpired implements storage.Store.
func (s tracedStore) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	return call(s, ctx, "DeleteExpired", func(ctx context.Context) (int, error) { return s.Store.DeleteExpired(ctx, now) })
}

// GetInitialToken implements storage.Reader.
func (s tracedStore) GetInitialToken(ctx context.Context, id string) (storage.InitialAccessToken, error) {
	return call(s, ctx, "GetInitialToken", func(ctx context.Context) (storage.InitialAccessToken, error) { return s.Store.GetInitialToken(ctx, id) })
}

// ListInitialTokens implements storage.Reader.
func (s tracedStore) ListInitialTokens(ctx context.Context) ([]storage.InitialAccessToken, error) {
	return call(s, ctx, "ListInitialTokens", s.Store.ListInitialTokens)
}

// GetRegistration implements storage.Reader.
func (s tracedStore) GetRegistration(ctx context.Context, clientID string) (storage.Registration, error) {
	return call(s, ctx, "GetRegistration", func(ctx context.Context) (storage.Registration, error) { return s.Store.GetRegistration(ctx, clientID) })
}

// GetClient implements storage.Reader.
func (s tracedStore) GetClient(ctx context.Context, id string) (storage.Client, error) {
	return call(s, ctx, "GetClient", func(ctx context.Context) (storage.Client, error) { return s.Store.GetClient(ctx, id) })
}

// ListClients implements storage.Reader.
func (s tracedStore) ListClients(ctx context.Context) ([]storage.Client, error) {
	return call(s, ctx, "ListClients", s.Store.ListClients)
}

// GetResource implements storage.Reader.
func (s tracedStore) GetResource(ctx context.Context, audience string) (storage.Resource, error) {
	return call(s, ctx, "GetResource", func(ctx context.Context) (storage.Resource, error) { return s.Store.GetResource(ctx, audience) })
}

// ListResources implements storage.Reader.
func (s tracedStore) ListResources(ctx context.Context) ([]storage.Resource, error) {
	return call(s, ctx, "ListResources", s.Store.ListResources)
}

// GetIssuer implements storage.Reader.
func (s tracedStore) GetIssuer(ctx context.Context, issuer string) (storage.Issuer, error) {
	return call(s, ctx, "GetIssuer", func(ctx context.Context) (storage.Issuer, error) { return s.Store.GetIssuer(ctx, issuer) })
}

// ListIssuers implements storage.Reader.
func (s tracedStore) ListIssuers(ctx context.Context) ([]storage.Issuer, error) {
	return call(s, ctx, "ListIssuers", s.Store.ListIssuers)
}

// GetSession implements storage.Reader.
func (s tracedStore) GetSession(ctx context.Context, id string) (storage.Session, error) {
	return call(s, ctx, "GetSession", func(ctx context.Context) (storage.Session, error) { return s.Store.GetSession(ctx, id) })
}

// ListSessions implements storage.Reader.
func (s tracedStore) ListSessions(ctx context.Context, f storage.SessionFilter) ([]storage.Session, error) {
	return call(s, ctx, "ListSessions", func(ctx context.Context) ([]storage.Session, error) { return s.Store.ListSessions(ctx, f) })
}

// GetToken implements storage.Reader.
func (s tracedStore) GetToken(ctx context.Context, id string) (storage.Token, error) {
	return call(s, ctx, "GetToken", func(ctx context.Context) (storage.Token, error) { return s.Store.GetToken(ctx, id) })
}

// ListSessionTokens implements storage.Reader.
func (s tracedStore) ListSessionTokens(ctx context.Context, sid string) ([]storage.Token, error) {
	return call(s, ctx, "ListSessionTokens", func(ctx context.Context) ([]storage.Token, error) { return s.Store.ListSessionTokens(ctx, sid) })
}

// ListEvents implements storage.Reader.
func (s tracedStore) ListEvents(ctx context.Context, sid string) ([]storage.Event, error) {
	return call(s, ctx, "ListEvents", func(ctx context.Context) ([]storage.Event, error) { return s.Store.ListEvents(ctx, sid) })
}

// ListKeys implements storage.Reader.
func (s tracedStore) ListKeys(ctx context.Context) ([]storage.Key, error) {
	return call(s, ctx, "ListKeys", s.Store.ListKeys)
}

// ListAudit implements storage.Reader.
func (s tracedStore) ListAudit(ctx context.Context, f storage.AuditFilter) ([]storage.AuditRecord, error) {
	return call(s, ctx, "ListAudit", func(ctx context.Context) ([]storage.AuditRecord, error) { return s.Store.ListAudit(ctx, f) })
}

// GetStream implements storage.Reader.
func (s tracedStore) GetStream(ctx context.Context, id string) (storage.Stream, error) {
	return call(s, ctx, "GetStream", func(ctx context.Context) (storage.Stream, error) { return s.Store.GetStream(ctx, id) })
}

// ListStreams implements storage.Reader.
func (s tracedStore) ListStreams(ctx context.Context) ([]storage.Stream, error) {
	return call(s, ctx, "ListStreams", s.Store.ListStreams)
}

// ListOutbox implements storage.Reader.
func (s tracedStore) ListOutbox(ctx context.Context, streamID string, limit int) ([]storage.OutboxEntry, error) {
	return call(s, ctx, "ListOutbox", func(ctx context.Context) ([]storage.OutboxEntry, error) {
		return s.Store.ListOutbox(ctx, streamID, limit)
	})
}

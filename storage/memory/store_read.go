package memory

import (
	"context"

	"github.com/vigil-auth/vigil/storage"
)

// GetClient returns client id, or an error matching storage.ErrNotFound.
func (s *Store) GetClient(ctx context.Context, id string) (storage.Client, error) {
	return read(ctx, s, func(t *tx) (storage.Client, error) { return t.GetClient(ctx, id) })
}

// ListClients returns every client ordered by ID.
func (s *Store) ListClients(ctx context.Context) ([]storage.Client, error) {
	return read(ctx, s, func(t *tx) ([]storage.Client, error) { return t.ListClients(ctx) })
}

// GetResource returns the resource for audience, or an error matching storage.ErrNotFound.
func (s *Store) GetResource(ctx context.Context, audience string) (storage.Resource, error) {
	return read(ctx, s, func(t *tx) (storage.Resource, error) { return t.GetResource(ctx, audience) })
}

// ListResources returns every resource ordered by audience.
func (s *Store) ListResources(ctx context.Context) ([]storage.Resource, error) {
	return read(ctx, s, func(t *tx) ([]storage.Resource, error) { return t.ListResources(ctx) })
}

// GetIssuer returns the trusted issuer, or an error matching storage.ErrNotFound.
func (s *Store) GetIssuer(ctx context.Context, issuer string) (storage.Issuer, error) {
	return read(ctx, s, func(t *tx) (storage.Issuer, error) { return t.GetIssuer(ctx, issuer) })
}

// ListIssuers returns every trusted issuer ordered by issuer URL.
func (s *Store) ListIssuers(ctx context.Context) ([]storage.Issuer, error) {
	return read(ctx, s, func(t *tx) ([]storage.Issuer, error) { return t.ListIssuers(ctx) })
}

// GetSession returns session id, or an error matching storage.ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id string) (storage.Session, error) {
	return read(ctx, s, func(t *tx) (storage.Session, error) { return t.GetSession(ctx, id) })
}

// ListSessions returns the sessions matching f, newest first (by CreatedAt,
// then by ID descending).
func (s *Store) ListSessions(ctx context.Context, f storage.SessionFilter) ([]storage.Session, error) {
	return read(ctx, s, func(t *tx) ([]storage.Session, error) { return t.ListSessions(ctx, f) })
}

// GetToken returns token id, or an error matching storage.ErrNotFound.
func (s *Store) GetToken(ctx context.Context, id string) (storage.Token, error) {
	return read(ctx, s, func(t *tx) (storage.Token, error) { return t.GetToken(ctx, id) })
}

// ListSessionTokens returns the tokens of session sid ordered by IssuedAt,
// then by ID; none (and no error) for an unknown session.
func (s *Store) ListSessionTokens(ctx context.Context, sid string) ([]storage.Token, error) {
	return read(ctx, s, func(t *tx) ([]storage.Token, error) { return t.ListSessionTokens(ctx, sid) })
}

// ListEvents returns the events of session sid in Seq order; none (and no
// error) for an unknown session.
func (s *Store) ListEvents(ctx context.Context, sid string) ([]storage.Event, error) {
	return read(ctx, s, func(t *tx) ([]storage.Event, error) { return t.ListEvents(ctx, sid) })
}

// ListKeys returns every signing key ordered by CreatedAt, then by ID.
func (s *Store) ListKeys(ctx context.Context) ([]storage.Key, error) {
	return read(ctx, s, func(t *tx) ([]storage.Key, error) { return t.ListKeys(ctx) })
}

// ListAudit returns the audit records matching f in Seq order. Since keeps
// records at or after it; Limit keeps the first Limit matches.
func (s *Store) ListAudit(ctx context.Context, f storage.AuditFilter) ([]storage.AuditRecord, error) {
	return read(ctx, s, func(t *tx) ([]storage.AuditRecord, error) { return t.ListAudit(ctx, f) })
}

// GetStream returns stream id, or an error matching storage.ErrNotFound.
func (s *Store) GetStream(ctx context.Context, id string) (storage.Stream, error) {
	return read(ctx, s, func(t *tx) (storage.Stream, error) { return t.GetStream(ctx, id) })
}

// ListStreams returns every stream ordered by ID.
func (s *Store) ListStreams(ctx context.Context) ([]storage.Stream, error) {
	return read(ctx, s, func(t *tx) ([]storage.Stream, error) { return t.ListStreams(ctx) })
}

// ListOutbox returns up to n entries of the stream's outbox in Seq order.
func (s *Store) ListOutbox(ctx context.Context, streamID string, n int) ([]storage.OutboxEntry, error) {
	return read(ctx, s, func(t *tx) ([]storage.OutboxEntry, error) { return t.ListOutbox(ctx, streamID, n) })
}

// GetInitialToken returns the initial access token, or an error matching storage.ErrNotFound.
func (s *Store) GetInitialToken(ctx context.Context, id string) (storage.InitialAccessToken, error) {
	return read(ctx, s, func(t *tx) (storage.InitialAccessToken, error) { return t.GetInitialToken(ctx, id) })
}

// ListInitialTokens returns every initial access token ordered by ID.
func (s *Store) ListInitialTokens(ctx context.Context) ([]storage.InitialAccessToken, error) {
	return read(ctx, s, func(t *tx) ([]storage.InitialAccessToken, error) { return t.ListInitialTokens(ctx) })
}

// GetRegistration returns the registration of a client, or an error matching storage.ErrNotFound.
func (s *Store) GetRegistration(ctx context.Context, clientID string) (storage.Registration, error) {
	return read(ctx, s, func(t *tx) (storage.Registration, error) { return t.GetRegistration(ctx, clientID) })
}

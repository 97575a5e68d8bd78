package bolt

import (
	"context"

	"github.com/vigil-auth/vigil/storage"
)

// GetClient returns client id, or an error matching storage.ErrNotFound.
// It is served from the registration cache when it can be.
func (s *Store) GetClient(ctx context.Context, id string) (storage.Client, error) {
	if err := s.usable(ctx); err != nil {
		return storage.Client{}, err
	}
	gen := s.regs.current()
	if c, ok := gen.client(id); ok {
		return c, nil
	}
	var v storage.Client
	err := s.view(ctx, func(r txn) error { return r.getClient(id, &v) })
	if err == nil {
		gen.putClient(v)
	}
	return v, err
}

// ListClients returns every client ordered by ID.
func (s *Store) ListClients(ctx context.Context) ([]storage.Client, error) {
	return read(ctx, s, func(r txn) ([]storage.Client, error) { return r.ListClients(ctx) })
}

// GetResource returns the resource for audience, or an error matching
// storage.ErrNotFound. It is served from the registration cache when it can be.
func (s *Store) GetResource(ctx context.Context, audience string) (storage.Resource, error) {
	if err := s.usable(ctx); err != nil {
		return storage.Resource{}, err
	}
	gen := s.regs.current()
	if res, ok := gen.resource(audience); ok {
		return res, nil
	}
	v, err := read(ctx, s, func(r txn) (storage.Resource, error) { return r.GetResource(ctx, audience) })
	if err == nil {
		gen.putResource(v)
	}
	return v, err
}

// ListResources returns every resource ordered by audience.
func (s *Store) ListResources(ctx context.Context) ([]storage.Resource, error) {
	return read(ctx, s, func(r txn) ([]storage.Resource, error) { return r.ListResources(ctx) })
}

// GetIssuer returns the trusted issuer, or an error matching storage.ErrNotFound.
func (s *Store) GetIssuer(ctx context.Context, issuer string) (storage.Issuer, error) {
	return read(ctx, s, func(r txn) (storage.Issuer, error) { return r.GetIssuer(ctx, issuer) })
}

// ListIssuers returns every trusted issuer ordered by issuer URL.
func (s *Store) ListIssuers(ctx context.Context) ([]storage.Issuer, error) {
	return read(ctx, s, func(r txn) ([]storage.Issuer, error) { return r.ListIssuers(ctx) })
}

// GetSession returns session id, or an error matching storage.ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id string) (storage.Session, error) {
	var v storage.Session
	err := s.view(ctx, func(r txn) error { return r.getSession(id, &v) })
	return v, err
}

// ListSessions returns the sessions matching f, newest first (by CreatedAt,
// then by ID descending).
func (s *Store) ListSessions(ctx context.Context, f storage.SessionFilter) ([]storage.Session, error) {
	return read(ctx, s, func(r txn) ([]storage.Session, error) { return r.ListSessions(ctx, f) })
}

// GetToken returns token id, or an error matching storage.ErrNotFound.
func (s *Store) GetToken(ctx context.Context, id string) (storage.Token, error) {
	var v storage.Token
	err := s.view(ctx, func(r txn) error { return r.getToken(id, &v) })
	return v, err
}

// ListSessionTokens returns the tokens of session sid ordered by IssuedAt,
// then by ID; none (and no error) for an unknown session.
func (s *Store) ListSessionTokens(ctx context.Context, sid string) ([]storage.Token, error) {
	return read(ctx, s, func(r txn) ([]storage.Token, error) { return r.ListSessionTokens(ctx, sid) })
}

// ListEvents returns the events of session sid in Seq order; none (and no
// error) for an unknown session.
func (s *Store) ListEvents(ctx context.Context, sid string) ([]storage.Event, error) {
	return read(ctx, s, func(r txn) ([]storage.Event, error) { return r.ListEvents(ctx, sid) })
}

// ListKeys returns every signing key ordered by CreatedAt, then by ID.
func (s *Store) ListKeys(ctx context.Context) ([]storage.Key, error) {
	return read(ctx, s, func(r txn) ([]storage.Key, error) { return r.ListKeys(ctx) })
}

// ListAudit returns the audit records matching f in Seq order. Since keeps
// records at or after it; Limit keeps the first Limit matches.
func (s *Store) ListAudit(ctx context.Context, f storage.AuditFilter) ([]storage.AuditRecord, error) {
	return read(ctx, s, func(r txn) ([]storage.AuditRecord, error) { return r.ListAudit(ctx, f) })
}

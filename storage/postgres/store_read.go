package postgres

import (
	"context"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// read runs fn on the pool once the store is usable.
func read[T any](ctx context.Context, s *Store, fn func(reader) (T, error)) (T, error) {
	if err := s.usable(ctx); err != nil {
		var zero T
		return zero, err
	}
	s.counts.reads.Add(1)
	return fn(reader{q: s.pool})
}

// cached answers from the registration cache while the change feed is
// fresh, and reads through (filling the cache) otherwise.
func cached[T any](ctx context.Context, s *Store, kind, key string, fn func(reader) (T, error)) (T, error) {
	if err := s.usable(ctx); err != nil {
		var zero T
		return zero, err
	}
	if v, ok := s.fromCache(s.cache, kind, key); ok {
		return v.(T), nil
	}
	fresh := s.feed.Fresh()
	gen := s.cache.generation()
	s.counts.reads.Add(1)
	v, err := fn(reader{q: s.pool})
	if err == nil && fresh {
		s.cache.put(kind, key, v, time.Time{}, gen)
	}
	return v, err
}

// fromCache returns what c holds under (kind, key) while the change feed
// is fresh. Freshness is judged after the lookup, by the last good poll as
// it was before it: that poll's drops had all been made when the lookup
// ran, however long this goroutine waits between the two.
func (s *Store) fromCache(c *cache, kind, key string) (any, bool) {
	mark := s.feed.mark()
	v, ok := c.get(kind, key, s.now())
	return v, ok && s.feed.freshSince(mark)
}

// GetClient implements storage.Reader, from the cache while the feed is fresh.
func (s *Store) GetClient(ctx context.Context, id string) (storage.Client, error) {
	c, err := cached(ctx, s, KindClient, id, func(r reader) (storage.Client, error) { return r.GetClient(ctx, id) })
	return c.Clone(), err
}

// ListClients implements storage.Reader.
func (s *Store) ListClients(ctx context.Context) ([]storage.Client, error) {
	return read(ctx, s, func(r reader) ([]storage.Client, error) { return r.ListClients(ctx) })
}

// GetResource implements storage.Reader, from the cache while the feed is fresh.
func (s *Store) GetResource(ctx context.Context, audience string) (storage.Resource, error) {
	return cached(ctx, s, KindResource, audience, func(r reader) (storage.Resource, error) { return r.GetResource(ctx, audience) })
}

// ListResources implements storage.Reader.
func (s *Store) ListResources(ctx context.Context) ([]storage.Resource, error) {
	return read(ctx, s, func(r reader) ([]storage.Resource, error) { return r.ListResources(ctx) })
}

// GetIssuer implements storage.Reader, from the cache while the feed is fresh.
func (s *Store) GetIssuer(ctx context.Context, issuer string) (storage.Issuer, error) {
	i, err := cached(ctx, s, KindIssuer, issuer, func(r reader) (storage.Issuer, error) { return r.GetIssuer(ctx, issuer) })
	return i.Clone(), err
}

// ListIssuers implements storage.Reader.
func (s *Store) ListIssuers(ctx context.Context) ([]storage.Issuer, error) {
	return read(ctx, s, func(r reader) ([]storage.Issuer, error) { return r.ListIssuers(ctx) })
}

// GetSession implements storage.Reader. While the change feed is fresh it
// answers from the cache, until the session's cached expiry (see
// writer.PutSession); a read through fills the cache.
func (s *Store) GetSession(ctx context.Context, id string) (storage.Session, error) {
	if err := s.usable(ctx); err != nil {
		return storage.Session{}, err
	}
	if v, ok := s.fromCache(s.records, KindSession, id); ok {
		return v.(storage.Session).Clone(), nil
	}
	fresh := s.feed.Fresh()
	gen := s.records.generation()
	s.counts.reads.Add(1)
	sess, err := reader{q: s.pool}.GetSession(ctx, id)
	if err == nil && fresh {
		s.records.put(KindSession, id, sess.Clone(), sess.ExpiresAt, gen)
	}
	return sess, err
}

// ListSessions implements storage.Reader.
func (s *Store) ListSessions(ctx context.Context, f storage.SessionFilter) ([]storage.Session, error) {
	return read(ctx, s, func(r reader) ([]storage.Session, error) { return r.ListSessions(ctx, f) })
}

// GetToken implements storage.Reader. Access tokens are cached: while the
// change feed is fresh a cached one answers until it expires, and every
// change of a token is on the feed, so a revocation committed on any
// instance stops the cached answer within FreshFor. A read through fetches
// the token with its session in one round trip and caches both.
func (s *Store) GetToken(ctx context.Context, id string) (storage.Token, error) {
	if err := s.usable(ctx); err != nil {
		return storage.Token{}, err
	}
	if v, ok := s.fromCache(s.records, KindToken, id); ok {
		return v.(storage.Token).Clone(), nil
	}
	fresh := s.feed.Fresh()
	gen := s.records.generation()
	s.counts.reads.Add(1)
	t, sess, err := reader{q: s.pool}.tokenAndSession(ctx, id, fresh)
	if err == nil && fresh && t.Kind == storage.AccessToken {
		s.records.put(KindToken, id, t.Clone(), t.ExpiresAt, gen)
		if sess != nil {
			s.records.put(KindSession, sess.ID, *sess, sess.ExpiresAt, gen)
		}
	}
	return t, err
}

// ListSessionTokens implements storage.Reader.
func (s *Store) ListSessionTokens(ctx context.Context, sid string) ([]storage.Token, error) {
	return read(ctx, s, func(r reader) ([]storage.Token, error) { return r.ListSessionTokens(ctx, sid) })
}

// ListEvents implements storage.Reader.
func (s *Store) ListEvents(ctx context.Context, sid string) ([]storage.Event, error) {
	return read(ctx, s, func(r reader) ([]storage.Event, error) { return r.ListEvents(ctx, sid) })
}

// ListKeys implements storage.Reader.
func (s *Store) ListKeys(ctx context.Context) ([]storage.Key, error) {
	return read(ctx, s, func(r reader) ([]storage.Key, error) { return r.ListKeys(ctx) })
}

// ListAudit implements storage.Reader.
func (s *Store) ListAudit(ctx context.Context, f storage.AuditFilter) ([]storage.AuditRecord, error) {
	return read(ctx, s, func(r reader) ([]storage.AuditRecord, error) { return r.ListAudit(ctx, f) })
}

// GetInitialToken implements storage.Reader.
func (s *Store) GetInitialToken(ctx context.Context, id string) (storage.InitialAccessToken, error) {
	return read(ctx, s, func(r reader) (storage.InitialAccessToken, error) { return r.GetInitialToken(ctx, id) })
}

// ListInitialTokens implements storage.Reader.
func (s *Store) ListInitialTokens(ctx context.Context) ([]storage.InitialAccessToken, error) {
	return read(ctx, s, func(r reader) ([]storage.InitialAccessToken, error) { return r.ListInitialTokens(ctx) })
}

// GetRegistration implements storage.Reader.
func (s *Store) GetRegistration(ctx context.Context, clientID string) (storage.Registration, error) {
	return read(ctx, s, func(r reader) (storage.Registration, error) { return r.GetRegistration(ctx, clientID) })
}

// GetStream implements storage.Reader.
func (s *Store) GetStream(ctx context.Context, id string) (storage.Stream, error) {
	return read(ctx, s, func(r reader) (storage.Stream, error) { return r.GetStream(ctx, id) })
}

// ListStreams implements storage.Reader.
func (s *Store) ListStreams(ctx context.Context) ([]storage.Stream, error) {
	return read(ctx, s, func(r reader) ([]storage.Stream, error) { return r.ListStreams(ctx) })
}

// ListOutbox implements storage.Reader.
func (s *Store) ListOutbox(ctx context.Context, streamID string, limit int) ([]storage.OutboxEntry, error) {
	return read(ctx, s, func(r reader) ([]storage.OutboxEntry, error) { return r.ListOutbox(ctx, streamID, limit) })
}

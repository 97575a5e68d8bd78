package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// PutClient implements storage.Writer.
func (t *tx) PutClient(ctx context.Context, c storage.Client) error {
	return put(ctx, t, &t.clients, storage.Client.Clone, "client", c.ID, c)
}

// DeleteClient implements storage.Writer.
func (t *tx) DeleteClient(ctx context.Context, id string) error {
	return del(ctx, t, &t.clients, "client", id)
}

// PutResource implements storage.Writer.
func (t *tx) PutResource(ctx context.Context, r storage.Resource) error {
	return put(ctx, t, &t.resources, cloneResource, "resource", r.Audience, r)
}

// DeleteResource implements storage.Writer.
func (t *tx) DeleteResource(ctx context.Context, audience string) error {
	return del(ctx, t, &t.resources, "resource", audience)
}

// PutIssuer implements storage.Writer.
func (t *tx) PutIssuer(ctx context.Context, i storage.Issuer) error {
	return put(ctx, t, &t.issuers, storage.Issuer.Clone, "issuer", i.Issuer, i)
}

// DeleteIssuer implements storage.Writer.
func (t *tx) DeleteIssuer(ctx context.Context, issuer string) error {
	return del(ctx, t, &t.issuers, "issuer", issuer)
}

// CreateSession implements storage.Writer.
func (t *tx) CreateSession(ctx context.Context, s storage.Session) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if _, ok := t.sessions.get(s.ID); ok {
		return fmt.Errorf("memory: session %q: %w", s.ID, storage.ErrAlreadyExists)
	}
	return put(ctx, t, &t.sessions, storage.Session.Clone, "session", s.ID, s)
}

// PutSession implements storage.Writer.
func (t *tx) PutSession(ctx context.Context, s storage.Session) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if _, ok := t.sessions.get(s.ID); !ok {
		return notFound("session", s.ID)
	}
	return put(ctx, t, &t.sessions, storage.Session.Clone, "session", s.ID, s)
}

// CreateToken implements storage.Writer. A token naming a session that does
// not exist is refused with storage.ErrNotFound.
func (t *tx) CreateToken(ctx context.Context, tok storage.Token) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if _, ok := t.tokens.get(tok.ID); ok {
		return fmt.Errorf("memory: token %q: %w", tok.ID, storage.ErrAlreadyExists)
	}
	if err := t.sessionExists(tok.SessionID); err != nil {
		return err
	}
	return put(ctx, t, &t.tokens, storage.Token.Clone, "token", tok.ID, tok)
}

// PutToken implements storage.Writer. Moving a token to a session that does
// not exist is refused with storage.ErrNotFound.
func (t *tx) PutToken(ctx context.Context, tok storage.Token) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	old, ok := t.tokens.get(tok.ID)
	if !ok {
		return notFound("token", tok.ID)
	}
	if old.SessionID != tok.SessionID {
		if err := t.sessionExists(tok.SessionID); err != nil {
			return err
		}
	}
	return put(ctx, t, &t.tokens, storage.Token.Clone, "token", tok.ID, tok)
}

// sessionExists returns storage.ErrNotFound unless sid is "" or a session.
func (t *tx) sessionExists(sid string) error {
	if sid == "" {
		return nil
	}
	if _, ok := t.sessions.get(sid); !ok {
		return notFound("session", sid)
	}
	return nil
}

// UseJTI implements storage.Writer.
func (t *tx) UseJTI(ctx context.Context, key string, exp, now time.Time) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if cur, ok := t.jtis.get(key); ok && !expired(cur, now) {
		return fmt.Errorf("memory: jti %q: %w", key, storage.ErrAlreadyExists)
	}
	return put(ctx, t, &t.jtis, func(v time.Time) time.Time { return v }, "jti", key, exp)
}

// AppendEvent implements storage.Writer. The event's session must exist
// (storage.ErrNotFound otherwise); Seq is one more than the session's
// previous event, starting at 1.
func (t *tx) AppendEvent(ctx context.Context, e storage.Event) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if _, ok := t.sessions.get(e.SessionID); !ok {
		return notFound("session", e.SessionID)
	}
	e.Seq = 1
	for _, evs := range [][]storage.Event{t.d.events[e.SessionID], t.events[e.SessionID]} {
		if len(evs) > 0 {
			e.Seq = evs[len(evs)-1].Seq + 1
		}
	}
	if t.events == nil {
		t.events = map[string][]storage.Event{}
	}
	t.events[e.SessionID] = append(t.events[e.SessionID], cloneEvent(e))
	return nil
}

// PutKey implements storage.Writer.
func (t *tx) PutKey(ctx context.Context, k storage.Key) error {
	return put(ctx, t, &t.keys, cloneKey, "key", k.ID, k)
}

// AppendAudit implements storage.Writer. Seq is one more than the previous
// record's, starting at 1.
func (t *tx) AppendAudit(ctx context.Context, r storage.AuditRecord) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	r.Seq = t.d.lastAudit + uint64(len(t.audit)) + 1
	t.audit = append(t.audit, r)
	return nil
}

// PutInitialToken implements storage.Writer.
func (t *tx) PutInitialToken(ctx context.Context, it storage.InitialAccessToken) error {
	return put(ctx, t, &t.initialTokens, cloneInitialToken, "initial access token", it.ID, it)
}

// DeleteInitialToken implements storage.Writer.
func (t *tx) DeleteInitialToken(ctx context.Context, id string) error {
	return del(ctx, t, &t.initialTokens, "initial access token", id)
}

// PutRegistration implements storage.Writer.
func (t *tx) PutRegistration(ctx context.Context, r storage.Registration) error {
	return put(ctx, t, &t.registrations, cloneRegistration, "registration", r.ClientID, r)
}

// DeleteRegistration implements storage.Writer.
func (t *tx) DeleteRegistration(ctx context.Context, clientID string) error {
	return del(ctx, t, &t.registrations, "registration", clientID)
}

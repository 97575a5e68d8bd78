package memory

import (
	"context"
	"slices"

	"github.com/vigil-auth/vigil/storage"
)

// GetClient implements storage.Reader.
func (t *tx) GetClient(ctx context.Context, id string) (storage.Client, error) {
	return get(ctx, t, &t.clients, storage.Client.Clone, "client", id)
}

// ListClients implements storage.Reader.
func (t *tx) ListClients(ctx context.Context) ([]storage.Client, error) {
	return list(ctx, t, &t.clients, storage.Client.Clone)
}

// GetResource implements storage.Reader.
func (t *tx) GetResource(ctx context.Context, audience string) (storage.Resource, error) {
	return get(ctx, t, &t.resources, cloneResource, "resource", audience)
}

// ListResources implements storage.Reader.
func (t *tx) ListResources(ctx context.Context) ([]storage.Resource, error) {
	return list(ctx, t, &t.resources, cloneResource)
}

// GetIssuer implements storage.Reader.
func (t *tx) GetIssuer(ctx context.Context, issuer string) (storage.Issuer, error) {
	return get(ctx, t, &t.issuers, storage.Issuer.Clone, "issuer", issuer)
}

// ListIssuers implements storage.Reader.
func (t *tx) ListIssuers(ctx context.Context) ([]storage.Issuer, error) {
	return list(ctx, t, &t.issuers, storage.Issuer.Clone)
}

// GetSession implements storage.Reader.
func (t *tx) GetSession(ctx context.Context, id string) (storage.Session, error) {
	return get(ctx, t, &t.sessions, storage.Session.Clone, "session", id)
}

// ListSessions implements storage.Reader.
func (t *tx) ListSessions(ctx context.Context, f storage.SessionFilter) ([]storage.Session, error) {
	if err := t.check(ctx); err != nil {
		return nil, err
	}
	var out []storage.Session
	t.sessions.each(func(_ string, s storage.Session) {
		if (f.ClientID == "" || s.ClientID == f.ClientID) && (f.Status == "" || s.Status == f.Status) &&
			f.MatchesCreated(s.CreatedAt) {
			out = append(out, s)
		}
	})
	out = limit(sorted(out, newestFirst), f.Limit)
	for i := range out {
		out[i] = out[i].Clone()
	}
	return out, nil
}

// GetToken implements storage.Reader.
func (t *tx) GetToken(ctx context.Context, id string) (storage.Token, error) {
	return get(ctx, t, &t.tokens, storage.Token.Clone, "token", id)
}

// ListSessionTokens implements storage.Reader.
func (t *tx) ListSessionTokens(ctx context.Context, sid string) ([]storage.Token, error) {
	if err := t.check(ctx); err != nil {
		return nil, err
	}
	var out []storage.Token
	add := func(id string) {
		if tok, ok := t.tokens.get(id); ok && tok.SessionID == sid {
			out = append(out, tok.Clone())
		}
	}
	for id := range t.d.sessionTokens[sid] {
		if _, pending := t.tokens.over[id]; !pending {
			add(id)
		}
	}
	for id := range t.tokens.over {
		add(id)
	}
	return sorted(out, issuedFirst), nil
}

// ListEvents implements storage.Reader.
func (t *tx) ListEvents(ctx context.Context, sid string) ([]storage.Event, error) {
	if err := t.check(ctx); err != nil {
		return nil, err
	}
	base, over := t.d.events[sid], t.events[sid]
	if len(base)+len(over) == 0 {
		return nil, nil
	}
	out := make([]storage.Event, 0, len(base)+len(over))
	for _, evs := range [][]storage.Event{base, over} {
		for _, e := range evs {
			out = append(out, cloneEvent(e))
		}
	}
	return out, nil
}

// ListKeys implements storage.Reader.
func (t *tx) ListKeys(ctx context.Context) ([]storage.Key, error) {
	keys, err := list(ctx, t, &t.keys, cloneKey)
	if err != nil {
		return nil, err
	}
	return sorted(keys, createdFirst), nil
}

// ListAudit implements storage.Reader.
func (t *tx) ListAudit(ctx context.Context, f storage.AuditFilter) ([]storage.AuditRecord, error) {
	if err := t.check(ctx); err != nil {
		return nil, err
	}
	all := slices.Concat(t.d.audit, t.audit)
	if f.Newest {
		slices.Reverse(all)
	}
	var out []storage.AuditRecord
	for _, r := range all {
		if f.Limit > 0 && len(out) == f.Limit {
			return out, nil
		}
		if auditMatches(f, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// auditMatches reports whether r passes filter f.
func auditMatches(f storage.AuditFilter, r storage.AuditRecord) bool {
	return (f.ClientID == "" || r.ClientID == f.ClientID) &&
		(f.SessionID == "" || r.SessionID == f.SessionID) &&
		!r.At.Before(f.Since)
}

// GetInitialToken implements storage.Reader.
func (t *tx) GetInitialToken(ctx context.Context, id string) (storage.InitialAccessToken, error) {
	return get(ctx, t, &t.initialTokens, cloneInitialToken, "initial access token", id)
}

// ListInitialTokens implements storage.Reader.
func (t *tx) ListInitialTokens(ctx context.Context) ([]storage.InitialAccessToken, error) {
	return list(ctx, t, &t.initialTokens, cloneInitialToken)
}

// GetRegistration implements storage.Reader.
func (t *tx) GetRegistration(ctx context.Context, clientID string) (storage.Registration, error) {
	return get(ctx, t, &t.registrations, cloneRegistration, "registration", clientID)
}

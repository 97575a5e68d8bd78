package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vigil-auth/vigil/storage"
)

// querier is what reads need: the pool, or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// reader implements storage.Reader over a querier. lock adds FOR UPDATE
// to the reads of tokens and sessions (inside Update).
type reader struct {
	q    querier
	lock bool
}

// one reads the document of one row and decodes it into a T.
func one[T any](ctx context.Context, q querier, what, key, sql string, args ...any) (T, error) {
	var v T
	if err := ctx.Err(); err != nil {
		return v, fmt.Errorf("postgres: %w", err)
	}
	if !storable(key) { // PostgreSQL text holds no such key: nothing can be stored under it
		return v, fmt.Errorf("postgres: %s %q: %w", what, key, storage.ErrNotFound)
	}
	var doc []byte
	err := q.QueryRow(ctx, sql, args...).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, fmt.Errorf("postgres: %s %q: %w", what, key, storage.ErrNotFound)
	}
	if err != nil {
		return v, dbErr(ctx, err)
	}
	if err := json.Unmarshal(doc, &v); err != nil {
		return v, fmt.Errorf("postgres: decode %s %q: %w", what, key, err)
	}
	return v, nil
}

// many reads the documents of rows and decodes each into a T.
func many[T any](ctx context.Context, q querier, sql string, args ...any) ([]T, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, dbErr(ctx, err)
	}
	docs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, dbErr(ctx, err)
	}
	var out []T
	for _, doc := range docs {
		var v T
		if err := json.Unmarshal(doc, &v); err != nil {
			return nil, fmt.Errorf("postgres: decode: %w", err)
		}
		out = append(out, v)
	}
	return out, nil
}

func (r reader) forUpdate() string {
	if r.lock {
		return " FOR UPDATE"
	}
	return ""
}

// GetClient implements storage.Reader.
func (r reader) GetClient(ctx context.Context, id string) (storage.Client, error) {
	return one[storage.Client](ctx, r.q, "client", id, `SELECT doc FROM clients WHERE id = $1`, id)
}

// ListClients implements storage.Reader.
func (r reader) ListClients(ctx context.Context) ([]storage.Client, error) {
	return many[storage.Client](ctx, r.q, `SELECT doc FROM clients ORDER BY id`)
}

// GetResource implements storage.Reader.
func (r reader) GetResource(ctx context.Context, audience string) (storage.Resource, error) {
	return one[storage.Resource](ctx, r.q, "resource", audience, `SELECT doc FROM resources WHERE audience = $1`, audience)
}

// ListResources implements storage.Reader.
func (r reader) ListResources(ctx context.Context) ([]storage.Resource, error) {
	return many[storage.Resource](ctx, r.q, `SELECT doc FROM resources ORDER BY audience`)
}

// GetIssuer implements storage.Reader.
func (r reader) GetIssuer(ctx context.Context, issuer string) (storage.Issuer, error) {
	return one[storage.Issuer](ctx, r.q, "issuer", issuer, `SELECT doc FROM issuers WHERE issuer = $1`, issuer)
}

// ListIssuers implements storage.Reader.
func (r reader) ListIssuers(ctx context.Context) ([]storage.Issuer, error) {
	return many[storage.Issuer](ctx, r.q, `SELECT doc FROM issuers ORDER BY issuer`)
}

// GetSession implements storage.Reader.
func (r reader) GetSession(ctx context.Context, id string) (storage.Session, error) {
	return one[storage.Session](ctx, r.q, "session", id, `SELECT doc FROM sessions WHERE id = $1`+r.forUpdate(), id)
}

// ListSessions implements storage.Reader. The creation-time range uses
// the sessions_created and sessions_client indexes (created_ns leads or
// follows client_id in them).
func (r reader) ListSessions(ctx context.Context, f storage.SessionFilter) ([]storage.Session, error) {
	var where []string
	var args []any
	if f.ClientID != "" {
		args = append(args, f.ClientID)
		where = append(where, fmt.Sprintf("client_id = $%d", len(args)))
	}
	if f.Status != "" {
		args = append(args, f.Status)
		where = append(where, fmt.Sprintf("status = $%d", len(args)))
	}
	if !f.CreatedFrom.IsZero() {
		args = append(args, ns(f.CreatedFrom))
		where = append(where, fmt.Sprintf("created_ns >= $%d", len(args)))
	}
	if !f.CreatedTo.IsZero() {
		args = append(args, ns(f.CreatedTo))
		where = append(where, fmt.Sprintf("created_ns <= $%d", len(args)))
	}
	q := `SELECT doc FROM sessions`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_ns DESC, id DESC"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	return many[storage.Session](ctx, r.q, q, args...)
}

// GetToken implements storage.Reader.
func (r reader) GetToken(ctx context.Context, id string) (storage.Token, error) {
	return one[storage.Token](ctx, r.q, "token", id, `SELECT doc FROM tokens WHERE id = $1`+r.forUpdate(), id)
}

// tokenAndSession reads token id and, when withSession is set and it is
// an access token, its session in the same statement (nil when it has
// none).
func (r reader) tokenAndSession(ctx context.Context, id string, withSession bool) (storage.Token, *storage.Session, error) {
	if !withSession {
		t, err := r.GetToken(ctx, id)
		return t, nil, err
	}
	var t storage.Token
	if err := ctx.Err(); err != nil {
		return t, nil, fmt.Errorf("postgres: %w", err)
	}
	if !storable(id) {
		return t, nil, fmt.Errorf("postgres: token %q: %w", id, storage.ErrNotFound)
	}
	var tdoc, sdoc []byte
	err := r.q.QueryRow(ctx, `SELECT t.doc, s.doc FROM tokens t LEFT JOIN sessions s ON s.id = t.session_id
		WHERE t.id = $1`, id).Scan(&tdoc, &sdoc)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, nil, fmt.Errorf("postgres: token %q: %w", id, storage.ErrNotFound)
	}
	if err != nil {
		return t, nil, dbErr(ctx, err)
	}
	if err := json.Unmarshal(tdoc, &t); err != nil {
		return t, nil, fmt.Errorf("postgres: decode token %q: %w", id, err)
	}
	if sdoc == nil || t.Kind != storage.AccessToken {
		return t, nil, nil
	}
	var sess storage.Session
	if err := json.Unmarshal(sdoc, &sess); err != nil {
		return t, nil, fmt.Errorf("postgres: decode session %q: %w", t.SessionID, err)
	}
	return t, &sess, nil
}

// ListSessionTokens implements storage.Reader.
func (r reader) ListSessionTokens(ctx context.Context, sid string) ([]storage.Token, error) {
	return many[storage.Token](ctx, r.q, `SELECT doc FROM tokens WHERE session_id = $1 ORDER BY issued_ns, id`, sid)
}

// ListEvents implements storage.Reader. Seq comes from its column.
func (r reader) ListEvents(ctx context.Context, sid string) ([]storage.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	rows, err := r.q.Query(ctx, `SELECT seq, doc FROM events WHERE session_id = $1 ORDER BY seq`, sid)
	if err != nil {
		return nil, dbErr(ctx, err)
	}
	var out []storage.Event
	var seq int64
	var doc []byte
	_, err = pgx.ForEachRow(rows, []any{&seq, &doc}, func() error {
		var e storage.Event
		if err := json.Unmarshal(doc, &e); err != nil {
			return fmt.Errorf("postgres: decode event %s/%d: %w", sid, seq, err)
		}
		e.Seq = uint64(seq)
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, dbErr(ctx, err)
	}
	return out, nil
}

// ListKeys implements storage.Reader. Inside Update it first locks the key
// table, so that rotations on several instances take turns and each sees
// the keys the one before it committed.
func (r reader) ListKeys(ctx context.Context) ([]storage.Key, error) {
	if r.lock {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		if _, err := r.q.Exec(ctx, `LOCK TABLE signing_keys IN EXCLUSIVE MODE`); err != nil {
			return nil, dbErr(ctx, err)
		}
	}
	return many[storage.Key](ctx, r.q, `SELECT doc FROM signing_keys ORDER BY created_ns, id`)
}

// ListAudit implements storage.Reader.
func (r reader) ListAudit(ctx context.Context, f storage.AuditFilter) ([]storage.AuditRecord, error) {
	where := []string{"at_ns >= $1"}
	args := []any{ns(f.Since)}
	if f.ClientID != "" {
		args = append(args, f.ClientID)
		where = append(where, fmt.Sprintf("client_id = $%d", len(args)))
	}
	if f.SessionID != "" {
		args = append(args, f.SessionID)
		where = append(where, fmt.Sprintf("session_id = $%d", len(args)))
	}
	q := `SELECT seq, doc FROM audit WHERE ` + strings.Join(where, " AND ") + " ORDER BY seq"
	if f.Newest {
		q += " DESC"
	}
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	rows, err := r.q.Query(ctx, q, args...)
	if err != nil {
		return nil, dbErr(ctx, err)
	}
	var out []storage.AuditRecord
	var seq int64
	var doc []byte
	_, err = pgx.ForEachRow(rows, []any{&seq, &doc}, func() error {
		var rec storage.AuditRecord
		if err := json.Unmarshal(doc, &rec); err != nil {
			return fmt.Errorf("postgres: decode audit %d: %w", seq, err)
		}
		rec.Seq = uint64(seq)
		out = append(out, rec)
		return nil
	})
	if err != nil {
		return nil, dbErr(ctx, err)
	}
	return out, nil
}

// GetInitialToken implements storage.Reader.
func (r reader) GetInitialToken(ctx context.Context, id string) (storage.InitialAccessToken, error) {
	return one[storage.InitialAccessToken](ctx, r.q, "initial access token", id, `SELECT doc FROM initial_tokens WHERE id = $1`+r.forUpdate(), id)
}

// ListInitialTokens implements storage.Reader.
func (r reader) ListInitialTokens(ctx context.Context) ([]storage.InitialAccessToken, error) {
	return many[storage.InitialAccessToken](ctx, r.q, `SELECT doc FROM initial_tokens ORDER BY id`)
}

// GetRegistration implements storage.Reader.
func (r reader) GetRegistration(ctx context.Context, clientID string) (storage.Registration, error) {
	return one[storage.Registration](ctx, r.q, "registration", clientID, `SELECT doc FROM registrations WHERE client_id = $1`, clientID)
}

// GetStream implements storage.Reader.
func (r reader) GetStream(ctx context.Context, id string) (storage.Stream, error) {
	return one[storage.Stream](ctx, r.q, "stream", id, `SELECT doc FROM streams WHERE id = $1`, id)
}

// ListStreams implements storage.Reader.
func (r reader) ListStreams(ctx context.Context) ([]storage.Stream, error) {
	return many[storage.Stream](ctx, r.q, `SELECT doc FROM streams ORDER BY id`)
}

// ListOutbox implements storage.Reader.
func (r reader) ListOutbox(ctx context.Context, streamID string, limit int) ([]storage.OutboxEntry, error) {
	q := `SELECT doc FROM outbox WHERE stream_id = $1 ORDER BY seq`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	return many[storage.OutboxEntry](ctx, r.q, q, streamID)
}

// storable reports whether key fits a text column: valid UTF-8 without NUL.
func storable(key string) bool {
	return utf8.ValidString(key) && !strings.ContainsRune(key, 0)
}

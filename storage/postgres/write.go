package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-auth/vigil/storage"
)

// writer implements storage.Writer inside one transaction. It remembers
// the changes other instances must hear about; Update writes them to the
// changes table, with one NOTIFY, before COMMIT. It also remembers the
// sessions whose expiry alone it extended, which only this instance's
// cache must drop (see PutSession).
type writer struct {
	reader
	tx       pgx.Tx
	changes  []Change
	extended []string
	// sessions holds the sessions read (and locked) in this transaction,
	// as they were, to tell what a PutSession changes.
	sessions map[string]storage.Session
}

var _ storage.Writer = (*writer)(nil)

// note records a change for the feed.
func (w *writer) note(kind, key string) { w.changes = append(w.changes, Change{Kind: kind, Key: key}) }

// flushChanges writes the noted changes and wakes the other instances.
func (w *writer) flushChanges(ctx context.Context) error {
	if len(w.changes) == 0 {
		return nil
	}
	kinds, keys := make([]string, len(w.changes)), make([]string, len(w.changes))
	for i, c := range w.changes {
		kinds[i], keys[i] = c.Kind, c.Key
	}
	_, err := w.tx.Exec(ctx, `WITH c AS (INSERT INTO changes (kind, key) SELECT * FROM unnest($1::text[], $2::text[]) RETURNING 1)
		SELECT pg_notify('`+notifyChannel+`', '')`, kinds, keys)
	return w.err(ctx, err)
}

func (w *writer) err(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	return dbErr(ctx, err)
}

// exec runs one statement after checking ctx and the key.
func (w *writer) exec(ctx context.Context, what, key, sql string, args ...any) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("postgres: %w", err)
	}
	if key == "" || !storable(key) {
		return 0, fmt.Errorf("postgres: %s with an empty key or one that is not UTF-8 text", what)
	}
	tag, err := w.tx.Exec(ctx, sql, args...)
	if err != nil {
		return 0, dbErr(ctx, err)
	}
	return tag.RowsAffected(), nil
}

// put upserts doc under key in table (whose key column is col).
func (w *writer) put(ctx context.Context, table, col, what, key string, v any) error {
	doc, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("postgres: encode %s: %w", what, err)
	}
	_, err = w.exec(ctx, what, key, `INSERT INTO `+table+` (`+col+`, doc) VALUES ($1, $2)
		ON CONFLICT (`+col+`) DO UPDATE SET doc = EXCLUDED.doc`, key, doc)
	return err
}

// del removes key from table, or returns storage.ErrNotFound.
func (w *writer) del(ctx context.Context, table, col, what, key string) error {
	n, err := w.exec(ctx, what, key, `DELETE FROM `+table+` WHERE `+col+` = $1`, key)
	if err == nil && n == 0 {
		err = fmt.Errorf("postgres: %s %q: %w", what, key, storage.ErrNotFound)
	}
	return err
}

// PutClient implements storage.Writer.
func (w *writer) PutClient(ctx context.Context, c storage.Client) error {
	w.note(KindClient, c.ID)
	return w.put(ctx, "clients", "id", "client", c.ID, c)
}

// DeleteClient implements storage.Writer.
func (w *writer) DeleteClient(ctx context.Context, id string) error {
	w.note(KindClient, id)
	return w.del(ctx, "clients", "id", "client", id)
}

// PutResource implements storage.Writer.
func (w *writer) PutResource(ctx context.Context, r storage.Resource) error {
	w.note(KindResource, r.Audience)
	return w.put(ctx, "resources", "audience", "resource", r.Audience, r)
}

// DeleteResource implements storage.Writer.
func (w *writer) DeleteResource(ctx context.Context, audience string) error {
	w.note(KindResource, audience)
	return w.del(ctx, "resources", "audience", "resource", audience)
}

// PutIssuer implements storage.Writer.
func (w *writer) PutIssuer(ctx context.Context, i storage.Issuer) error {
	w.note(KindIssuer, i.Issuer)
	return w.put(ctx, "issuers", "issuer", "issuer", i.Issuer, i)
}

// DeleteIssuer implements storage.Writer.
func (w *writer) DeleteIssuer(ctx context.Context, issuer string) error {
	w.note(KindIssuer, issuer)
	return w.del(ctx, "issuers", "issuer", "issuer", issuer)
}

// CreateSession implements storage.Writer.
func (w *writer) CreateSession(ctx context.Context, s storage.Session) error {
	doc, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("postgres: encode session: %w", err)
	}
	n, err := w.exec(ctx, "session", s.ID, `INSERT INTO sessions (id, client_id, status, created_ns, expires_ns, doc)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
		s.ID, s.ClientID, s.Status, ns(s.CreatedAt), ns(s.ExpiresAt), doc)
	if err == nil && n == 0 {
		err = fmt.Errorf("postgres: session %q: %w", s.ID, storage.ErrAlreadyExists)
	}
	return err
}

// GetSession implements storage.Reader: it locks the session's row and
// remembers the session as it was.
func (w *writer) GetSession(ctx context.Context, id string) (storage.Session, error) {
	sess, err := w.reader.GetSession(ctx, id)
	if err == nil {
		if w.sessions == nil {
			w.sessions = map[string]storage.Session{}
		}
		w.sessions[id] = sess.Clone()
	}
	return sess, err
}

// PutSession implements storage.Writer. A change is announced on the
// change feed unless all it does is extend the expiry of the session read
// in this transaction: the other instances' caches need not hear of that,
// because they never answer with a session past its cached expiry, and
// before it the extension changes no answer. This instance's cache drops
// the session either way. (Keeping the extended session in its place
// instead would race a later change committed here, such as a
// termination, whose drop could come first.)
func (w *writer) PutSession(ctx context.Context, s storage.Session) error {
	doc, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("postgres: encode session: %w", err)
	}
	n, err := w.exec(ctx, "session", s.ID, `UPDATE sessions SET client_id = $2, status = $3, created_ns = $4,
		expires_ns = $5, doc = $6 WHERE id = $1`, s.ID, s.ClientID, s.Status, ns(s.CreatedAt), ns(s.ExpiresAt), doc)
	if err == nil && n == 0 {
		err = fmt.Errorf("postgres: session %q: %w", s.ID, storage.ErrNotFound)
	}
	switch {
	case err != nil:
	case w.onlyExtends(s, doc):
		w.extended = append(w.extended, s.ID)
	default:
		w.note(KindSession, s.ID)
	}
	return err
}

// onlyExtends reports whether s, encoded as doc, differs from the session
// this transaction read under its ID in nothing but a later expiry.
func (w *writer) onlyExtends(s storage.Session, doc []byte) bool {
	old, ok := w.sessions[s.ID]
	if !ok || s.ExpiresAt.Before(old.ExpiresAt) {
		return false
	}
	old.ExpiresAt = s.ExpiresAt
	was, err := json.Marshal(old)
	return err == nil && bytes.Equal(was, doc)
}

// sessionExists returns storage.ErrNotFound unless sid is "" or a session.
func (w *writer) sessionExists(ctx context.Context, sid string) error {
	if sid == "" {
		return nil
	}
	var one int
	err := w.tx.QueryRow(ctx, `SELECT 1 FROM sessions WHERE id = $1 FOR KEY SHARE`, sid).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: session %q: %w", sid, storage.ErrNotFound)
	}
	return w.err(ctx, err)
}

// CreateToken implements storage.Writer. Checking the session (and
// locking it against deletion) and inserting the token are one statement.
func (w *writer) CreateToken(ctx context.Context, t storage.Token) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	doc, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("postgres: encode token: %w", err)
	}
	if t.SessionID == "" {
		n, err := w.exec(ctx, "token", t.ID, `INSERT INTO tokens (id, session_id, issued_ns, expires_ns, doc)
			VALUES ($1, '', $2, $3, $4) ON CONFLICT (id) DO NOTHING`, t.ID, ns(t.IssuedAt), ns(t.ExpiresAt), doc)
		return created(err, n, t.ID)
	}
	if t.ID == "" || !storable(t.ID) {
		return errors.New("postgres: token with an empty key or one that is not UTF-8 text")
	}
	var session, n int64
	err = w.tx.QueryRow(ctx, `WITH s AS (SELECT 1 FROM sessions WHERE id = $2 FOR KEY SHARE),
		ins AS (INSERT INTO tokens (id, session_id, issued_ns, expires_ns, doc)
			SELECT $1::text, $2::text, $3::bigint, $4::bigint, $5::bytea FROM s ON CONFLICT (id) DO NOTHING RETURNING 1)
		SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM ins)`,
		t.ID, t.SessionID, ns(t.IssuedAt), ns(t.ExpiresAt), doc).Scan(&session, &n)
	if err != nil {
		return dbErr(ctx, err)
	}
	if session == 0 {
		return fmt.Errorf("postgres: session %q: %w", t.SessionID, storage.ErrNotFound)
	}
	return created(nil, n, t.ID)
}

// created turns an insert's outcome into CreateToken's answer.
func created(err error, n int64, id string) error {
	if err == nil && n == 0 {
		err = fmt.Errorf("postgres: token %q: %w", id, storage.ErrAlreadyExists)
	}
	return err
}

// PutToken implements storage.Writer. Every change of a token (a
// revocation, a refresh token's rotation) is announced on the change feed,
// so that no instance's cache keeps the token as it was.
func (w *writer) PutToken(ctx context.Context, t storage.Token) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if err := w.sessionExists(ctx, t.SessionID); err != nil {
		return err
	}
	doc, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("postgres: encode token: %w", err)
	}
	n, err := w.exec(ctx, "token", t.ID, `UPDATE tokens SET session_id = $2, issued_ns = $3, expires_ns = $4, doc = $5
		WHERE id = $1`, t.ID, t.SessionID, ns(t.IssuedAt), ns(t.ExpiresAt), doc)
	if err == nil && n == 0 {
		err = fmt.Errorf("postgres: token %q: %w", t.ID, storage.ErrNotFound)
	}
	if err == nil {
		w.note(KindToken, t.ID)
	}
	return err
}

// UseJTI implements storage.Writer: an upsert that replaces only an
// expired record, so concurrent uses of one key leave one winner.
func (w *writer) UseJTI(ctx context.Context, key string, exp, now time.Time) error {
	n, err := w.exec(ctx, "jti", key, `INSERT INTO used_jti (key, exp_ns) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET exp_ns = EXCLUDED.exp_ns WHERE used_jti.exp_ns <= $3`, key, ns(exp), ns(now))
	if err == nil && n == 0 {
		err = fmt.Errorf("postgres: jti %q: %w", key, storage.ErrAlreadyExists)
	}
	return err
}

// AppendEvent implements storage.Writer. The session's event counter
// assigns Seq (1, 2, …); bumping it locks the session's row. Bumping and
// inserting are one statement, so the stored document leaves Seq out and
// ListEvents takes it from its column.
func (w *writer) AppendEvent(ctx context.Context, e storage.Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	e.Seq = 0
	doc, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("postgres: encode event: %w", err)
	}
	var seq int64
	err = w.tx.QueryRow(ctx, `WITH u AS (UPDATE sessions SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq)
		INSERT INTO events (session_id, seq, doc) SELECT $1::text, event_seq, $2::bytea FROM u RETURNING seq`,
		e.SessionID, doc).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: session %q: %w", e.SessionID, storage.ErrNotFound)
	}
	return w.err(ctx, err)
}

// PutKey implements storage.Writer.
func (w *writer) PutKey(ctx context.Context, k storage.Key) error {
	doc, err := json.Marshal(k)
	if err != nil {
		return fmt.Errorf("postgres: encode key: %w", err)
	}
	w.note(KindKey, k.ID)
	_, err = w.exec(ctx, "key", k.ID, `INSERT INTO signing_keys (id, created_ns, doc) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET created_ns = EXCLUDED.created_ns, doc = EXCLUDED.doc`, k.ID, ns(k.CreatedAt), doc)
	return err
}

// AppendAudit implements storage.Writer. Seq comes from an identity column.
func (w *writer) AppendAudit(ctx context.Context, r storage.AuditRecord) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	r.Seq = 0
	doc, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("postgres: encode audit: %w", err)
	}
	_, err = w.tx.Exec(ctx, `INSERT INTO audit (at_ns, client_id, session_id, doc) VALUES ($1, $2, $3, $4)`,
		ns(r.At), r.ClientID, r.SessionID, doc)
	return w.err(ctx, err)
}

// PutInitialToken implements storage.Writer.
func (w *writer) PutInitialToken(ctx context.Context, t storage.InitialAccessToken) error {
	return w.put(ctx, "initial_tokens", "id", "initial access token", t.ID, t)
}

// DeleteInitialToken implements storage.Writer.
func (w *writer) DeleteInitialToken(ctx context.Context, id string) error {
	return w.del(ctx, "initial_tokens", "id", "initial access token", id)
}

// PutRegistration implements storage.Writer.
func (w *writer) PutRegistration(ctx context.Context, r storage.Registration) error {
	w.note(KindRegistration, r.ClientID)
	return w.put(ctx, "registrations", "client_id", "registration", r.ClientID, r)
}

// DeleteRegistration implements storage.Writer.
func (w *writer) DeleteRegistration(ctx context.Context, clientID string) error {
	w.note(KindRegistration, clientID)
	return w.del(ctx, "registrations", "client_id", "registration", clientID)
}

// PutStream implements storage.Writer.
func (w *writer) PutStream(ctx context.Context, s storage.Stream) error {
	return w.put(ctx, "streams", "id", "stream", s.ID, s)
}

// DeleteStream implements storage.Writer: the stream and its outbox.
func (w *writer) DeleteStream(ctx context.Context, id string) error {
	if err := w.del(ctx, "streams", "id", "stream", id); err != nil {
		return err
	}
	_, err := w.tx.Exec(ctx, `DELETE FROM outbox WHERE stream_id = $1`, id)
	return w.err(ctx, err)
}

// AppendOutbox implements storage.Writer. Seq comes from one sequence for
// every stream, so it only grows.
func (w *writer) AppendOutbox(ctx context.Context, e storage.OutboxEntry) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	var one int
	err := w.tx.QueryRow(ctx, `SELECT 1 FROM streams WHERE id = $1 FOR KEY SHARE`, e.StreamID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: stream %q: %w", e.StreamID, storage.ErrNotFound)
	}
	if err != nil {
		return dbErr(ctx, err)
	}
	var seq int64
	if err := w.tx.QueryRow(ctx, `SELECT nextval('outbox_seq')`).Scan(&seq); err != nil {
		return dbErr(ctx, err)
	}
	e.Seq = uint64(seq)
	doc, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("postgres: encode outbox entry: %w", err)
	}
	var exp *int64
	if !e.ExpiresAt.IsZero() {
		v := ns(e.ExpiresAt)
		exp = &v
	}
	_, err = w.tx.Exec(ctx, `INSERT INTO outbox (stream_id, seq, expires_ns, doc) VALUES ($1, $2, $3, $4)`, e.StreamID, seq, exp, doc)
	return w.err(ctx, err)
}

// DeleteOutbox implements storage.Writer.
func (w *writer) DeleteOutbox(ctx context.Context, streamID string, seq uint64) error {
	n, err := w.exec(ctx, "outbox entry", streamID, `DELETE FROM outbox WHERE stream_id = $1 AND seq = $2`, streamID, int64(seq))
	if err == nil && n == 0 {
		err = fmt.Errorf("postgres: outbox entry %s/%d: %w", streamID, seq, storage.ErrNotFound)
	}
	return err
}

package bolt

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/vigil-auth/vigil/storage"
	bbolt "go.etcd.io/bbolt"
)

var _ storage.Writer = txn{}

// txn is a bbolt transaction seen as a storage.Writer. Its read methods
// also serve the Store's read-only transactions, where ch is nil.
type txn struct {
	tx *bbolt.Tx
	// ch records what a write transaction changed that the registration
	// cache holds.
	ch *changes
}

// changedRegistrations notes that the transaction wrote a client or a resource.
func (r txn) changedRegistrations() {
	if r.ch != nil {
		r.ch.registrations = true
	}
}

// check returns ctx's error, if any.
func check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bolt: %w", err)
	}
	return nil
}

func notFound(kind string, key []byte) error {
	return fmt.Errorf("bolt: %s %q: %w", kind, key, storage.ErrNotFound)
}

// decode decodes a stored record into v: the binary form for tokens,
// sessions, clients, events and audit records, JSON for the rest. For a
// token or a session, key is its ID; for an event, its key in
// bucketSessionData (the stored form may omit what the key says). Decoding
// copies everything out of data, which is only valid during the
// transaction.
func decode(data []byte, v any, kind string, key []byte) error {
	var err error
	switch v := v.(type) {
	case *storage.Token:
		err = decodeToken(string(key), data, v)
	case *storage.Session:
		err = decodeSession(string(key), data, v)
	case *storage.Client:
		err = decodeClient(data, v)
	case *storage.Event:
		sid, seq := eventKeyParts(key)
		err = decodeEvent(sid, seq, data, v)
	case *storage.AuditRecord:
		err = decodeAudit(data, v)
	default:
		err = json.Unmarshal(data, v)
	}
	if err != nil {
		return fmt.Errorf("bolt: decode %s %q: %w: %w", kind, key, storage.ErrUnavailable, err)
	}
	return nil
}

// encode is decode's inverse.
func encode(v any) ([]byte, error) {
	switch v := v.(type) {
	case *storage.Token:
		return encodeToken(v), nil
	case *storage.Session:
		return encodeSession(v), nil
	case *storage.Client:
		return encodeClient(v), nil
	case *storage.Event:
		return encodeEvent(v), nil
	case *storage.AuditRecord:
		return encodeAudit(v), nil
	}
	return json.Marshal(v)
}

// getKey returns the record at key in bucket, or storage.ErrNotFound.
func getKey[T any](r txn, bucket []byte, kind string, key []byte) (T, error) {
	var v T
	data := r.tx.Bucket(bucket).Get(key)
	if data == nil {
		return v, notFound(kind, key)
	}
	err := decode(data, &v, kind, key)
	return v, err
}

// getRecord is getKey for a string key, after checking ctx.
func getRecord[T any](ctx context.Context, r txn, bucket []byte, kind, key string) (T, error) {
	if err := check(ctx); err != nil {
		var zero T
		return zero, err
	}
	return getKey[T](r, bucket, kind, []byte(key))
}

// listRecords decodes every record of bucket, in key order.
func listRecords[T any](ctx context.Context, r txn, bucket []byte, kind string) ([]T, error) {
	if err := check(ctx); err != nil {
		return nil, err
	}
	var out []T
	err := r.tx.Bucket(bucket).ForEach(func(k, data []byte) error {
		var v T
		if err := decode(data, &v, kind, k); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// getHot decodes the record at key into v without the reflection and
// interface conversions of getRecord: the Store's single-record reads of
// tokens, sessions and clients serve every introspection.
func getHot[T any](r txn, bucket []byte, kind, key string, v *T, dec func([]byte, *T) error) error {
	return getHotKey(r, bucket, kind, key, []byte(key), v, dec)
}

// getHotKey is getHot for a stored key that differs from the record's id.
func getHotKey[T any](r txn, bucket []byte, kind, id string, key []byte, v *T, dec func([]byte, *T) error) error {
	data := r.tx.Bucket(bucket).Get(key)
	if data == nil {
		return notFound(kind, []byte(id))
	}
	if err := dec(data, v); err != nil {
		return fmt.Errorf("bolt: decode %s %q: %w: %w", kind, id, storage.ErrUnavailable, err)
	}
	return nil
}

func (r txn) getToken(id string, t *storage.Token) error {
	return getHot(r, bucketTokens, "token", id, t, func(data []byte, t *storage.Token) error { return decodeToken(id, data, t) })
}

func (r txn) getSession(id string, s *storage.Session) error {
	return getHotKey(r, bucketSessionData, "session", id, sessionKey(id), s,
		func(data []byte, s *storage.Session) error { return decodeSession(id, data, s) })
}

func (r txn) getClient(id string, c *storage.Client) error {
	return getHot(r, bucketClients, "client", id, c, decodeClient)
}

// GetClient implements storage.Reader.
func (r txn) GetClient(ctx context.Context, id string) (storage.Client, error) {
	return getRecord[storage.Client](ctx, r, bucketClients, "client", id)
}

// ListClients implements storage.Reader.
func (r txn) ListClients(ctx context.Context) ([]storage.Client, error) {
	return listRecords[storage.Client](ctx, r, bucketClients, "client")
}

// GetResource implements storage.Reader.
func (r txn) GetResource(ctx context.Context, audience string) (storage.Resource, error) {
	return getRecord[storage.Resource](ctx, r, bucketResources, "resource", audience)
}

// ListResources implements storage.Reader.
func (r txn) ListResources(ctx context.Context) ([]storage.Resource, error) {
	return listRecords[storage.Resource](ctx, r, bucketResources, "resource")
}

// GetIssuer implements storage.Reader.
func (r txn) GetIssuer(ctx context.Context, issuer string) (storage.Issuer, error) {
	return getRecord[storage.Issuer](ctx, r, bucketIssuers, "issuer", issuer)
}

// ListIssuers implements storage.Reader.
func (r txn) ListIssuers(ctx context.Context) ([]storage.Issuer, error) {
	return listRecords[storage.Issuer](ctx, r, bucketIssuers, "issuer")
}

// GetSession implements storage.Reader.
func (r txn) GetSession(ctx context.Context, id string) (storage.Session, error) {
	var s storage.Session
	if err := check(ctx); err != nil {
		return s, err
	}
	err := r.getSession(id, &s)
	return s, err
}

// ListSessions implements storage.Reader. A bounded listing (a limit, a
// client or a creation-time range) walks the creation-time index (per
// client when the filter names one) backwards from the range's end to its
// start, so it reads only as many sessions as it returns plus those the
// status filter skips. An unbounded listing of every client's sessions reads the session
// records in storage order instead and sorts them: the index would visit
// them in random order, which for a million sessions is several times
// slower (a restart restores every live session's risk facts this way).
func (r txn) ListSessions(ctx context.Context, f storage.SessionFilter) ([]storage.Session, error) {
	if err := check(ctx); err != nil {
		return nil, err
	}
	if f.Limit <= 0 && f.ClientID == "" && !f.HasCreatedRange() {
		return r.scanSessions(ctx, f.Status)
	}
	ix, p := ixSessionCreated, []byte(nil)
	if f.ClientID != "" {
		ix, p = ixClientSessions, prefix(f.ClientID)
	}
	var from []byte
	if !f.CreatedFrom.IsZero() {
		from = binary.BigEndian.AppendUint64(nil, timeBits(f.CreatedFrom))
	}
	var out []storage.Session
	c := r.tx.Bucket(ix).Cursor()
	k, _ := last(c, p)
	if !f.CreatedTo.IsZero() {
		k, _ = lastAtMost(c, p, timeBits(f.CreatedTo))
	}
	n := 0
	for ; k != nil; k, _ = prev(c, p) {
		if from != nil && bytes.Compare(k[len(p):len(p)+8], from) < 0 {
			break
		}
		if n++; n%10_000 == 0 {
			if err := check(ctx); err != nil {
				return nil, err
			}
		}
		var s storage.Session
		if err := r.getSession(string(k[len(p)+8:]), &s); err != nil {
			return nil, err
		}
		if f.Status != "" && s.Status != f.Status {
			continue
		}
		if out = append(out, s); f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, nil
}

// scanSessions returns every session with the given status ("" for any),
// newest first, reading bucketSessionData in key order. Records are
// decoded into fixed-size chunks and sorted through small references, so
// a million sessions are copied once, not on every growth and swap.
func (r txn) scanSessions(ctx context.Context, status string) ([]storage.Session, error) {
	const chunk = 4096
	var chunks [][]storage.Session
	var refs []sessionRef
	c := r.tx.Bucket(bucketSessionData).Cursor()
	n := 0
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if n++; n%100_000 == 0 {
			if err := check(ctx); err != nil {
				return nil, err
			}
		}
		if !isSessionKey(k) {
			continue
		}
		if len(chunks) == 0 || len(chunks[len(chunks)-1]) == chunk {
			chunks = append(chunks, make([]storage.Session, 0, chunk))
		}
		cur := &chunks[len(chunks)-1]
		*cur = append(*cur, storage.Session{})
		s := &(*cur)[len(*cur)-1]
		if err := decodeSession(sessionID(k), v, s); err != nil {
			return nil, fmt.Errorf("bolt: decode session %q: %w: %w", k, storage.ErrUnavailable, err)
		}
		if status != "" && s.Status != status {
			*cur = (*cur)[:len(*cur)-1]
			continue
		}
		refs = append(refs, sessionRef{created: timeBits(s.CreatedAt), id: s.ID, at: int32(len(refs))})
	}
	slices.SortFunc(refs, func(a, b sessionRef) int {
		if a.created != b.created {
			return cmp.Compare(b.created, a.created)
		}
		return strings.Compare(b.id, a.id)
	})
	var out []storage.Session
	if len(refs) > 0 {
		out = make([]storage.Session, len(refs))
	}
	for i, ref := range refs {
		out[i] = chunks[ref.at/chunk][ref.at%chunk]
	}
	return out, nil
}

// sessionRef is what scanSessions sorts: the index order's key, and where
// the decoded session is.
type sessionRef struct {
	created uint64
	id      string
	at      int32
}

// eventKeyParts returns sid and seq from an event key P(sid) tagEvent
// N(seq), or zero values for another key.
func eventKeyParts(k []byte) (string, uint64) {
	n, w := binary.Uvarint(k)
	if w <= 0 || uint64(len(k)-w) != n+1+8 || k[w+int(n)] != tagEvent {
		return "", 0
	}
	return string(k[w : w+int(n)]), binary.BigEndian.Uint64(k[len(k)-8:])
}

// sessionID returns sid from a session key P(sid) tagSession.
func sessionID(k []byte) string {
	_, w := binary.Uvarint(k)
	return string(k[w : len(k)-1])
}

// isSessionKey reports whether k is P(sid) tagSession: a session record.
func isSessionKey(k []byte) bool {
	n, w := binary.Uvarint(k)
	return w > 0 && n < uint64(len(k)) && uint64(len(k)) == uint64(w)+n+1 && k[len(k)-1] == tagSession
}

// GetToken implements storage.Reader.
func (r txn) GetToken(ctx context.Context, id string) (storage.Token, error) {
	return getRecord[storage.Token](ctx, r, bucketTokens, "token", id)
}

// ListSessionTokens implements storage.Reader: tokens ordered by IssuedAt, then ID.
func (r txn) ListSessionTokens(ctx context.Context, sid string) ([]storage.Token, error) {
	if err := check(ctx); err != nil {
		return nil, err
	}
	p := sessionPrefix(sid, tagToken)
	var out []storage.Token
	c := r.tx.Bucket(bucketSessionData).Cursor()
	for k, _ := first(c, p); k != nil; k, _ = next(c, p) {
		t, err := getKey[storage.Token](r, bucketTokens, "token", k[len(p)+8:])
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// ListEvents implements storage.Reader.
func (r txn) ListEvents(ctx context.Context, sid string) ([]storage.Event, error) {
	if err := check(ctx); err != nil {
		return nil, err
	}
	p := sessionPrefix(sid, tagEvent)
	var out []storage.Event
	c := r.tx.Bucket(bucketSessionData).Cursor()
	for k, data := first(c, p); k != nil; k, data = next(c, p) {
		var e storage.Event
		if err := decode(data, &e, "event", k); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// ListKeys implements storage.Reader: keys ordered by CreatedAt, then ID.
func (r txn) ListKeys(ctx context.Context) ([]storage.Key, error) {
	keys, err := listRecords[storage.Key](ctx, r, bucketKeys, "key")
	slices.SortFunc(keys, func(a, b storage.Key) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return keys, err
}

// ListAudit implements storage.Reader. With a session or client filter it
// walks that index instead of the whole log.
func (r txn) ListAudit(ctx context.Context, f storage.AuditFilter) ([]storage.AuditRecord, error) {
	if err := check(ctx); err != nil {
		return nil, err
	}
	var out []storage.AuditRecord
	add := func(data, key []byte) (bool, error) {
		var rec storage.AuditRecord
		if err := decode(data, &rec, "audit record", key); err != nil {
			return false, err
		}
		if auditMatches(f, rec) {
			out = append(out, rec)
		}
		return f.Limit <= 0 || len(out) < f.Limit, nil
	}
	var err error
	switch {
	case f.SessionID != "":
		err = r.auditIndex(bucketSessionData, sessionPrefix(f.SessionID, tagAudit), f.Newest, add)
	case f.ClientID != "":
		err = r.auditIndex(ixAuditClient, prefix(f.ClientID), f.Newest, add)
	default:
		c := r.tx.Bucket(bucketAudit).Cursor()
		start, step := c.First, c.Next
		if f.Newest {
			start, step = c.Last, c.Prev
		}
		more := true
		for k, data := start(); k != nil && more && err == nil; k, data = step() {
			more, err = add(data, k)
		}
	}
	return out, err
}

// auditIndex feeds add the audit records listed under prefix p in index
// ix, in Seq order (descending when newest), until add returns false or an
// error.
func (r txn) auditIndex(ix, p []byte, newest bool, add func(data, key []byte) (bool, error)) error {
	audit := r.tx.Bucket(bucketAudit)
	c := r.tx.Bucket(ix).Cursor()
	start, step := first, next
	if newest {
		start, step = last, prev
	}
	for k, _ := start(c, p); k != nil; k, _ = step(c, p) {
		seq := k[len(p):]
		data := audit.Get(seq)
		if data == nil {
			return fmt.Errorf("bolt: audit record %d missing from the log: %w", binary.BigEndian.Uint64(seq), storage.ErrUnavailable)
		}
		if more, err := add(data, seq); err != nil || !more {
			return err
		}
	}
	return nil
}

// auditMatches reports whether rec passes filter f.
func auditMatches(f storage.AuditFilter, rec storage.AuditRecord) bool {
	return (f.ClientID == "" || rec.ClientID == f.ClientID) &&
		(f.SessionID == "" || rec.SessionID == f.SessionID) &&
		!rec.At.Before(f.Since)
}

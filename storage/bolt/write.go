package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-auth/vigil/storage"
	bbolt "go.etcd.io/bbolt"
)

var errEmptyKey = errors.New("bolt: empty key")

// put stores val at key. bbolt keeps both slices until the transaction
// ends, so callers never reuse them.
func (r txn) put(bucket, key, val []byte) error {
	b := r.tx.Bucket(bucket)
	b.FillPercent = fillPercent(bucket)
	if err := b.Put(key, val); err != nil {
		return fmt.Errorf("bolt: write %s: %w: %w", bucket, storage.ErrUnavailable, err)
	}
	return nil
}

// denseFill is how full pages are packed when they split in buckets whose
// keys mostly arrive in ascending order (times, sequence numbers, or both
// under a client's prefix): bbolt's default of half full would leave every
// page behind the append point half empty for good.
const denseFill = 0.9

func fillPercent(bucket []byte) float64 {
	switch string(bucket) {
	case string(ixTokenExp), string(ixSessionCreated), string(ixSessionExp), string(ixJTIExp),
		string(bucketAudit), string(ixAuditClient), string(ixClientSessions):
		return denseFill
	}
	return bbolt.DefaultFillPercent
}

// del removes key from bucket.
func (r txn) del(bucket, key []byte) error {
	if err := r.tx.Bucket(bucket).Delete(key); err != nil {
		return fmt.Errorf("bolt: delete from %s: %w: %w", bucket, storage.ErrUnavailable, err)
	}
	return nil
}

// putRecord stores v, encoded, at key.
func (r txn) putRecord(ctx context.Context, bucket []byte, kind string, key []byte, v any) error {
	if err := check(ctx); err != nil {
		return err
	}
	if len(key) == 0 {
		return fmt.Errorf("bolt: put %s: %w", kind, errEmptyKey)
	}
	data, err := encode(v)
	if err != nil {
		return fmt.Errorf("bolt: encode %s %q: %w", kind, key, err)
	}
	return r.put(bucket, key, data)
}

// deleteRecord removes key from bucket, or returns storage.ErrNotFound.
func (r txn) deleteRecord(ctx context.Context, bucket []byte, kind, key string) error {
	if err := check(ctx); err != nil {
		return err
	}
	k := []byte(key)
	if r.tx.Bucket(bucket).Get(k) == nil {
		return notFound(kind, k)
	}
	return r.del(bucket, k)
}

// entry is one index entry: a key in an index bucket. A nil key means the
// record has no entry in that index.
type entry struct{ bucket, key []byte }

// reindex replaces a record's index entries old (nil for a new record) with
// new, touching only the entries that changed.
func (r txn) reindex(old, new []entry) error {
	for i, e := range new {
		var prev []byte
		if old != nil {
			prev = old[i].key
		}
		if bytes.Equal(prev, e.key) {
			continue
		}
		if prev != nil {
			if err := r.del(e.bucket, prev); err != nil {
				return err
			}
		}
		if e.key != nil {
			if err := r.put(e.bucket, e.key, []byte{}); err != nil {
				return err
			}
		}
	}
	return nil
}

// unindex removes every entry in es.
func (r txn) unindex(es []entry) error {
	for _, e := range es {
		if e.key != nil {
			if err := r.del(e.bucket, e.key); err != nil {
				return err
			}
		}
	}
	return nil
}

// sessionEntries returns s's index entries.
func sessionEntries(s *storage.Session) []entry {
	return []entry{
		{ixSessionCreated, keyT(s.CreatedAt, s.ID)},
		{ixClientSessions, keyPT(s.ClientID, s.CreatedAt, s.ID)},
		{ixSessionExp, keyT(s.ExpiresAt, s.ID)},
	}
}

// tokenEntries returns t's index entries.
func tokenEntries(t *storage.Token) []entry {
	es := []entry{{ixTokenExp, keyT(t.ExpiresAt, t.ID)}, {bucketSessionData, nil}}
	if t.SessionID != "" {
		k := binary.BigEndian.AppendUint64(sessionPrefix(t.SessionID, tagToken), timeBits(t.IssuedAt))
		es[1].key = append(k, t.ID...)
	}
	return es
}

// PutClient implements storage.Writer.
func (r txn) PutClient(ctx context.Context, c storage.Client) error {
	r.changedRegistrations()
	return r.putRecord(ctx, bucketClients, "client", []byte(c.ID), &c)
}

// DeleteClient implements storage.Writer.
func (r txn) DeleteClient(ctx context.Context, id string) error {
	r.changedRegistrations()
	return r.deleteRecord(ctx, bucketClients, "client", id)
}

// PutResource implements storage.Writer.
func (r txn) PutResource(ctx context.Context, res storage.Resource) error {
	r.changedRegistrations()
	return r.putRecord(ctx, bucketResources, "resource", []byte(res.Audience), res)
}

// DeleteResource implements storage.Writer.
func (r txn) DeleteResource(ctx context.Context, audience string) error {
	r.changedRegistrations()
	return r.deleteRecord(ctx, bucketResources, "resource", audience)
}

// PutIssuer implements storage.Writer.
func (r txn) PutIssuer(ctx context.Context, i storage.Issuer) error {
	return r.putRecord(ctx, bucketIssuers, "issuer", []byte(i.Issuer), i)
}

// DeleteIssuer implements storage.Writer.
func (r txn) DeleteIssuer(ctx context.Context, issuer string) error {
	return r.deleteRecord(ctx, bucketIssuers, "issuer", issuer)
}

// CreateSession implements storage.Writer.
func (r txn) CreateSession(ctx context.Context, s storage.Session) error {
	if err := check(ctx); err != nil {
		return err
	}
	if s.ID == "" {
		return fmt.Errorf("bolt: put session: %w", errEmptyKey)
	}
	k := sessionKey(s.ID)
	if r.tx.Bucket(bucketSessionData).Get(k) != nil {
		return fmt.Errorf("bolt: session %q: %w", s.ID, storage.ErrAlreadyExists)
	}
	if err := r.putRecord(ctx, bucketSessionData, "session", k, &s); err != nil {
		return err
	}
	return r.reindex(nil, sessionEntries(&s))
}

// PutSession implements storage.Writer.
func (r txn) PutSession(ctx context.Context, s storage.Session) error {
	var old storage.Session
	if err := r.getSession(s.ID, &old); err != nil {
		return err
	}
	if err := r.putRecord(ctx, bucketSessionData, "session", sessionKey(s.ID), &s); err != nil {
		return err
	}
	return r.reindex(sessionEntries(&old), sessionEntries(&s))
}

// sessionExists returns storage.ErrNotFound unless sid is "" or a session.
func (r txn) sessionExists(sid string) error {
	if sid != "" && r.tx.Bucket(bucketSessionData).Get(sessionKey(sid)) == nil {
		return notFound("session", []byte(sid))
	}
	return nil
}

// CreateToken implements storage.Writer. A token naming a session that does
// not exist is refused with storage.ErrNotFound.
func (r txn) CreateToken(ctx context.Context, t storage.Token) error {
	k := []byte(t.ID)
	if len(k) > 0 && r.tx.Bucket(bucketTokens).Get(k) != nil {
		return fmt.Errorf("bolt: token %q: %w", t.ID, storage.ErrAlreadyExists)
	}
	if err := r.sessionExists(t.SessionID); err != nil {
		return err
	}
	if err := r.putRecord(ctx, bucketTokens, "token", k, &t); err != nil {
		return err
	}
	return r.reindex(nil, tokenEntries(&t))
}

// PutToken implements storage.Writer. Moving a token to a session that does
// not exist is refused with storage.ErrNotFound.
func (r txn) PutToken(ctx context.Context, t storage.Token) error {
	k := []byte(t.ID)
	data := r.tx.Bucket(bucketTokens).Get(k)
	if data == nil {
		return notFound("token", k)
	}
	var old storage.Token
	if err := decode(data, &old, "token", k); err != nil {
		return err
	}
	if old.SessionID != t.SessionID {
		if err := r.sessionExists(t.SessionID); err != nil {
			return err
		}
	}
	if err := r.putRecord(ctx, bucketTokens, "token", k, &t); err != nil {
		return err
	}
	return r.reindex(tokenEntries(&old), tokenEntries(&t))
}

// UseJTI implements storage.Writer. An identifier is live while now is
// before its recorded expiry.
func (r txn) UseJTI(ctx context.Context, key string, exp, now time.Time) error {
	if err := check(ctx); err != nil {
		return err
	}
	k := []byte(key)
	if len(k) == 0 {
		return fmt.Errorf("bolt: use jti: %w", errEmptyKey)
	}
	var old []entry
	if cur := r.tx.Bucket(bucketJTIs).Get(k); len(cur) == 8 {
		if timeBits(now) < binary.BigEndian.Uint64(cur) {
			return fmt.Errorf("bolt: jti %q: %w", key, storage.ErrAlreadyExists)
		}
		old = []entry{{ixJTIExp, append(bytes.Clone(cur), k...)}}
	}
	if err := r.put(bucketJTIs, k, binary.BigEndian.AppendUint64(nil, timeBits(exp))); err != nil {
		return err
	}
	return r.reindex(old, []entry{{ixJTIExp, keyT(exp, key)}})
}

// AppendEvent implements storage.Writer. The event's session must exist
// (storage.ErrNotFound otherwise); Seq is one more than the session's
// previous event, starting at 1.
func (r txn) AppendEvent(ctx context.Context, e storage.Event) error {
	if err := check(ctx); err != nil {
		return err
	}
	if e.SessionID == "" {
		return notFound("session", nil)
	}
	if err := r.sessionExists(e.SessionID); err != nil {
		return err
	}
	p := sessionPrefix(e.SessionID, tagEvent)
	e.Seq = 1
	if k, _ := last(r.tx.Bucket(bucketSessionData).Cursor(), p); k != nil {
		e.Seq = binary.BigEndian.Uint64(k[len(p):]) + 1
	}
	return r.putRecord(ctx, bucketSessionData, "event", binary.BigEndian.AppendUint64(p, e.Seq), &e)
}

// PutKey implements storage.Writer.
func (r txn) PutKey(ctx context.Context, k storage.Key) error {
	return r.putRecord(ctx, bucketKeys, "key", []byte(k.ID), k)
}

// AppendAudit implements storage.Writer. Seq is one more than the previous
// record's, starting at 1.
func (r txn) AppendAudit(ctx context.Context, rec storage.AuditRecord) error {
	if err := check(ctx); err != nil {
		return err
	}
	seq, err := r.tx.Bucket(bucketAudit).NextSequence()
	if err != nil {
		return fmt.Errorf("bolt: audit sequence: %w: %w", storage.ErrUnavailable, err)
	}
	rec.Seq = seq
	if err := r.putRecord(ctx, bucketAudit, "audit record", keyN(seq), &rec); err != nil {
		return err
	}
	es := []entry{{bucketSessionData, nil}, {ixAuditClient, nil}}
	if rec.SessionID != "" {
		es[0].key = binary.BigEndian.AppendUint64(sessionPrefix(rec.SessionID, tagAudit), seq)
	}
	if rec.ClientID != "" {
		es[1].key = keyPN(rec.ClientID, seq)
	}
	return r.reindex(nil, es)
}

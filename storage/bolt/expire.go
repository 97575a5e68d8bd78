package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"time"

	"github.com/vigil-auth/vigil/storage"
	bbolt "go.etcd.io/bbolt"
)

// sweepBatch bounds the records one expiry transaction examines or
// deletes, so that a sweep never holds the writer lock for long.
const sweepBatch = 1000

// sweep examines the next batch of expiry-index entries at or before
// cutoff, starting after key after (nil: from the start), and deletes what
// has expired. It returns how many records it deleted, the last index key it
// examined, and whether entries may remain.
type sweep func(r txn, cutoff uint64, after []byte) (n int, last []byte, more bool, err error)

// DeleteExpired removes tokens and single-use identifiers whose expiry is
// at or before now minus the retention, then sessions that expired by then
// and have no tokens left, together with their events. It works in
// transactions of at most about a thousand records, checking ctx between
// them, and returns how many records (tokens, identifiers, sessions and
// events) it removed, including when it stops early with an error.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	cutoff := timeBits(now.Add(-s.retention))
	total := 0
	for _, sw := range []sweep{sweepTokens, sweepJTIs, sweepSessions, sweepOutbox} {
		var after []byte
		for more := true; more; {
			if err := s.usable(ctx); err != nil {
				return total, err
			}
			var n int
			var fnErr error
			err := s.db.Update(func(tx *bbolt.Tx) error {
				n, after, more, fnErr = sw(txn{tx: tx}, cutoff, after)
				return fnErr
			})
			if err != nil {
				if fnErr == nil {
					err = s.ioError("delete expired", err)
				}
				return total, err
			}
			total += n
		}
	}
	s.log.Debug("expired records deleted", "count", total)
	return total, nil
}

// expiredKeys copies up to sweepBatch keys of index ix whose leading time
// is at or before cutoff. Keys are copied because deleting them while the
// cursor is open is not allowed.
func expiredKeys(r txn, ix []byte, cutoff uint64) [][]byte {
	var keys [][]byte
	c := r.tx.Bucket(ix).Cursor()
	for k, _ := c.First(); k != nil && len(keys) < sweepBatch; k, _ = c.Next() {
		if binary.BigEndian.Uint64(k) > cutoff {
			break
		}
		keys = append(keys, bytes.Clone(k))
	}
	return keys
}

// sweepTokens deletes expired tokens and their index entries.
func sweepTokens(r txn, cutoff uint64, _ []byte) (int, []byte, bool, error) {
	keys := expiredKeys(r, ixTokenExp, cutoff)
	n := 0
	for _, ik := range keys {
		if err := r.del(ixTokenExp, ik); err != nil {
			return n, nil, false, err
		}
		id := ik[8:]
		data := r.tx.Bucket(bucketTokens).Get(id)
		if data == nil {
			continue
		}
		var t storage.Token
		if err := decode(data, &t, "token", id); err != nil {
			return n, nil, false, err
		}
		if err := r.unindex(tokenEntries(&t)); err != nil {
			return n, nil, false, err
		}
		if err := r.del(bucketTokens, id); err != nil {
			return n, nil, false, err
		}
		n++
	}
	return n, nil, len(keys) == sweepBatch, nil
}

// sweepJTIs deletes expired single-use identifiers.
func sweepJTIs(r txn, cutoff uint64, _ []byte) (int, []byte, bool, error) {
	keys := expiredKeys(r, ixJTIExp, cutoff)
	n := 0
	for _, ik := range keys {
		if err := r.del(ixJTIExp, ik); err != nil {
			return n, nil, false, err
		}
		key := ik[8:]
		if cur := r.tx.Bucket(bucketJTIs).Get(key); !bytes.Equal(cur, ik[:8]) {
			continue // recorded again with a later expiry
		}
		if err := r.del(bucketJTIs, key); err != nil {
			return n, nil, false, err
		}
		n++
	}
	return n, nil, len(keys) == sweepBatch, nil
}

// doomed is an expired session to delete with its events. The index of
// its audit records stays, like the records themselves.
type doomed struct {
	id     []byte
	events [][]byte
}

// sweepSessions deletes expired sessions that have no tokens left, with
// their events. Expired sessions that still have tokens stay in the expiry
// index, so the scan resumes after the last key it examined.
func sweepSessions(r txn, cutoff uint64, after []byte) (int, []byte, bool, error) {
	victims, last, more := expiredSessions(r, cutoff, after)
	n := 0
	for _, v := range victims {
		var s storage.Session
		err := r.getSession(string(v.id), &s)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return n, nil, false, err
		}
		if err := r.unindex(sessionEntries(&s)); err != nil {
			return n, nil, false, err
		}
		if err := r.del(bucketSessionData, sessionKey(s.ID)); err != nil {
			return n, nil, false, err
		}
		for _, k := range v.events {
			if err := r.del(bucketSessionData, k); err != nil {
				return n, nil, false, err
			}
		}
		n += 1 + len(v.events)
	}
	return n, last, more, nil
}

// expiredSessions lists, from after, expired sessions that have no tokens,
// with their event keys, within a budget of sweepBatch records examined or
// to delete.
func expiredSessions(r txn, cutoff uint64, after []byte) (victims []doomed, last []byte, more bool) {
	c := r.tx.Bucket(ixSessionExp).Cursor()
	k, _ := c.First()
	if after != nil {
		if k, _ = c.Seek(after); bytes.Equal(k, after) {
			k, _ = c.Next()
		}
	}
	budget := sweepBatch
	for ; k != nil; k, _ = c.Next() {
		if binary.BigEndian.Uint64(k) > cutoff {
			return victims, last, false
		}
		if budget <= 0 {
			return victims, last, true
		}
		id := k[8:]
		budget--
		if hasTokens(r, id) {
			last = bytes.Clone(k)
			continue
		}
		events := eventKeys(r, id)
		if len(victims) > 0 && len(events) > budget {
			return victims, last, true
		}
		budget -= len(events)
		victims = append(victims, doomed{id: bytes.Clone(id), events: events})
		last = bytes.Clone(k)
	}
	return victims, last, false
}

// hasTokens reports whether session sid has any token left.
func hasTokens(r txn, sid []byte) bool {
	k, _ := first(r.tx.Bucket(bucketSessionData).Cursor(), sessionPrefix(string(sid), tagToken))
	return k != nil
}

// eventKeys copies the keys of session sid's events.
func eventKeys(r txn, sid []byte) [][]byte {
	p := sessionPrefix(string(sid), tagEvent)
	var keys [][]byte
	c := r.tx.Bucket(bucketSessionData).Cursor()
	for k, _ := first(c, p); k != nil; k, _ = next(c, p) {
		keys = append(keys, bytes.Clone(k))
	}
	return keys
}

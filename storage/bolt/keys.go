package bolt

import (
	"bytes"
	"encoding/binary"
	"math"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// Buckets. Record buckets map a record's key to its encoded form; index
// buckets map composite keys to nothing (the record ID is the key's tail).
// bucketSessionData keeps everything that belongs to one session side by
// side, under the session's own prefix: the record, the index of its
// tokens, its events and the index of its audit records. A request that
// touches a session (issuing, exchanging, terminating) then dirties one
// page for all of it instead of one page in each of four buckets, which is
// what a commit's cost is made of.
//
// Key parts: P(s) is s prefixed with its length as a uvarint, so that one
// session's entries never share a prefix with another's; T(t) is t as 8
// big-endian bytes that sort in time order; N(n) is n as 8 big-endian bytes.
var (
	bucketMeta        = []byte("meta")
	bucketClients     = []byte("clients")            // id
	bucketResources   = []byte("resources")          // audience
	bucketIssuers     = []byte("issuers")            // issuer URL
	bucketSessionData = []byte("session_data")       // P(sid) tag ... (see the tags)
	bucketTokens      = []byte("tokens")             // id
	bucketKeys        = []byte("keys")               // kid
	bucketJTIs        = []byte("jtis")               // key -> T(exp)
	bucketAudit       = []byte("audit")              // N(seq) -> record
	ixTokenExp        = []byte("ix_token_exp")       // T(exp) id
	ixSessionCreated  = []byte("ix_session_created") // T(created) id
	ixClientSessions  = []byte("ix_client_sessions") // P(client) T(created) id
	ixSessionExp      = []byte("ix_session_exp")     // T(exp) id
	ixJTIExp          = []byte("ix_jti_exp")         // T(exp) key
	ixAuditClient     = []byte("ix_audit_client")    // P(client) N(seq)
	bucketStreams     = []byte("ssf_streams")        // stream id
	bucketOutbox      = []byte("ssf_outbox")         // P(stream) N(seq) -> entry

	allBuckets = [][]byte{
		bucketMeta, bucketClients, bucketResources, bucketIssuers, bucketSessionData, bucketTokens,
		bucketKeys, bucketJTIs, bucketAudit, ixTokenExp, ixSessionCreated, ixClientSessions, ixSessionExp,
		ixJTIExp, ixAuditClient, bucketStreams, bucketOutbox, bucketInitialTokens, bucketRegistrations,
	}

	keyVersion = []byte("version")
)

// Tags follow P(sid) in bucketSessionData.
const (
	tagSession byte = 0 // P(sid) 0 -> the session record
	tagToken   byte = 1 // P(sid) 1 T(iat) id: the session's tokens
	tagEvent   byte = 2 // P(sid) 2 N(seq) -> event
	tagAudit   byte = 3 // P(sid) 3 N(seq): the session's audit records
)

// sessionKey returns the key of session sid's record.
func sessionKey(sid string) []byte { return append(prefix(sid), tagSession) }

// sessionPrefix returns P(sid) tag: the prefix of one kind of the session's entries.
func sessionPrefix(sid string, tag byte) []byte { return append(prefix(sid), tag) }

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// timeBits maps t to a uint64 that sorts like t, at nanosecond precision.
// Times outside the int64 nanosecond range (before 1678, after 2262, and the
// zero time) are clamped to its ends.
func timeBits(t time.Time) uint64 {
	switch {
	case t.Before(minTime):
		t = minTime
	case t.After(maxTime):
		t = maxTime
	}
	return uint64(t.UnixNano()) ^ 1<<63
}

// keyT returns T(t) + id.
func keyT(t time.Time, id string) []byte {
	k := make([]byte, 8, 8+len(id))
	binary.BigEndian.PutUint64(k, timeBits(t))
	return append(k, id...)
}

// prefix returns P(s) with spare capacity for the rest of a key.
func prefix(s string) []byte {
	p := make([]byte, 0, binary.MaxVarintLen64+len(s)+8+64)
	p = binary.AppendUvarint(p, uint64(len(s)))
	return append(p, s...)
}

// keyPT returns P(p) + T(t) + id.
func keyPT(p string, t time.Time, id string) []byte {
	k := binary.BigEndian.AppendUint64(prefix(p), timeBits(t))
	return append(k, id...)
}

// keyPN returns P(p) + N(n).
func keyPN(p string, n uint64) []byte { return binary.BigEndian.AppendUint64(prefix(p), n) }

// keyN returns N(n).
func keyN(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// successor returns the smallest key greater than every key with prefix p,
// or nil if there is none.
func successor(p []byte) []byte {
	s := bytes.Clone(p)
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] < 0xff {
			s[i]++
			return s[:i+1]
		}
	}
	return nil
}

// first positions c on the first key with prefix p.
func first(c *bbolt.Cursor, p []byte) (k, v []byte) {
	k, v = c.Seek(p)
	return keep(p, k, v)
}

// last positions c on the last key with prefix p.
func last(c *bbolt.Cursor, p []byte) (k, v []byte) {
	k, v = before(c, successor(p))
	return keep(p, k, v)
}

// lastAtMost positions c on the last key with prefix p whose 8 bytes after
// p are at most the big-endian bits.
func lastAtMost(c *bbolt.Cursor, p []byte, bits uint64) (k, v []byte) {
	bound := binary.BigEndian.AppendUint64(bytes.Clone(p), bits)
	k, v = before(c, successor(bound))
	return keep(p, k, v)
}

// before positions c on the last key below limit (nil: no limit, the
// bucket's last key).
func before(c *bbolt.Cursor, limit []byte) (k, v []byte) {
	if limit == nil {
		return c.Last()
	}
	if k, _ = c.Seek(limit); k == nil {
		return c.Last()
	}
	return c.Prev()
}

// keep returns k and v when k has prefix p, and nils otherwise.
func keep(p, k, v []byte) ([]byte, []byte) {
	if k == nil || !bytes.HasPrefix(k, p) {
		return nil, nil
	}
	return k, v
}

// next advances c and returns the next key with prefix p.
func next(c *bbolt.Cursor, p []byte) (k, v []byte) {
	k, v = c.Next()
	return keep(p, k, v)
}

// prev moves c back and returns the previous key with prefix p.
func prev(c *bbolt.Cursor, p []byte) (k, v []byte) {
	if k, v = c.Prev(); k == nil || !bytes.HasPrefix(k, p) {
		return nil, nil
	}
	return k, v
}

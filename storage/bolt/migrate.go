package bolt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"

	bbolt "go.etcd.io/bbolt"
)

// The layouts of buckets and keys this package has written.
const (
	// schemaV1 kept sessions, their token index, their events and their
	// audit index in four buckets.
	schemaV1 = "1"
	// schemaV2 keeps them in bucketSessionData.
	schemaV2 = "2"
	// schemaVersion, the current layout, is schema 2 whose tokens and
	// sessions may also be in their second binary form (codecV2). Both
	// forms are read, so a schema-2 file needs no rewriting: records take
	// the second form as they are written. The version keeps builds that
	// know only the first form from opening the file.
	schemaVersion = "3"
)

// Buckets of schema 1 that schema 2 folds into bucketSessionData.
var (
	v1Sessions      = []byte("sessions")          // sid -> session
	v1SessionTokens = []byte("ix_session_tokens") // P(sid) T(iat) id
	v1Events        = []byte("events")            // P(sid) N(seq) -> event
	v1AuditSession  = []byte("ix_audit_session")  // P(sid) N(seq)
)

// migrateBatch bounds the keys one migration transaction copies.
const migrateBatch = 10_000

// errCorruptKey reports an index key that does not start with P(sid).
var errCorruptKey = errors.New("malformed index key")

// move is one schema-1 bucket and how its keys map into bucketSessionData.
type move struct {
	from []byte
	key  func(k []byte) ([]byte, error)
}

// migrateV1 rewrites a schema-1 file as schema 2, and records it as the
// current schema (which reads schema 2 as it is). It copies in
// transactions of migrateBatch keys; copying is idempotent, so a migration
// interrupted by a crash starts over on the next Open. The last transaction
// drops the old buckets and records the new version.
func migrateV1(db *bbolt.DB, log *slog.Logger) error {
	log.Info("storage: migrating the data file from schema 1 to " + schemaVersion)
	moves := []move{
		{v1Sessions, func(k []byte) ([]byte, error) { return sessionKey(string(k)), nil }},
		{v1SessionTokens, retag(tagToken)},
		{v1Events, retag(tagEvent)},
		{v1AuditSession, retag(tagAudit)},
	}
	for _, m := range moves {
		if err := copyBucket(db, m); err != nil {
			return fmt.Errorf("migrate %s: %w", m.from, err)
		}
	}
	err := db.Update(func(tx *bbolt.Tx) error {
		for _, m := range moves {
			if tx.Bucket(m.from) == nil {
				continue
			}
			if err := tx.DeleteBucket(m.from); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keyVersion, []byte(schemaVersion))
	})
	if err == nil {
		log.Info("storage: migration to schema " + schemaVersion + " done")
	}
	return err
}

// retag maps P(sid) rest to P(sid) tag rest.
func retag(tag byte) func(k []byte) ([]byte, error) {
	return func(k []byte) ([]byte, error) {
		n, w := binary.Uvarint(k)
		if w <= 0 || n > uint64(len(k)-w) {
			return nil, fmt.Errorf("%w %x", errCorruptKey, k)
		}
		p := w + int(n)
		out := make([]byte, 0, len(k)+1)
		out = append(append(out, k[:p]...), tag)
		return append(out, k[p:]...), nil
	}
}

// copyBucket copies m.from into bucketSessionData, a batch per transaction.
func copyBucket(db *bbolt.DB, m move) error {
	var after []byte
	for done := false; !done; {
		err := db.Update(func(tx *bbolt.Tx) error {
			var err error
			after, done, err = copyBatch(tx, m, after)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// copyBatch copies up to migrateBatch keys after key after and returns the
// last key copied and whether the bucket is exhausted.
func copyBatch(tx *bbolt.Tx, m move, after []byte) ([]byte, bool, error) {
	src := tx.Bucket(m.from)
	if src == nil {
		return after, true, nil
	}
	dst := tx.Bucket(bucketSessionData)
	c := src.Cursor()
	k, v := c.First()
	if after != nil {
		if k, v = c.Seek(after); bytes.Equal(k, after) {
			k, v = c.Next()
		}
	}
	for n := 0; k != nil && n < migrateBatch; n++ {
		nk, err := m.key(k)
		if err != nil {
			return after, false, err
		}
		if err := dst.Put(nk, bytes.Clone(v)); err != nil {
			return after, false, err
		}
		after = bytes.Clone(k)
		k, v = c.Next()
	}
	return after, k == nil, nil
}

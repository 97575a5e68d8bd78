package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
	bbolt "go.etcd.io/bbolt"
)

// snapshot is everything a test reads back about some sessions.
type snapshot struct {
	Sessions []storage.Session
	Tokens   [][]storage.Token
	Events   [][]storage.Event
	Audit    [][]storage.AuditRecord
}

func readBack(t *testing.T, s *Store, sids []string) snapshot {
	t.Helper()
	ctx := context.Background()
	var snap snapshot
	for _, sid := range sids {
		sess, err := s.GetSession(ctx, sid)
		if err != nil {
			t.Fatal(err)
		}
		toks, err1 := s.ListSessionTokens(ctx, sid)
		evs, err2 := s.ListEvents(ctx, sid)
		aud, err3 := s.ListAudit(ctx, storage.AuditFilter{SessionID: sid})
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatal(err1, err2, err3)
		}
		snap.Sessions = append(snap.Sessions, sess)
		snap.Tokens, snap.Events, snap.Audit = append(snap.Tokens, toks), append(snap.Events, evs), append(snap.Audit, aud)
	}
	return snap
}

// downgrade rewrites a schema-2 file in the schema-1 layout, as a build
// before schema 2 would have written it.
func downgrade(t *testing.T, path string) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bbolt.Tx) error {
		old := map[byte][]byte{tagSession: v1Sessions, tagToken: v1SessionTokens, tagEvent: v1Events, tagAudit: v1AuditSession}
		for _, name := range old {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		err := tx.Bucket(bucketSessionData).ForEach(func(k, v []byte) error {
			n, w := binary.Uvarint(k)
			p := w + int(n)
			tag, rest := k[p], k[p+1:]
			key := append(bytes.Clone(k[:p]), rest...)
			if tag == tagSession {
				key = bytes.Clone(k[w:p])
			}
			return tx.Bucket(old[tag]).Put(key, bytes.Clone(v))
		})
		if err != nil {
			return err
		}
		if err := tx.DeleteBucket(bucketSessionData); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keyVersion, []byte(schemaV1))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMigrateV1 writes sessions with tokens, events and audit records,
// rewrites the file in the old layout, and checks that opening it migrates
// everything back unchanged, in more than one migration batch.
func TestMigrateV1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vigil.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	n := migrateBatch/4 + 7 // four keys per session: more than one batch
	var sids []string
	err = s.Update(ctx, func(w storage.Writer) error {
		for i := range n {
			sid := fmt.Sprintf("ses_%05d", i)
			sids = append(sids, sid)
			if err := w.CreateSession(ctx, storage.Session{ID: sid, ClientID: "c", Status: storage.SessionActive,
				CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
				return err
			}
			if err := w.CreateToken(ctx, storage.Token{ID: "tok" + sid, Kind: storage.AccessToken, SessionID: sid,
				ClientID: "c", IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
				return err
			}
			if err := w.AppendEvent(ctx, storage.Event{SessionID: sid, At: t0, Type: "token"}); err != nil {
				return err
			}
			if err := w.AppendAudit(ctx, storage.AuditRecord{At: t0, Type: "issue", ClientID: "c", SessionID: sid, Outcome: "issued"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := readBack(t, s, sids[:50])
	wantLast := readBack(t, s, sids[n-3:])
	s.Close()

	downgrade(t, path)
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := readBack(t, s, sids[:50]); !reflect.DeepEqual(got, want) {
		t.Errorf("after migration:\n got %+v\nwant %+v", got.Sessions[:1], want.Sessions[:1])
	}
	if got := readBack(t, s, sids[n-3:]); !reflect.DeepEqual(got, wantLast) {
		t.Error("the last sessions differ after migration")
	}
	err = s.db.View(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{v1Sessions, v1SessionTokens, v1Events, v1AuditSession} {
			if tx.Bucket(b) != nil {
				t.Errorf("bucket %s left after migration", b)
			}
		}
		if v := tx.Bucket(bucketMeta).Get(keyVersion); string(v) != schemaVersion {
			t.Errorf("version %q", v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Error(err)
	}
}

func TestRetagRejectsMalformedKeys(t *testing.T) {
	for _, k := range [][]byte{{}, {0x80}, {5, 'a'}} {
		if _, err := retag(tagEvent)(k); err == nil {
			t.Errorf("retag(%x) accepted", k)
		}
	}
	got, err := retag(tagEvent)([]byte{2, 'a', 'b', 9, 9})
	if err != nil || !bytes.Equal(got, []byte{2, 'a', 'b', tagEvent, 9, 9}) {
		t.Errorf("retag = %x, %v", got, err)
	}
}

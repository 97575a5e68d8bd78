package bolt

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
	bbolt "go.etcd.io/bbolt"
)

// testdata/schema2.db was written by the build before schema 3 (tokens and
// sessions in the first binary form, schema version "2"), and
// testdata/schema2.json is what that build read back from it: every
// session with its tokens, events and audit records, the session listing,
// each token, and the audit log.
type schema2Readback struct {
	Snapshot snapshot
	All      []storage.Session
	Tokens   []storage.Token
	Audit    []storage.AuditRecord
}

var schema2Sessions = []string{"ses_AAECAwQFBgcICQoLDA0ODw", "ses_--0OM_pHFbbx3joswbcDHA", "s-plain", "ses_terminatedAAAAAAAAAA"}

func readSchema2(t *testing.T, s *Store, want schema2Readback) schema2Readback {
	t.Helper()
	ctx := t.Context()
	var rb schema2Readback
	rb.Snapshot = readBack(t, s, schema2Sessions)
	var err error
	if rb.All, err = s.ListSessions(ctx, storage.SessionFilter{}); err != nil {
		t.Fatal(err)
	}
	for _, tk := range want.Tokens {
		got, err := s.GetToken(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		rb.Tokens = append(rb.Tokens, got)
	}
	if rb.Audit, err = s.ListAudit(ctx, storage.AuditFilter{}); err != nil {
		t.Fatal(err)
	}
	return rb
}

// TestOpenSchema2File opens a file written by the schema-2 build, checks
// that everything reads back as that build read it, and that writes,
// replacements of old records and expiry work on it.
func TestOpenSchema2File(t *testing.T) {
	wantJSON, err := os.ReadFile("testdata/schema2.json")
	if err != nil {
		t.Fatal(err)
	}
	var want schema2Readback
	if err := json.Unmarshal(wantJSON, &want); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("testdata/schema2.db")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "vigil.db")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := json.MarshalIndent(readSchema2(t, s, want), "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, wantJSON) {
		t.Fatalf("read back from the schema-2 file:\n%s\nthe schema-2 build read:\n%s", got, wantJSON)
	}
	err = s.db.View(func(tx *bbolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyVersion); string(v) != schemaVersion {
			t.Errorf("schema version %q after opening, want %q", v, schemaVersion)
		}
		// The old records are read as they are: the first form stays.
		if v := tx.Bucket(bucketTokens).Get([]byte(want.Tokens[0].ID)); len(v) == 0 || v[0] != codecV1 {
			t.Errorf("token record rewritten on open: %x", v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Replace an old token and an old session, add new ones: they take the
	// second form and read back as written.
	ctx := t.Context()
	old := want.Tokens[0]
	old.RevokedAt = old.IssuedAt.Add(time.Second)
	oldSess := want.Snapshot.Sessions[0]
	oldSess.Facts = append(oldSess.Facts, storage.Fact{Code: "f", Points: 3, At: oldSess.CreatedAt})
	fresh := storage.Token{ID: "new-token", Kind: storage.AccessToken, Format: "opaque", ClientID: "agent-1", Subject: "agent-1",
		SessionID: schema2Sessions[0], IssuedAt: old.IssuedAt.Add(time.Hour), NotBefore: old.IssuedAt.Add(time.Hour), ExpiresAt: old.IssuedAt.Add(2 * time.Hour)}
	err = s.Update(ctx, func(w storage.Writer) error {
		return errors.Join(w.PutToken(ctx, old), w.PutSession(ctx, oldSess), w.CreateToken(ctx, fresh))
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range []storage.Token{old, fresh} {
		if got, err := s.GetToken(ctx, tk.ID); err != nil || !equalJSON(t, got, tk) {
			t.Errorf("token %s = %+v, %v; want %+v", tk.ID, got, err, tk)
		}
	}
	if got, err := s.GetSession(ctx, oldSess.ID); err != nil || !equalJSON(t, got, oldSess) {
		t.Errorf("session = %+v, %v; want %+v", got, err, oldSess)
	}
	toks, err := s.ListSessionTokens(ctx, schema2Sessions[0])
	if err != nil || len(toks) != len(want.Snapshot.Tokens[0])+1 {
		t.Errorf("session tokens after adding one: %d, %v", len(toks), err)
	}

	// Expiry across both forms: far in the future everything has expired.
	n, err := s.DeleteExpired(ctx, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || n == 0 {
		t.Fatalf("DeleteExpired = %d, %v", n, err)
	}
	for _, tk := range append(want.Tokens, fresh) {
		if _, err := s.GetToken(ctx, tk.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("token %s after expiry: %v", tk.ID, err)
		}
	}
	if left, err := s.ListSessions(ctx, storage.SessionFilter{}); err != nil || len(left) != 0 {
		t.Errorf("sessions after expiry: %d, %v", len(left), err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return bytes.Equal(ja, jb)
}

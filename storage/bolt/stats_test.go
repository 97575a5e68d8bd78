package bolt_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/bolt"
)

// TestStatsCountsBuckets checks that Stats reports every record written,
// with its key and value bytes, in the bucket that holds it.
func TestStatsCountsBuckets(t *testing.T) {
	s, err := bolt.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 500
	err = s.Update(t.Context(), func(w storage.Writer) error {
		var errs []error
		for i := range n {
			id := string(rune('a'+i%26)) + time.Duration(i).String()
			errs = append(errs, w.CreateToken(t.Context(), storage.Token{ID: "tok-" + id, ClientID: "c1",
				IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
		}
		return errors.Join(errs...)
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.PageSize <= 0 || st.FileBytes < int64(st.PageSize)*4 {
		t.Fatalf("page size %d, file %d bytes", st.PageSize, st.FileBytes)
	}
	var tokens *bolt.BucketStats
	for i, b := range st.Buckets {
		if b.Name == "tokens" {
			tokens = &st.Buckets[i]
		}
	}
	if tokens == nil {
		t.Fatalf("no tokens bucket in %+v", st.Buckets)
	}
	if tokens.Keys != n || tokens.KeyBytes < n*5 || tokens.ValueBytes < n*10 {
		t.Fatalf("tokens: %+v, want %d keys", *tokens, n)
	}
	if tokens.LeafPages < 1 || tokens.Bytes < int64(tokens.LeafPages)*int64(st.PageSize) ||
		tokens.LeafInuse < tokens.KeyBytes+tokens.ValueBytes {
		t.Fatalf("tokens pages: %+v", *tokens)
	}
}

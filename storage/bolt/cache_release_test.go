package bolt_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/bolt"
)

// TestReleaseCacheKeepsData fills a file, reads it all through the mapping,
// hands its cached pages back, and checks that the page cache holds less of
// it and that every record still reads back the same.
func TestReleaseCacheKeepsData(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the page cache is handed back on Linux only")
	}
	s, err := bolt.Open(filepath.Join(t.TempDir(), "vigil.db"), bolt.WithCacheBudget(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 20_000
	pad := strings.Repeat("x", 200)
	for batch := 0; batch < n; batch += 1000 {
		err := s.Update(t.Context(), func(w storage.Writer) error {
			var errs []error
			for i := batch; i < batch+1000; i++ {
				errs = append(errs, w.CreateToken(t.Context(), storage.Token{ID: fmt.Sprintf("tok-%06d", i),
					ClientID: "c1", Subject: pad, IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
			}
			return errors.Join(errs...)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	readAll := func() {
		t.Helper()
		for i := 0; i < n; i += 97 {
			tok, err := s.GetToken(t.Context(), fmt.Sprintf("tok-%06d", i))
			if err != nil || tok.Subject != pad || !tok.ExpiresAt.Equal(t0.Add(time.Hour)) {
				t.Fatalf("token %d: %+v, %v", i, tok, err)
			}
		}
	}
	readAll()
	before, err := s.CachedBytes()
	if err != nil {
		t.Fatal(err)
	}
	if before < 1<<20 {
		t.Fatalf("%d bytes of the file cached after writing and reading about 5 MB", before)
	}
	if err := s.ReleaseCache(); err != nil {
		t.Fatal(err)
	}
	after, err := s.CachedBytes()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cached: %d bytes before handing back, %d after", before, after)
	if after >= before/2 {
		t.Errorf("cached bytes %d before handing back, %d after", before, after)
	}
	readAll()
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestCheckHandsBackWhatItRead checks that the consistency check, which
// reads every page, leaves no more of the file cached than the budget.
func TestCheckHandsBackWhatItRead(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the page cache is handed back on Linux only")
	}
	path := filepath.Join(t.TempDir(), "vigil.db")
	s, err := bolt.Open(path, bolt.WithCacheBudget(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pad := strings.Repeat("y", 300)
	err = s.Update(t.Context(), func(w storage.Writer) error {
		var errs []error
		for i := range 20_000 {
			errs = append(errs, w.CreateToken(t.Context(), storage.Token{ID: fmt.Sprintf("tok-%06d", i), Subject: pad,
				IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
		}
		return errors.Join(errs...)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	after, err := s.CachedBytes()
	if err != nil {
		t.Fatal(err)
	}
	if after > 1<<20 {
		t.Errorf("%d bytes of the file cached after the check, budget 1 MiB", after)
	}
}

package bolt_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/conformance/storetest"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/bolt"
)

// open opens a store in a fresh directory and fails the test on error.
func open(t testing.TB, opts ...bolt.Option) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "vigil.db"), opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// checked runs bbolt's consistency check before the store is closed.
type checked struct {
	*bolt.Store
	t *testing.T
}

func (c checked) Close() error {
	if err := c.Check(); err != nil && !errors.Is(err, storage.ErrUnavailable) {
		c.t.Errorf("Check: %v", err)
	}
	return c.Store.Close()
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storage.Store { return checked{open(t), t} })
}

// TestConformanceWhileHandingBack runs the storage suite while the data
// file's pages are handed back to the kernel every millisecond, so that
// every read and write meets pages that must be read from the file again.
func TestConformanceWhileHandingBack(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storage.Store {
		return checked{open(t, bolt.WithCacheBudget(1), bolt.WithCacheCheckEvery(time.Millisecond)), t}
	})
}

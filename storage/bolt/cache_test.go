package bolt

import (
	"context"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/vigil-auth/vigil/storage"
)

// TestCloneClientIsDeep fails when storage.Client gains a reference field
// that storage.Client.Clone does not copy: every slice and pointer of the clone must
// be distinct from the original's, and the values equal.
func TestCloneClientIsDeep(t *testing.T) {
	var c storage.Client
	fill(t, reflect.ValueOf(&c).Elem(), "Client")
	got := c.Clone()
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("clone differs:\n%+v\n%+v", got, c)
	}
	a, b := reflect.ValueOf(c), reflect.ValueOf(got)
	for i := range a.NumField() {
		f := a.Type().Field(i)
		switch f.Type.Kind() {
		case reflect.Slice, reflect.Pointer, reflect.Map:
			if a.Field(i).Pointer() == b.Field(i).Pointer() {
				t.Errorf("field %s shares memory with the cached client", f.Name)
			}
		}
	}
}

func openT(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func put(t *testing.T, s *Store, fn func(ctx context.Context, w storage.Writer) error) {
	t.Helper()
	ctx := context.Background()
	if err := s.Update(ctx, func(w storage.Writer) error { return fn(ctx, w) }); err != nil {
		t.Fatal(err)
	}
}

func TestRegistrationCache(t *testing.T) {
	ctx := context.Background()
	s := openT(t)
	c := storage.Client{ID: "a", Kind: storage.KindAgent, Scopes: []string{"s1"}}
	put(t, s, func(ctx context.Context, w storage.Writer) error { return w.PutClient(ctx, c) })
	put(t, s, func(ctx context.Context, w storage.Writer) error {
		return w.PutResource(ctx, storage.Resource{Audience: "https://rs", Sensitivity: 1})
	})
	steps := []struct {
		name  string
		write func(ctx context.Context, w storage.Writer) error
		check func(t *testing.T)
	}{
		{"disable", func(ctx context.Context, w storage.Writer) error {
			c.Disabled = true
			return w.PutClient(ctx, c)
		}, func(t *testing.T) {
			if got, _ := s.GetClient(ctx, "a"); !got.Disabled {
				t.Error("disabled client served as enabled")
			}
		}},
		{"sensitivity", func(ctx context.Context, w storage.Writer) error {
			return w.PutResource(ctx, storage.Resource{Audience: "https://rs", Sensitivity: 4})
		}, func(t *testing.T) {
			if got, _ := s.GetResource(ctx, "https://rs"); got.Sensitivity != 4 {
				t.Errorf("sensitivity %d served after the change", got.Sensitivity)
			}
		}},
		{"delete client", func(ctx context.Context, w storage.Writer) error { return w.DeleteClient(ctx, "a") },
			func(t *testing.T) {
				if _, err := s.GetClient(ctx, "a"); err == nil {
					t.Error("deleted client still served")
				}
			}},
		{"delete resource", func(ctx context.Context, w storage.Writer) error { return w.DeleteResource(ctx, "https://rs") },
			func(t *testing.T) {
				if _, err := s.GetResource(ctx, "https://rs"); err == nil {
					t.Error("deleted resource still served")
				}
			}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			// Read twice first so the cache certainly holds the old values.
			for range 2 {
				_, _ = s.GetClient(ctx, "a")
				_, _ = s.GetResource(ctx, "https://rs")
			}
			put(t, s, st.write)
			st.check(t)
		})
	}
}

func TestRegistrationCacheReturnsCopies(t *testing.T) {
	ctx := context.Background()
	s := openT(t)
	put(t, s, func(ctx context.Context, w storage.Writer) error {
		return w.PutClient(ctx, storage.Client{ID: "a", Kind: storage.KindAgent, Scopes: []string{"s1"}})
	})
	for range 3 {
		got, err := s.GetClient(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		if got.Scopes[0] != "s1" {
			t.Fatalf("cached client changed by a caller: %v", got.Scopes)
		}
		got.Scopes[0] = "mutated"
	}
}

// TestRegistrationCacheConcurrent toggles a client while readers hammer it:
// once an Update returns, no read that starts afterwards may see the value
// it replaced.
func TestRegistrationCacheConcurrent(t *testing.T) {
	ctx := context.Background()
	s := openT(t)
	c := storage.Client{ID: "a", Kind: storage.KindAgent}
	put(t, s, func(ctx context.Context, w storage.Writer) error { return w.PutClient(ctx, c) })
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					_, _ = s.GetClient(ctx, "a")
				}
			}
		})
	}
	for i := range 200 {
		c.Disabled = i%2 == 0
		put(t, s, func(ctx context.Context, w storage.Writer) error { return w.PutClient(ctx, c) })
		if got, err := s.GetClient(ctx, "a"); err != nil || got.Disabled != c.Disabled {
			t.Fatalf("write %d: read %v (err %v) after writing %v", i, got.Disabled, err, c.Disabled)
		}
	}
	close(stop)
	wg.Wait()
}

func TestTxCounts(t *testing.T) {
	ctx := context.Background()
	s := openT(t)
	r0, w0, c0 := s.TxCounts()
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			err := s.Update(ctx, func(w storage.Writer) error {
				return w.CreateSession(ctx, storage.Session{ID: "s" + string(rune('A'+i)), ClientID: "c", Status: storage.SessionActive})
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	_, _ = s.GetSession(ctx, "sA")
	r1, w1, c1 := s.TxCounts()
	if w1-w0 != n {
		t.Errorf("writes: %d, want %d", w1-w0, n)
	}
	if c1-c0 < 1 || c1-c0 > n {
		t.Errorf("commits: %d, want 1..%d", c1-c0, n)
	}
	if r1-r0 != 1 {
		t.Errorf("reads: %d, want 1", r1-r0)
	}
	// A failed Update commits nothing.
	_ = s.Update(ctx, func(w storage.Writer) error { return storage.ErrNotFound })
	if _, _, c2 := s.TxCounts(); c2 != c1 {
		t.Errorf("a failed update counted a commit")
	}
}

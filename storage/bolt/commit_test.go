package bolt

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/vigil-auth/vigil/storage"
)

var errBoom = errors.New("boom")

// TestGroupCommitIsolatesFailures runs many Updates at once, some failing
// and one panicking: each gets its own answer, the failed ones write
// nothing, and the rest commit.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	ctx := context.Background()
	s := openT(t)
	const n = 60
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Update(ctx, func(w storage.Writer) error {
				if err := w.PutResource(ctx, storage.Resource{Audience: fmt.Sprint("r", i), Sensitivity: 1}); err != nil {
					return err
				}
				switch {
				case i == 7:
					panic("deliberate")
				case i%5 == 0:
					return errBoom
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		_, getErr := s.GetResource(ctx, fmt.Sprint("r", i))
		switch {
		case i == 7:
			if err == nil || getErr == nil {
				t.Errorf("%d: panicking update: err %v, written %v", i, err, getErr == nil)
			}
		case i%5 == 0:
			if !errors.Is(err, errBoom) || !errors.Is(getErr, storage.ErrNotFound) {
				t.Errorf("%d: failing update: err %v, read %v", i, err, getErr)
			}
		default:
			if err != nil || getErr != nil {
				t.Errorf("%d: update err %v, read %v", i, err, getErr)
			}
		}
	}
}

// TestGroupCommitSharesCommits checks that concurrent Updates share commits.
func TestGroupCommitSharesCommits(t *testing.T) {
	ctx := context.Background()
	s := openT(t)
	_, _, c0 := s.TxCounts()
	const n = 200
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_ = s.Update(ctx, func(w storage.Writer) error {
				return w.PutResource(ctx, storage.Resource{Audience: fmt.Sprint("r", i), Sensitivity: 1})
			})
		})
	}
	close(start)
	wg.Wait()
	if _, _, c1 := s.TxCounts(); c1-c0 >= n {
		t.Errorf("%d updates took %d commits: none shared", n, c1-c0)
	}
}

package bolt

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// The data file is mapped into the process, and every page bbolt reads
// through the mapping stays mapped: it counts in the process's resident
// memory and in the machine's page cache for as long as the kernel sees no
// memory pressure. Writes to random keys (new sessions and tokens) touch
// pages all over the file, and the kernel maps the cached neighbours of
// each page touched (fault-around), so without a bound the resident part of
// the file grows to the whole file.
//
// With a cache budget the Store bounds it: every cacheCheckEvery it counts
// the file's pages held in the page cache (mincore over the mapping), and
// when they exceed the budget it hands them back: madvise(MADV_PAGEOUT) on
// the mapping reclaims the mapped pages (bbolt writes with pwrite, never
// through the mapping; a page not yet written back is written first, never
// dropped), and posix_fadvise(POSIX_FADV_DONTNEED) drops the clean cached
// pages nobody maps.
// The kernel frees them; a page needed again is read back from the file on
// its next access. This changes what is cached, never what is stored.

// cacheCheckEvery is how often the page cache of the data file is measured
// against the budget (tests shorten it).
const cacheCheckEvery = 5 * time.Second

// releaseChunk bounds the span of the mapping one read transaction pins
// while it is handed back, so that a write that grows the file (and must
// remap it) never waits long.
const releaseChunk = 64 << 20

// WithCacheBudget bounds the data file's pages the page cache holds for the
// store to about n bytes (see the package's cache notes): when more are
// cached, they are handed back to the kernel, and read again from the file
// when next needed. n <= 0 (the default) leaves the page cache to the
// kernel. The bound needs Linux 5.4 or later (MADV_PAGEOUT); elsewhere the
// option does nothing.
func WithCacheBudget(n int64) Option { return func(o *options) { o.cacheBudget = n } }

// cacheKeeper runs the budget's checks until stopped.
type cacheKeeper struct {
	db     *bbolt.DB
	path   string
	budget int64
	log    *slog.Logger
	stop   chan struct{}
	done   sync.WaitGroup
	// failed is set when handing back failed (a kernel without
	// MADV_PAGEOUT): the budget is then no longer enforced.
	failed atomic.Bool
}

func startCacheKeeper(db *bbolt.DB, path string, budget int64, every time.Duration, log *slog.Logger) *cacheKeeper {
	k := &cacheKeeper{db: db, path: path, budget: budget, log: log, stop: make(chan struct{})}
	if budget <= 0 || !cacheControl {
		return k
	}
	k.done.Add(1)
	go func() {
		defer k.done.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-k.stop:
				return
			case <-t.C:
				k.check()
			}
		}
	}()
	return k
}

// close stops the checks and waits for one in progress.
func (k *cacheKeeper) close() {
	close(k.stop)
	k.done.Wait()
}

// check hands the file's cached pages back when they exceed the budget.
func (k *cacheKeeper) check() {
	if k.budget <= 0 || !cacheControl || k.failed.Load() {
		return
	}
	cached, err := k.cached()
	if err != nil || cached <= k.budget {
		return
	}
	if err := k.release(); err != nil {
		if !k.failed.Swap(true) {
			k.log.Warn("storage: handing back the data file's cached pages failed; the page cache is left to the kernel", "err", err)
		}
		return
	}
	after, _ := k.cached()
	k.log.Debug("storage: data file's cached pages handed back", "before_bytes", cached, "after_bytes", after)
}

// cached returns how many bytes of the file's mapped span the page cache holds.
func (k *cacheKeeper) cached() (int64, error) {
	var n int64
	err := k.db.View(func(tx *bbolt.Tx) error {
		var err error
		n, err = residentBytes(k.db.Info().Data, tx.Size())
		return err
	})
	return n, err
}

// release hands back the mapping chunk by chunk, each inside a read
// transaction, which keeps bbolt from remapping the file meanwhile, then
// drops the cached pages that were never mapped.
func (k *cacheKeeper) release() error {
	for off := int64(0); ; off += releaseChunk {
		more := false
		err := k.db.View(func(tx *bbolt.Tx) error {
			size := tx.Size()
			if off >= size {
				return nil
			}
			more = true
			return pageOut(k.db.Info().Data+uintptr(off), min(releaseChunk, size-off))
		})
		if err != nil {
			return err
		}
		if !more {
			break
		}
		select {
		case <-k.stop:
			return nil
		default:
		}
	}
	return dropCached(k.path)
}

// CachedBytes returns how many bytes of the data file the page cache holds,
// mapped or not, within the span bbolt uses.
func (s *Store) CachedBytes() (int64, error) {
	if err := s.usable(context.Background()); err != nil {
		return 0, err
	}
	return s.cache.cached()
}

// FileCachedBytes returns how many bytes of the file at path the page
// cache holds, mapped by any process or not. It needs Linux; elsewhere it
// returns an error.
func FileCachedBytes(path string) (int64, error) { return fileCached(path) }

// ReleaseCache hands the data file's cached pages back to the kernel now,
// whatever the budget (see WithCacheBudget).
func (s *Store) ReleaseCache() error {
	if err := s.usable(context.Background()); err != nil {
		return err
	}
	return s.cache.release()
}

// readAhead reads the first size bytes of the file at path into the page
// cache, in large reads from a few goroutines at once. It is a hint: a
// failure leaves the pages to be read when touched.
func readAhead(path string, size int64) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	const chunk, readers = 1 << 20, 4
	var next atomic.Int64
	var wg sync.WaitGroup
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, chunk)
			for {
				off := next.Add(chunk) - chunk
				if off >= size {
					return
				}
				if _, err := f.ReadAt(buf[:min(chunk, size-off)], off); err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
}

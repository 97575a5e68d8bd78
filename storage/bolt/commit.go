package bolt

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// maxBatch bounds how many Updates share one transaction.
const maxBatch = 1000

// committer is the store's group commit. Updates queue; one goroutine at a
// time takes everything queued, runs it in one read-write transaction and
// commits it with one fsync. Updates that arrive while a commit is in
// progress wait for it and then share the next one, so the batch grows with
// the load and needs no fixed delay: a lone Update commits at once, and
// under load each fsync serves every request that came in during the last.
//
// (bbolt's own DB.Batch detaches a batch when its timer fires, before it
// holds the writer lock, so under load batches of about one timer's worth of
// arrivals queue behind each other, each paying for its own fsync.)
type committer struct {
	db *bbolt.DB
	// delay, when positive, lets a commit wait that long for company.
	delay time.Duration

	mu    sync.Mutex
	queue []*pending
	busy  bool
}

// pending is one queued Update.
type pending struct {
	fn   func(*bbolt.Tx) error
	done chan error
}

// errSolo tells an Update whose fn failed inside a shared transaction to
// run again alone, so that its error is judged against committed state only.
var errSolo = errors.New("bolt: run alone")

// do runs fn in a shared transaction and returns when that transaction has
// committed (nil) or failed. fn may run more than once.
func (c *committer) do(fn func(*bbolt.Tx) error) error {
	p := &pending{fn: fn, done: make(chan error, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, p)
	lead := !c.busy
	c.busy = true
	c.mu.Unlock()
	if lead {
		go c.loop()
	}
	err := <-p.done
	if errors.Is(err, errSolo) {
		return c.db.Update(func(tx *bbolt.Tx) error { return safely(fn, tx) })
	}
	return err
}

// loop commits batches until the queue is empty.
func (c *committer) loop() {
	for {
		if c.delay > 0 {
			time.Sleep(c.delay)
		}
		batch := c.take()
		if batch == nil {
			return
		}
		c.commit(batch)
	}
}

// take removes up to maxBatch queued Updates, or marks the committer idle
// and returns nil when there are none.
func (c *committer) take() []*pending {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := min(len(c.queue), maxBatch)
	if n == 0 {
		c.busy = false
		return nil
	}
	batch := slices.Clone(c.queue[:n])
	c.queue = append(c.queue[:0], c.queue[n:]...)
	return batch
}

// commit runs batch in one transaction. When one fn fails, the transaction
// is rolled back, that Update is told to run alone, and the rest run again
// without it.
func (c *committer) commit(batch []*pending) {
	for len(batch) > 0 {
		failed := -1
		err := c.db.Update(func(tx *bbolt.Tx) error {
			for i, p := range batch {
				if err := safely(p.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed >= 0 {
			batch[failed].done <- errSolo
			batch = slices.Delete(batch, failed, failed+1)
			continue
		}
		for _, p := range batch {
			p.done <- err
		}
		return
	}
}

// safely runs fn, turning a panic into an error so that one bad Update
// cannot take the others in its batch down with it.
func safely(fn func(*bbolt.Tx) error, tx *bbolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("bolt: update panicked: %v", p)
		}
	}()
	return fn(tx)
}

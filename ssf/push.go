package ssf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// pushBatch is how many outbox entries one pass reads.
const pushBatch = 32

// Run delivers pushed SETs until ctx is done: one goroutine per enabled push
// stream sends that stream's outbox in Seq order, one SET at a time, and
// removes each entry when the receiver accepts it. A failed push is retried
// (after MinBackoff, doubling up to MaxBackoff, with jitter) before anything
// behind it, so order holds per stream. A SET the receiver refuses as
// invalid (HTTP 400, RFC 8935 §2.3) is dropped and logged. Because an entry
// leaves only after the receiver's answer, a crash in between sends it again:
// delivery is at least once, and receivers deduplicate by jti.
func (t *Transmitter) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	running := map[string]context.CancelFunc{}
	defer func() {
		for _, cancel := range running {
			cancel()
		}
	}()
	for {
		wake := t.kick.wait()
		t.supervise(ctx, &wg, running)
		timer := time.NewTimer(t.cfg.IdlePoll * 4)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// supervise starts a pusher for every enabled push stream without one and
// stops those whose stream went away, paused, or changed method.
func (t *Transmitter) supervise(ctx context.Context, wg *sync.WaitGroup, running map[string]context.CancelFunc) {
	streams, err := t.store.ListStreams(ctx)
	if err != nil {
		if ctx.Err() == nil {
			t.log.Warn("ssf: listing streams failed", "err", err)
		}
		return
	}
	want := map[string]bool{}
	for _, st := range streams {
		if st.Method == storage.DeliveryPush && st.Status == storage.StreamEnabled {
			want[st.ID] = true
		}
	}
	for id, cancel := range running {
		if !want[id] {
			cancel()
			delete(running, id)
		}
	}
	for id := range want {
		if running[id] == nil {
			pctx, cancel := context.WithCancel(ctx)
			running[id] = cancel
			wg.Go(func() { t.pushLoop(pctx, id) })
		}
	}
}

// pushLoop drains one stream's outbox until ctx is done.
//
// A wake-up comes from inside the transaction that queued the entry, a
// moment before it commits; so after one the loop looks again soon
// (eagerChecks times, eagerWait apart) before it falls back to IdlePoll.
func (t *Transmitter) pushLoop(ctx context.Context, id string) {
	failures, eager := 0, 0
	for ctx.Err() == nil {
		wake := t.kick.wait()
		more, err := t.pushPass(ctx, id)
		wait := t.cfg.IdlePoll
		if eager > 0 {
			eager--
			wait = eagerWait
		}
		switch {
		case err != nil:
			failures++
			wait = t.backoff(failures)
			if ctx.Err() == nil {
				t.log.Warn("ssf: push failed; retrying", "stream", id, "attempt", failures, "retry_in", wait.Round(time.Millisecond).String(), "err", err)
			}
			wake = nil // a failed stream waits its backoff out
		case more:
			failures = 0
			continue
		default:
			failures = 0
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-wake:
			eager = eagerChecks
		case <-timer.C:
		}
		timer.Stop()
	}
}

// After a wake-up, how often and how far apart a push stream looks again.
const (
	eagerChecks = 4
	eagerWait   = 10 * time.Millisecond
)

// backoff is the wait after the n-th consecutive failure: MinBackoff·2^(n-1)
// capped at MaxBackoff, then a random point in its upper half.
func (t *Transmitter) backoff(n int) time.Duration {
	d := t.cfg.MinBackoff
	for i := 1; i < n && d < t.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, t.cfg.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// pushPass sends the head of stream id's outbox in order. It returns
// whether a full batch went out (more may wait), or the first failure.
func (t *Transmitter) pushPass(ctx context.Context, id string) (bool, error) {
	if t.gate != nil && !t.gate(ctx, id) {
		return false, nil // another instance pushes this stream
	}
	st, err := t.store.GetStream(ctx, id)
	if err != nil {
		return false, err
	}
	if st.Status != storage.StreamEnabled || st.Method != storage.DeliveryPush {
		return false, nil
	}
	entries, err := t.store.ListOutbox(ctx, id, pushBatch)
	if err != nil {
		return false, err
	}
	var done []uint64
	for _, e := range entries {
		if err = t.pushOne(ctx, st, e); err != nil {
			break
		}
		done = append(done, e.Seq)
	}
	if derr := t.forget(ctx, id, done); derr != nil {
		return false, derr
	}
	return err == nil && len(entries) == pushBatch, err
}

// forget removes delivered entries of stream id in one transaction. Until
// it commits a crash sends them again: at most one pass (pushBatch SETs).
func (t *Transmitter) forget(ctx context.Context, id string, seqs []uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	return t.store.Update(ctx, func(w storage.Writer) error {
		for _, seq := range seqs {
			if err := w.DeleteOutbox(ctx, id, seq); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return err
			}
		}
		return nil
	})
}

// errRefused reports a SET the receiver refused as invalid; it is dropped.
var errRefused = errors.New("ssf: receiver refused the SET")

// pushOne sends one SET (RFC 8935 §2). It returns nil when the entry may
// leave the outbox: accepted, or refused as invalid (logged).
func (t *Transmitter) pushOne(ctx context.Context, st storage.Stream, e storage.OutboxEntry) error {
	err := t.post(ctx, st, e)
	if errors.Is(err, errRefused) {
		t.log.Warn("ssf: receiver refused a SET; dropped", "stream", st.ID, "jti", e.JTI, "err", err)
		return nil
	}
	return err
}

func (t *Transmitter) post(ctx context.Context, st storage.Stream, e storage.OutboxEntry) error {
	set, err := t.sign(e)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, st.EndpointURL, bytes.NewBufferString(set))
	if err != nil {
		return fmt.Errorf("%w: %w", errRefused, err)
	}
	req.Header.Set("Content-Type", ContentTypeSET)
	req.Header.Set("Accept", "application/json")
	if st.AuthorizationHeader != "" {
		req.Header.Set("Authorization", st.AuthorizationHeader)
	}
	resp, err := t.hc.Do(req)
	if err != nil {
		return fmt.Errorf("ssf: push to stream %s: %w", st.ID, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusBadRequest:
		return fmt.Errorf("%w: %s", errRefused, pushError(body))
	}
	return fmt.Errorf("ssf: push to stream %s: HTTP %d", st.ID, resp.StatusCode)
}

// pushError renders an RFC 8935 §2.3 error body for the log.
func pushError(body []byte) string {
	var e struct {
		Err         string `json:"err"`
		Description string `json:"description"`
	}
	if json.Unmarshal(body, &e) != nil || e.Err == "" {
		return "HTTP 400"
	}
	return e.Err + ": " + e.Description
}

package server

import (
	"context"
	"errors"
	"testing"
	"time"
)

// fakeLeaser grants job to holder "me" while free is set, and counts asks.
type fakeLeaser struct {
	free bool
	err  error
	asks int
}

func (f *fakeLeaser) Lease(_ context.Context, _, holder string, _ time.Duration) (bool, error) {
	f.asks++
	return f.free && holder == "me", f.err
}

func TestLeaseCacheAsksAtMostEveryThirdOfTheTTL(t *testing.T) {
	now := time.Unix(1000, 0)
	f := &fakeLeaser{free: true}
	c := &leaseCache{store: f, holder: "me", ttl: 6 * time.Second, now: func() time.Time { return now }, jobs: map[string]leaseState{}}
	steps := []struct {
		advance time.Duration
		free    bool
		err     error
		held    bool
		asks    int
	}{
		{0, true, nil, true, 1},
		{time.Second, false, nil, true, 1},                // within ttl/3: the cached answer
		{time.Second, false, nil, false, 2},               // asked again: taken by another
		{time.Second, true, nil, false, 2},                // cached refusal
		{time.Second, true, errors.New("down"), false, 3}, // a failing store holds nothing
		{2 * time.Second, true, nil, true, 4},
	}
	for i, st := range steps {
		now = now.Add(st.advance)
		f.free, f.err = st.free, st.err
		if got := c.holds(t.Context(), "job"); got != st.held || f.asks != st.asks {
			t.Fatalf("step %d: holds = %v after %d asks, want %v after %d", i, got, f.asks, st.held, st.asks)
		}
	}
}

package authz

import (
	"strconv"
	"testing"
	"time"
)

func TestLimiterBucket(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name    string
		charges int           // failures charged at t0
		at      time.Duration // when the bucket is looked at, after t0
		want    bool
	}{
		{"empty bucket is not throttled", 0, 0, false},
		{"burst minus one leaves room", 2, 0, false},
		{"burst uses it up", 3, 0, true},
		{"a long flood is still one burst", 50, 0, true},
		{"one refill frees one slot", 3, time.Second, false},
		{"a long flood recovers after one refill", 50, time.Second, false},
		{"half a refill is not enough", 3, 500 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLimiter(Rate{Burst: 3, Every: time.Second})
			for range tt.charges {
				l.charge("c", t0)
			}
			if got, _ := l.throttled("c", t0.Add(tt.at)); got != tt.want {
				t.Fatalf("throttled = %v, want %v", got, tt.want)
			}
			if got, _ := l.throttled("other", t0.Add(tt.at)); got {
				t.Fatal("another key is throttled too")
			}
		})
	}
}

func TestLimiterChargeReportsEpisodeStart(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	l := newLimiter(Rate{Burst: 2, Every: time.Minute})
	var starts []int
	for i := range 5 {
		if _, _, started := l.charge("c", t0); started {
			starts = append(starts, i)
		}
	}
	if len(starts) != 1 || starts[0] != 1 {
		t.Fatalf("episode started at charges %v, want exactly [1]", starts)
	}
	if _, wait := l.throttled("c", t0); wait != time.Minute {
		t.Fatalf("wait = %s, want 1m", wait)
	}
}

func TestLimiterDisabledAndEmptyKey(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	var off *limiter = newLimiter(Rate{})
	on := newLimiter(Rate{Burst: 1, Every: time.Hour})
	for range 10 {
		off.charge("c", t0)
		on.charge("", t0)
	}
	if got, _ := off.throttled("c", t0); got {
		t.Fatal("a zero Rate throttled")
	}
	if got, _ := on.throttled("", t0); got {
		t.Fatal("the empty key was throttled")
	}
}

// Keys beyond the tracking bound share one bucket instead of growing the map.
func TestLimiterBoundedMemory(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	l := newLimiter(Rate{Burst: 1, Every: time.Hour})
	for i := range maxTrackedKeys + 500 {
		l.charge("k"+strconv.Itoa(i), t0)
	}
	if len(l.tat) > maxTrackedKeys+1 {
		t.Fatalf("%d keys tracked, bound is %d", len(l.tat), maxTrackedKeys)
	}
	if got, _ := l.throttled("never-seen", t0); !got {
		t.Fatal("an untracked key is not in the shared (throttled) bucket")
	}
	// Once the entries have expired they are pruned and new keys tracked again.
	later := t0.Add(2 * time.Hour)
	if got, _ := l.throttled("fresh", later); got {
		t.Fatal("a new key is throttled after every entry expired")
	}
}

func TestErrThrottledRetryAfter(t *testing.T) {
	tests := map[time.Duration]string{0: "1", 300 * time.Millisecond: "1", 1500 * time.Millisecond: "2", time.Minute: "60"}
	for wait, want := range tests {
		e := errThrottled(wait, "x")
		if e.HTTPStatus() != 429 || e.Header.Get("Retry-After") != want {
			t.Errorf("wait %s: status %d Retry-After %q, want 429 %q", wait, e.HTTPStatus(), e.Header.Get("Retry-After"), want)
		}
	}
}

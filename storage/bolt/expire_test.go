package bolt_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/bolt"
)

// TestDeleteExpiredAcrossBatches seeds more expired records than one
// expiry transaction handles (1000), with expired sessions that must be
// skipped ahead of ones that must go, and a session whose events alone
// exceed a batch.
func TestDeleteExpiredAcrossBatches(t *testing.T) {
	const (
		tokens  = 2500 // expired, no session
		jtis    = 2500 // expired
		kept    = 1200 // expired sessions with a live token: skipped
		dead    = 1100 // expired sessions with 2 events each
		bigEvts = 1500 // events of one expired session
	)
	s := open(t)
	defer s.Close()
	ctx := t.Context()
	err := s.Update(ctx, func(w storage.Writer) error {
		var errs []error
		for i := range tokens {
			errs = append(errs, w.CreateToken(ctx, storage.Token{ID: fmt.Sprintf("tok-%05d", i), ExpiresAt: t0}))
		}
		for i := range jtis {
			errs = append(errs, w.UseJTI(ctx, fmt.Sprintf("jti-%05d", i), t0, t0.Add(-time.Hour)))
		}
		for i := range kept {
			id := fmt.Sprintf("kept-%05d", i)
			errs = append(errs, w.CreateSession(ctx, storage.Session{ID: id, CreatedAt: t0, ExpiresAt: t0.Add(-time.Hour)}),
				w.CreateToken(ctx, storage.Token{ID: "live-" + id, SessionID: id, ExpiresAt: t0.Add(time.Hour)}))
		}
		for i := range dead {
			id := fmt.Sprintf("dead-%05d", i)
			errs = append(errs, w.CreateSession(ctx, storage.Session{ID: id, CreatedAt: t0, ExpiresAt: t0}),
				w.AppendEvent(ctx, storage.Event{SessionID: id}), w.AppendEvent(ctx, storage.Event{SessionID: id}))
		}
		errs = append(errs, w.CreateSession(ctx, storage.Session{ID: "big", CreatedAt: t0, ExpiresAt: t0}))
		for range bigEvts {
			errs = append(errs, w.AppendEvent(ctx, storage.Event{SessionID: "big"}))
		}
		return errors.Join(errs...)
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	n, err := s.DeleteExpired(ctx, t0)
	if want := tokens + jtis + dead*3 + 1 + bigEvts; n != want || err != nil {
		t.Errorf("DeleteExpired = %d, %v; want %d", n, err, want)
	}
	sessions, err := s.ListSessions(ctx, storage.SessionFilter{})
	if err != nil || len(sessions) != kept {
		t.Errorf("sessions left = %d, %v; want %d", len(sessions), err, kept)
	}
	if evs, err := s.ListEvents(ctx, "big"); err != nil || len(evs) != 0 {
		t.Errorf("events of big = %d, %v; want 0", len(evs), err)
	}
	if n, err := s.DeleteExpired(ctx, t0); n != 0 || err != nil {
		t.Errorf("second DeleteExpired = %d, %v; want 0", n, err)
	}
	if err := s.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func TestRetention(t *testing.T) {
	s := open(t, bolt.WithRetention(time.Hour))
	defer s.Close()
	ctx := t.Context()
	err := s.Update(ctx, func(w storage.Writer) error {
		return w.CreateToken(ctx, storage.Token{ID: "t1", ExpiresAt: t0})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		now  time.Time
		want int
	}{
		{t0, 0},
		{t0.Add(59 * time.Minute), 0},
		{t0.Add(time.Hour), 1},
	} {
		if n, err := s.DeleteExpired(ctx, tt.now); n != tt.want || err != nil {
			t.Errorf("DeleteExpired(t0+%s) = %d, %v; want %d", tt.now.Sub(t0), n, err, tt.want)
		}
	}
}

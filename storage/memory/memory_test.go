package memory_test

import (
	"time"

	"testing"

	"github.com/vigil-auth/vigil/conformance/storetest"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/memory"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storage.Store { return memory.New() })
}

func TestRetention(t *testing.T) {
	s := memory.New(memory.WithRetention(time.Hour))
	defer s.Close()
	ctx := t.Context()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
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

package plot

import (
	"bytes"
	"image/png"
	"testing"

	"github.com/vigil-auth/vigil/internal/eval"
)

func TestFloorTen(t *testing.T) {
	for _, tc := range []struct {
		name string
		low  float64
		want float64
	}{
		{"near the top", 94.8, 80},
		{"exactly on a ten", 95, 90},
		{"low", 3, 0},
		{"zero", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := []Series{{Points: []eval.Point{{ContainedPct: 99}, {ContainedPct: tc.low}}}}
			if got := floorTen(s); got != tc.want {
				t.Errorf("floorTen with lowest %v = %v, want %v", tc.low, got, tc.want)
			}
		})
	}
}

func TestWritePNG_FaintSeries(t *testing.T) {
	pts := []eval.Point{{Tolerance: 0.5, ContainedPct: 97, FrictionPct: 3}, {Tolerance: 1, ContainedPct: 95, FrictionPct: 2}}
	series := []Series{{Name: "all seeds", Points: pts}}
	for range 10 {
		series = append(series, Series{Name: "each of 10 seeds", Points: pts, Faint: true})
	}
	var buf bytes.Buffer
	if err := WritePNG(&buf, "t", series, &Goal{Contained: 95, Friction: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(&buf); err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if got := faintOnly(series, true); len(got) != 10 {
		t.Errorf("faintOnly(true) = %d series, want 10", len(got))
	}
}

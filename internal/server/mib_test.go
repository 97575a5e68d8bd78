package server

import (
	"math"
	"testing"
)

func TestMiB(t *testing.T) {
	tests := []struct {
		n    int64 // an int where int has 64 bits
		want int64
	}{
		{0, 0},
		{256, 256 << 20},
		{-1, -1 << 20},
		{math.MaxInt64 >> 20, math.MaxInt64 >> 20 << 20},
		{1<<44 + 1, math.MaxInt64 >> 20 << 20}, // (1<<44+1)<<20 would wrap to 1 MiB
		{math.MaxInt64, math.MaxInt64 >> 20 << 20},
	}
	for _, tt := range tests {
		if int64(int(tt.n)) != tt.n {
			continue // int has 32 bits here
		}
		if got := mib(int(tt.n)); got != tt.want {
			t.Errorf("mib(%d) = %d, want %d", tt.n, got, tt.want)
		}
	}
}

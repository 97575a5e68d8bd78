package oauth

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestNewAct(t *testing.T) {
	tests := []struct {
		actors []string
		want   string
	}{
		{nil, "null"},
		{[]string{"a"}, `{"sub":"a"}`},
		{[]string{"current", "prior", "first"}, `{"sub":"current","act":{"sub":"prior","act":{"sub":"first"}}}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(NewAct(tt.actors))
		if err != nil || string(b) != tt.want {
			t.Errorf("NewAct(%q) = %s, %v; want %s", tt.actors, b, err, tt.want)
		}
	}
}

func TestIntersect(t *testing.T) {
	tests := []struct {
		a, b, want []string
	}{
		{nil, []string{"x"}, nil},
		{[]string{"x", "y"}, nil, nil},
		{[]string{"c", "a", "b"}, []string{"b", "c"}, []string{"c", "b"}},
	}
	for _, tt := range tests {
		if got := Intersect(tt.a, tt.b); !slices.Equal(got, tt.want) || (tt.want == nil) != (got == nil) {
			t.Errorf("Intersect(%q, %q) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}

package apicheck_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/vigil-auth/vigil/internal/admin/apicheck"
)

type inner struct {
	A string `json:"a"`
	B int    `json:"b,omitempty"`
}

type outer struct {
	inner
	C       bool   `json:"c"`
	Skipped string `json:"-"`
	Plain   string
	private string
}

const doc = `{"components": {"schemas": {
  "Outer": {"type": "object", "properties": {"a": {}, "b": {}, "c": {}, "Plain": {}}},
  "Short": {"type": "object", "properties": {"a": {}, "b": {}}},
  "Long":  {"type": "object", "properties": {"a": {}, "b": {}, "c": {}, "Plain": {}, "d": {"not": {}}}},
  "Empty": {"type": "object"},
  "Ref":   {"type": "object", "properties": {"outer": {"$ref": "#/components/schemas/Outer"}, "inline": {"type": "object"}}}
}}}`

func TestFields(t *testing.T) {
	got := apicheck.Fields(reflect.TypeFor[*outer]())
	if want := []string{"Plain", "a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("Fields = %v, want %v", got, want)
	}
}

func TestCompare(t *testing.T) {
	d, err := apicheck.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		schema string
		want   int
	}{
		{"Outer", 0},
		{"Short", 2}, // the type has c and Plain, the schema does not
		{"Long", 1},  // the schema has d, the type does not
		{"Empty", 1}, // no properties to compare with
		{"Missing", 1},
	}
	for _, tt := range tests {
		t.Run(tt.schema, func(t *testing.T) {
			if got := d.Compare(tt.schema, outer{}); len(got) != tt.want {
				t.Errorf("Compare(%s) = %q, want %d differences", tt.schema, got, tt.want)
			}
		})
	}
}

func TestHas(t *testing.T) {
	d, err := apicheck.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		schema, key string
		want, err   bool
	}{
		{"Outer", "a", true, false},
		{"Outer", "d", false, false},
		{"Ref", "outer", true, false},
		{"Ref", "outer.c", true, false},
		{"Ref", "outer.d", false, false},
		{"Ref", "missing.a", false, false},
		{"Ref", "inline.a", false, true}, // not a reference: cannot be followed
		{"Missing", "a", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.schema+"/"+tt.key, func(t *testing.T) {
			got, err := d.Has(tt.schema, tt.key)
			if got != tt.want || (err != nil) != tt.err {
				t.Errorf("Has(%s, %s) = %v, %v; want %v, error %v", tt.schema, tt.key, got, err, tt.want, tt.err)
			}
		})
	}
}

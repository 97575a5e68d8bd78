// Package apicheck holds Go types to the admin API's OpenAPI description:
// it compares the JSON fields of a type with the properties of one of the
// description's object schemas, both ways, so that neither the server's
// wire types nor the CLI's can drift from the description unnoticed. Only
// tests import it. It imports nothing from this module.
package apicheck

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Doc is a parsed description: its component schemas, by name.
type Doc struct {
	schemas map[string]json.RawMessage
}

// Parse reads an OpenAPI document's components.schemas.
func Parse(b []byte) (*Doc, error) {
	var doc struct {
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("apicheck: %w", err)
	}
	return &Doc{schemas: doc.Components.Schemas}, nil
}

// Properties returns the sorted property names of the named object schema.
// A property whose schema forbids it ({"not": {}}: never present) is
// listed too: a Go field may carry it, provided it is always omitted.
func (d *Doc) Properties(name string) ([]string, error) {
	raw, ok := d.schemas[name]
	if !ok {
		return nil, fmt.Errorf("apicheck: no schema %s", name)
	}
	var s struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("apicheck: schema %s: %w", name, err)
	}
	if len(s.Properties) == 0 {
		return nil, fmt.Errorf("apicheck: schema %s has no properties", name)
	}
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, nil
}

// Has reports whether the named object schema has the property key. A
// dotted key ("a.b") names a member of an object property, followed
// through its "$ref" to another component schema.
func (d *Doc) Has(name, key string) (bool, error) {
	head, rest, nested := strings.Cut(key, ".")
	raw, ok := d.schemas[name]
	if !ok {
		return false, fmt.Errorf("apicheck: no schema %s", name)
	}
	var s struct {
		Properties map[string]struct {
			Ref string `json:"$ref"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return false, fmt.Errorf("apicheck: schema %s: %w", name, err)
	}
	p, ok := s.Properties[head]
	if !ok || !nested {
		return ok, nil
	}
	ref, ok := strings.CutPrefix(p.Ref, "#/components/schemas/")
	if !ok {
		return false, fmt.Errorf("apicheck: %s.%s is not a reference to a component schema", name, head)
	}
	return d.Has(ref, rest)
}

// Compare returns one line for every JSON field of v's type that the named
// schema lacks and every property of the schema that v's type lacks; none
// when they agree.
func (d *Doc) Compare(name string, v any) []string {
	props, err := d.Properties(name)
	if err != nil {
		return []string{err.Error()}
	}
	t := reflect.TypeOf(v)
	fields := Fields(t)
	var out []string
	for _, f := range fields {
		if !slices.Contains(props, f) {
			out = append(out, fmt.Sprintf("%s has field %q; schema %s has no such property", t, f, name))
		}
	}
	for _, p := range props {
		if !slices.Contains(fields, p) {
			out = append(out, fmt.Sprintf("schema %s has property %q; %s has no such field", name, p, t))
		}
	}
	return out
}

// Fields returns the sorted JSON member names encoding/json uses for the
// struct type t (or *t): exported fields, embedded structs flattened,
// fields tagged "-" left out.
func Fields(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	seen := map[string]bool{}
	collect(t, seen)
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func collect(t reflect.Type, seen map[string]bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			collect(ft, seen)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		seen[name] = true
	}
}

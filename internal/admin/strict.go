package admin

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// Strict admin JSON: member names are exact (encoding/json would also take
// "SCOPES" for "scopes"), no object repeats a member (encoding/json would
// keep the last), and unknown members are refused. checkStrict walks the
// body once against the type it decodes into, before it is decoded.

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	unmarshalers   = []reflect.Type{reflect.TypeFor[json.Unmarshaler](), reflect.TypeFor[encoding.TextUnmarshaler]()}
)

// checkStrict reports the first member of b that is repeated or whose name
// is not exactly one of t's JSON field names.
func checkStrict(b []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return strictValue(dec, t, "")
}

func strictValue(dec *json.Decoder, t reflect.Type, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch tok {
	case json.Delim('{'):
		return strictObject(dec, t, path)
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && t != rawMessageType && !custom(t) && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := strictValue(dec, elem, path+"[]"); err != nil {
				return err
			}
		}
		_, err := dec.Token()
		return err
	}
	return nil
}

func strictObject(dec *json.Decoder, t reflect.Type, path string) error {
	var fields map[string]reflect.Type
	var elem reflect.Type
	switch {
	case t == nil || custom(t):
	case t.Kind() == reflect.Struct:
		fields = fieldTypes(t)
	case t.Kind() == reflect.Map:
		elem = t.Elem()
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		at := strings.TrimPrefix(path+"."+name, ".")
		if seen[name] {
			return fmt.Errorf("duplicate field %q", at)
		}
		seen[name] = true
		ft := elem
		if fields != nil {
			var ok bool
			if ft, ok = fields[name]; !ok {
				return unknownMember(at, name, fields)
			}
		}
		if err := strictValue(dec, ft, at); err != nil {
			return err
		}
	}
	_, err := dec.Token()
	return err
}

// unknownMember names a member that is not a field, and the field it
// differs from only in case, if any.
func unknownMember(at, name string, fields map[string]reflect.Type) error {
	for f := range fields {
		if strings.EqualFold(f, name) {
			return fmt.Errorf("unknown field %q (member names are exact: %q)", at, f)
		}
	}
	return fmt.Errorf("unknown field %q", at)
}

// custom reports whether t decodes itself, so its JSON is not a struct's.
func custom(t reflect.Type) bool {
	for _, u := range unmarshalers {
		if t.Implements(u) || reflect.PointerTo(t).Implements(u) {
			return true
		}
	}
	return false
}

// fieldTypes maps t's JSON field names (embedded structs flattened, as
// encoding/json does) to their types.
func fieldTypes(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for n, ft := range fieldTypes(f.Type) {
				if _, shadowed := out[n]; !shadowed {
					out[n] = ft
				}
			}
			continue
		}
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

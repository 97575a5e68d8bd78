package config

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// serverManaged are record fields the server sets; a file may not.
var serverManaged = map[string]string{
	"secret_hash": "give secret (plaintext); the server stores only its hash",
	"created_at":  "it is set by the server",
	"updated_at":  "it is set by the server",
	"source":      "it is set by the server",
}

var (
	rawMessageType      = reflect.TypeFor[json.RawMessage]()
	yamlNodeType        = reflect.TypeFor[yaml.Node]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// Decode decodes the YAML node n into out (a non-nil pointer) as strictly
// as a configuration file: keys are out's JSON field names, unknown or
// duplicated keys and aliases are errors naming their line, and fields the
// node does not mention keep their values in out, so callers can decode
// over defaults. It is how a file's raw sections (such as policy) are read.
func Decode(n *yaml.Node, out any) error { return decodeNode(n, out) }

// YAMLToJSON converts one YAML document to JSON, refusing aliases and merge
// keys. An empty document is an error.
func YAMLToJSON(b []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, errors.New("empty document")
	}
	v, err := nodeToValue(doc.Content[0], 0)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// decodeNode decodes n into out (a pointer) strictly, using the JSON field
// names of out's type, so a file uses the same names as the admin API.
// Every error names the line it is about; all errors are reported, joined.
// Aliases and merge keys are refused: they make a file hard to review and
// can expand exponentially.
func decodeNode(n *yaml.Node, out any) error {
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return errors.New("config: decode target must be a non-nil pointer")
	}
	var errs []error
	decodeValue(n, v.Elem(), "", &errs)
	return errors.Join(errs...)
}

func lineErr(n *yaml.Node, path, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	return fmt.Errorf("line %d: %s", n.Line, msg)
}

func decodeValue(n *yaml.Node, v reflect.Value, path string, errs *[]error) {
	if n.Kind == yaml.AliasNode {
		*errs = append(*errs, lineErr(n, path, "YAML aliases are not supported"))
		return
	}
	switch {
	case v.Type() == yamlNodeType:
		v.Set(reflect.ValueOf(*n))
	case v.Type() == rawMessageType:
		decodeRawJSON(n, v, path, errs)
	case reflect.PointerTo(v.Type()).Implements(textUnmarshalerType):
		decodeText(n, v, path, errs)
	case v.Kind() == reflect.Pointer:
		if isNull(n) {
			return
		}
		p := reflect.New(v.Type().Elem())
		decodeValue(n, p.Elem(), path, errs)
		v.Set(p)
	case v.Kind() == reflect.Struct:
		decodeStruct(n, v, path, errs)
	case v.Kind() == reflect.Slice:
		decodeSlice(n, v, path, errs)
	case v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String:
		decodeMap(n, v, path, errs)
	case v.Kind() == reflect.String:
		decodeString(n, v, path, errs)
	default:
		decodeScalar(n, v, path, errs)
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func decodeStruct(n *yaml.Node, v reflect.Value, path string, errs *[]error) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		*errs = append(*errs, lineErr(n, path, "want a mapping of keys to values"))
		return
	}
	fields := jsonFields(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		name := k.Value
		fpath := join(path, name)
		if prev, dup := seen[name]; dup {
			*errs = append(*errs, lineErr(k, fpath, "duplicate key (first at line %d)", prev))
			continue
		}
		seen[name] = k.Line
		if k.Kind != yaml.ScalarNode || name == "<<" {
			*errs = append(*errs, lineErr(k, path, "keys must be plain names (no merge keys)"))
			continue
		}
		if hint, ok := serverManaged[name]; ok {
			*errs = append(*errs, lineErr(k, fpath, "not accepted: %s", hint))
			continue
		}
		idx, ok := fields[name]
		if !ok {
			*errs = append(*errs, lineErr(k, path, "unknown key %q", name))
			continue
		}
		decodeValue(val, v.FieldByIndex(idx), fpath, errs)
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// jsonFields maps the JSON names of t's fields (flattening embedded
// structs, as encoding/json does) to their index paths. Outer fields
// shadow embedded ones of the same name.
func jsonFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for n, idx := range jsonFields(f.Type) {
				if _, shadowed := out[n]; !shadowed {
					out[n] = append([]int{i}, idx...)
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
		out[name] = []int{i}
	}
	return out
}

// decodeMap decodes a mapping into a map with string keys, each value
// strictly by its type. Existing entries are kept unless the file sets them.
func decodeMap(n *yaml.Node, v reflect.Value, path string, errs *[]error) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		*errs = append(*errs, lineErr(n, path, "want a mapping of keys to values"))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if prev, dup := seen[k.Value]; dup || k.Kind != yaml.ScalarNode || k.Value == "<<" {
			*errs = append(*errs, lineErr(k, path, "key %q is repeated (line %d) or not a plain name", k.Value, prev))
			continue
		}
		seen[k.Value] = k.Line
		key := reflect.ValueOf(k.Value).Convert(v.Type().Key())
		elem := reflect.New(v.Type().Elem()).Elem()
		if cur := v.MapIndex(key); cur.IsValid() {
			elem.Set(cur)
		}
		decodeValue(val, elem, join(path, k.Value), errs)
		v.SetMapIndex(key, elem)
	}
}

func decodeSlice(n *yaml.Node, v reflect.Value, path string, errs *[]error) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		*errs = append(*errs, lineErr(n, path, "want a list"))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		decodeValue(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i), errs)
	}
	v.Set(s)
}

func decodeString(n *yaml.Node, v reflect.Value, path string, errs *[]error) {
	switch {
	case isNull(n):
		v.SetString("")
	case n.Kind != yaml.ScalarNode:
		*errs = append(*errs, lineErr(n, path, "want a single value, not a list or mapping"))
	default:
		v.SetString(n.Value)
	}
}

func decodeText(n *yaml.Node, v reflect.Value, path string, errs *[]error) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		*errs = append(*errs, lineErr(n, path, "want a single value such as \"15m\""))
		return
	}
	u := v.Addr().Interface().(encoding.TextUnmarshaler)
	if err := u.UnmarshalText([]byte(n.Value)); err != nil {
		*errs = append(*errs, lineErr(n, path, "%v", err))
	}
}

func decodeScalar(n *yaml.Node, v reflect.Value, path string, errs *[]error) {
	if n.Kind != yaml.ScalarNode {
		*errs = append(*errs, lineErr(n, path, "want a single value, not a list or mapping"))
		return
	}
	var err error
	switch v.Kind() {
	case reflect.Bool:
		var b bool
		if err = n.Decode(&b); err == nil {
			v.SetBool(b)
		}
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Int16, reflect.Int8:
		var i int64
		if i, err = strconv.ParseInt(n.Value, 10, 64); err == nil && !v.OverflowInt(i) {
			v.SetInt(i)
		} else if err == nil {
			err = errors.New("out of range")
		}
	case reflect.Uint, reflect.Uint64, reflect.Uint32, reflect.Uint16, reflect.Uint8:
		var u uint64
		if u, err = strconv.ParseUint(n.Value, 10, 64); err == nil && !v.OverflowUint(u) {
			v.SetUint(u)
		} else if err == nil {
			err = errors.New("out of range")
		}
	case reflect.Float64, reflect.Float32:
		var f float64
		if f, err = strconv.ParseFloat(n.Value, 64); err == nil && !v.OverflowFloat(f) && !math.IsNaN(f) && !math.IsInf(f, 0) {
			v.SetFloat(f)
		} else if err == nil {
			err = errors.New("out of range")
		}
	default:
		err = fmt.Errorf("unsupported field type %s", v.Type())
	}
	if err != nil {
		*errs = append(*errs, lineErr(n, path, "%q is not a %s", n.Value, v.Kind()))
	}
}

// decodeRawJSON stores a mapping or list as JSON, or a string holding JSON.
func decodeRawJSON(n *yaml.Node, v reflect.Value, path string, errs *[]error) {
	var b []byte
	var err error
	switch {
	case isNull(n):
		return
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str":
		b = []byte(n.Value)
		if !json.Valid(b) {
			err = errors.New("not valid JSON")
		}
	default:
		var x any
		if x, err = nodeToValue(n, 0); err == nil {
			b, err = json.Marshal(x)
		}
		var ne *nodeError
		if errors.As(err, &ne) {
			*errs = append(*errs, lineErr(ne.n, path, "%s", ne.msg))
			return
		}
	}
	if err != nil {
		*errs = append(*errs, lineErr(n, path, "%v", err))
		return
	}
	var buf bytes.Buffer
	_ = json.Compact(&buf, b) // b is valid JSON here
	v.SetBytes(buf.Bytes())
}

// nodeError is a problem with a node inside a raw JSON value.
type nodeError struct {
	n   *yaml.Node
	msg string
}

func (e *nodeError) Error() string { return fmt.Sprintf("line %d: %s", e.n.Line, e.msg) }

// maxDepth bounds how deeply nested a raw JSON value in a file may be.
const maxDepth = 32

// nodeToValue turns a YAML node into a JSON-ready Go value.
func nodeToValue(n *yaml.Node, depth int) (any, error) {
	if depth > maxDepth {
		return nil, &nodeError{n, "nested too deeply"}
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.Value == "<<" {
				return nil, &nodeError{k, "keys must be plain strings"}
			}
			if _, dup := m[k.Value]; dup {
				return nil, &nodeError{k, fmt.Sprintf("duplicate key %q", k.Value)}
			}
			val, err := nodeToValue(n.Content[i+1], depth+1)
			if err != nil {
				return nil, err
			}
			m[k.Value] = val
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, item := range n.Content {
			val, err := nodeToValue(item, depth+1)
			if err != nil {
				return nil, err
			}
			s[i] = val
		}
		return s, nil
	case yaml.ScalarNode:
		return scalarValue(n)
	}
	return nil, &nodeError{n, "YAML aliases are not supported"}
}

func scalarValue(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool", "!!int", "!!float":
		var x any
		if err := n.Decode(&x); err != nil {
			return nil, &nodeError{n, err.Error()}
		}
		return x, nil
	}
	return n.Value, nil
}

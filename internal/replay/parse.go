package replay

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// maxLine bounds one scenario line.
const maxLine = 16 << 20

// ParseError reports a malformed scenario: the file, the line and, when the
// problem is in one field, that field's path (for example
// "steps[3].expect.max_ttl").
type ParseError struct {
	File  string
	Line  int
	Field string
	Err   error
}

// Error renders "file:line: field: problem".
func (e *ParseError) Error() string {
	loc := fmt.Sprintf("%s:%d", e.File, e.Line)
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %v", loc, e.Field, e.Err)
	}
	return fmt.Sprintf("%s: %v", loc, e.Err)
}

// Unwrap returns the underlying problem.
func (e *ParseError) Unwrap() error { return e.Err }

// fieldError is a problem with one field, before the line is known.
type fieldError struct {
	path string
	err  error
}

func (e *fieldError) Error() string { return e.path + ": " + e.err.Error() }

func fieldErr(path, format string, args ...any) error {
	return &fieldError{path: path, err: fmt.Errorf(format, args...)}
}

// ReadFile parses the scenario file at path (see Parse).
func ReadFile(path string) ([]Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	return Parse(f, path)
}

// Parse reads JSON Lines scenarios from r (name is used in errors). Empty
// lines and lines starting with "//" are skipped. Every scenario is decoded
// strictly (unknown fields are errors) and checked; the first problem is
// returned as a *ParseError naming the line and field. Scenario ids must
// be unique within the file.
func Parse(r io.Reader, name string) ([]Scenario, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var out []Scenario
	seen := map[string]int{}
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || bytes.HasPrefix(line, []byte("//")) {
			continue
		}
		s, err := parseLine(line)
		if err != nil {
			return nil, lineError(name, n, err)
		}
		if prev, dup := seen[s.ID]; dup {
			return nil, &ParseError{File: name, Line: n, Field: "id", Err: fmt.Errorf("%q is already used on line %d", s.ID, prev)}
		}
		seen[s.ID] = n
		s.File, s.Line = name, n
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, &ParseError{File: name, Line: n + 1, Err: err}
	}
	return out, nil
}

func lineError(file string, line int, err error) error {
	var fe *fieldError
	if errors.As(err, &fe) {
		return &ParseError{File: file, Line: line, Field: fe.path, Err: fe.err}
	}
	return &ParseError{File: file, Line: line, Err: err}
}

// parseLine decodes and checks one scenario.
func parseLine(line []byte) (Scenario, error) {
	var probe any
	if err := json.Unmarshal(line, &probe); err != nil {
		return Scenario{}, fmt.Errorf("invalid JSON: %w", err)
	}
	s, err := decodeScenario(line)
	if err != nil {
		return s, err
	}
	return s, s.check()
}

// fields maps an object's keys to the decoders of their values.
type fields map[string]func(raw json.RawMessage, path string) error

// decodeObject decodes raw as a JSON object whose keys must all be in fs,
// calling each key's decoder in key order so errors are deterministic.
func decodeObject(raw json.RawMessage, path string, fs fields) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return &fieldError{path: orRoot(path), err: errors.New("want an object")}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		dec, ok := fs[k]
		if !ok {
			return &fieldError{path: join(path, k), err: errors.New("unknown field")}
		}
		if err := dec(m[k], join(path, k)); err != nil {
			return err
		}
	}
	return nil
}

// leaf decodes a value into p (a pointer to a string, bool, int, []string,
// *int or *bool), naming the wanted type on failure.
func leaf(p any) func(json.RawMessage, string) error {
	return func(raw json.RawMessage, path string) error {
		if err := json.Unmarshal(raw, p); err != nil {
			return &fieldError{path: path, err: errors.New("want " + describe(p))}
		}
		return nil
	}
}

func describe(p any) string {
	switch p.(type) {
	case *string:
		return "a string"
	case *bool, **bool:
		return "true or false"
	case *int, **int:
		return "an integer"
	case *[]string:
		return "an array of strings"
	}
	return "another type"
}

// array decodes raw as a JSON array, calling each for every element.
func array(raw json.RawMessage, path string, each func(raw json.RawMessage, path string) error) error {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return &fieldError{path: path, err: errors.New("want an array")}
	}
	for i, it := range items {
		if err := each(it, fmt.Sprintf("%s[%d]", path, i)); err != nil {
			return err
		}
	}
	return nil
}

// object decodes raw as a JSON object of objects, calling each per key in order.
func objectOf(raw json.RawMessage, path string, each func(key string, raw json.RawMessage, path string) error) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return &fieldError{path: path, err: errors.New("want an object")}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := each(k, m[k], join(path, k)); err != nil {
			return err
		}
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orRoot(path string) string {
	if path == "" {
		return "scenario"
	}
	return path
}

// textValue decodes a string and converts it with conv.
func textValue(conv func(string) error) func(json.RawMessage, string) error {
	return func(raw json.RawMessage, path string) error {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return &fieldError{path: path, err: errors.New("want a string")}
		}
		if err := conv(s); err != nil {
			return &fieldError{path: path, err: err}
		}
		return nil
	}
}

// quoted shortens s for an error message.
func quoted(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// oneOf checks that s is one of the values (or empty when allowEmpty).
func oneOf(s string, allowEmpty bool, values ...string) error {
	if (s == "" && allowEmpty) || slices.Contains(values, s) {
		return nil
	}
	return fmt.Errorf("%s is not one of %s", quoted(s), strings.Join(values, ", "))
}

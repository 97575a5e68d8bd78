package register

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// members are the exact JSON member names a request may carry.
var members = memberNames(reflect.TypeFor[request]())

func memberNames(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			for k := range memberNames(f.Type) {
				out[k] = true
			}
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			out[name] = true
		}
	}
	return out
}

// strictBody returns the request body with only the members Vigil knows,
// matched by exact name: unknown members are ignored as RFC 7591 §2 asks,
// and a member named in another case ("SCOPE") is unknown rather than
// taken for scope as encoding/json would. A member repeated in any object
// is an error: which one counts would be a guess.
func strictBody(body []byte) ([]byte, error) {
	if err := noRepeats(json.NewDecoder(bytes.NewReader(body))); err != nil {
		return nil, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, err
	}
	for k := range top {
		if !members[k] {
			delete(top, k)
		}
	}
	return json.Marshal(top)
}

// noRepeats walks one JSON value and reports a member repeated in an object.
func noRepeats(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return err
			}
			name, _ := k.(string)
			if seen[name] {
				return fmt.Errorf("member %q is repeated", name)
			}
			seen[name] = true
			if err := noRepeats(dec); err != nil {
				return err
			}
		}
		_, err = dec.Token()
	case json.Delim('['):
		for dec.More() {
			if err := noRepeats(dec); err != nil {
				return err
			}
		}
		_, err = dec.Token()
	case json.Delim('}'), json.Delim(']'):
		err = errors.New("unexpected end of a JSON value")
	}
	return err
}

package rs

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// depth counts the links of an act chain.
func depth(a *Actor) int {
	n := 0
	for ; a != nil; a = a.Actor {
		n++
	}
	return n
}

// jsonDepth counts the nested "act" objects of an answer, independently.
func jsonDepth(body []byte) int {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return -1
	}
	n := 0
	for {
		next, ok := m["act"].(map[string]any)
		if !ok {
			return n
		}
		n, m = n+1, next
	}
}

// Property: decodeAnswer never panics; it accepts only answers with a
// boolean active member; an inactive answer carries nothing; an active
// answer's act chain (RFC 8693 §4.1, nested to any depth) is decoded link
// for link, and its claims convert without panicking.
func FuzzDecodeAnswer(f *testing.F) {
	for _, s := range []string{
		`{"active":false}`,
		`{"active":true,"sub":"a","aud":"x","act":{"sub":"b","act":{"sub":"c"}}}`,
		`{"active":true,"aud":["x",{"y":1}]}`,
		`{"active":true,"act":{"sub":"b","act":null}}`,
		`{"active":"true"}`,
		`{"active":false,"sub":"leak","act":{"sub":"x"}}`,
		`{"active":true,"act":` + strings.Repeat(`{"act":`, 200) + `{}` + strings.Repeat(`}`, 200) + `}`,
		`{"active":true,"active":false}`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}}
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := decodeAnswer(resp, body)
		if err != nil {
			return
		}
		var probe struct {
			Active *bool `json:"active"`
		}
		if json.Unmarshal(body, &probe) != nil || probe.Active == nil || *probe.Active != a.Active {
			t.Fatalf("accepted %q as active=%v", body, a.Active)
		}
		if !a.Active {
			if a.Subject != "" || a.Act != nil || a.Scope != "" || a.Risk != nil {
				t.Fatalf("an inactive answer carried claims: %+v", a)
			}
			return
		}
		if d := jsonDepth(body); d >= 0 && depth(a.Act) != d {
			t.Fatalf("act chain of %d links decoded as %d", d, depth(a.Act))
		}
		_, _ = a.claims()
	})
}

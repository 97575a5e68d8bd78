package ssf

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-auth/vigil/storage/memory"
)

// FuzzStreamManagement feeds arbitrary bodies to the stream management
// API (SSF 1.0 §8.1) as an authenticated receiver: every answer is a
// success or a 4xx, never a panic or a 5xx. "{sid}" in a body stands for
// an existing stream's ID.
func FuzzStreamManagement(f *testing.F) {
	for _, s := range []string{`{}`, `{"stream_id":"{sid}","description":"x"}`, `{"stream_id":"{sid}","status":"paused"}`,
		`{"stream_id":"{sid}","subject":{"format":"opaque","id":"s1"}}`, `{"stream_id":"{sid}","events_delivered":[]}`,
		`{"delivery":{"method":"urn:ietf:rfc:8935","endpoint_url":"https://rp.example/x"}}`, `{"stream_id":"{sid}","aud":["a","b"]}`,
		`{"stream_id":"{sid}","events_requested":null,"events_supported":["x"]}`, `[]`, `null`, `{"subject":{"format":"iss_sub"}}`} {
		for op := range uint8(6) {
			f.Add(op, s)
		}
	}
	e := newEnv(f, memory.New())
	st := e.createStream(f, `{}`)
	ops := []struct {
		method string
		h      http.HandlerFunc
	}{
		{http.MethodPost, e.tx.Streams}, {http.MethodPatch, e.tx.Streams}, {http.MethodPut, e.tx.Streams},
		{http.MethodPost, e.tx.Status}, {http.MethodPost, e.tx.AddSubject}, {http.MethodPost, e.tx.RemoveSubject},
	}
	f.Fuzz(func(t *testing.T, op uint8, body string) {
		o := ops[int(op)%len(ops)]
		body = strings.ReplaceAll(body, "{sid}", st.StreamID)
		if code, out := e.call(t, o.h, o.method, PathStreams, body); code >= 500 {
			t.Fatalf("%s %q: %d %s", o.method, body, code, out)
		}
	})
}

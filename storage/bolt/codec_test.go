package bolt

import (
	"encoding/binary"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// fill sets every field reachable from v to a non-zero value, so that a
// field the binary codec forgets comes back zero and fails the round trip.
func fill(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	if v.Type() == reflect.TypeFor[time.Time]() {
		v.Set(reflect.ValueOf(time.Date(2031, 2, 3, 4, 5, 6, 789, time.UTC)))
		return
	}
	if v.Type() == reflect.TypeFor[json.RawMessage]() {
		v.SetBytes([]byte(`{"k":1}`))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("value of " + path)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(-12345)
	case reflect.Uint64:
		v.SetUint(1<<40 + 5)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(t, v.Index(i), path+"[]")
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), path)
	case reflect.Struct:
		for i := range v.NumField() {
			fill(t, v.Field(i), path+"."+v.Type().Field(i).Name)
		}
	default:
		t.Fatalf("%s: kind %s has no binary encoding; extend the codec and this test", path, v.Kind())
	}
}

// roundTrip fills a T, encodes and decodes it, and compares.
func roundTrip[T any](t *testing.T) {
	var in T
	fill(t, reflect.ValueOf(&in).Elem(), reflect.TypeFor[T]().Name())
	data, err := encode(&in)
	if err != nil {
		t.Fatal(err)
	}
	var out T
	if err := decode(data, &out, "record", keyOf(&in)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
	}
	var zero, back T
	if err := decode(must(encode(&zero)), &back, "record", keyOf(&zero)); err != nil || !reflect.DeepEqual(back, zero) {
		t.Errorf("zero value round trip = %+v, %v", back, err)
	}
}

// keyOf returns what decode is given as the key of a token, a session or
// an event.
func keyOf(v any) []byte {
	switch v := v.(type) {
	case *storage.Token:
		return []byte(v.ID)
	case *storage.Session:
		return []byte(v.ID)
	case *storage.Event:
		return binary.BigEndian.AppendUint64(sessionPrefix(v.SessionID, tagEvent), v.Seq)
	}
	return nil
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestCodecRoundTrip(t *testing.T) {
	t.Run("token", roundTrip[storage.Token])
	t.Run("session", roundTrip[storage.Session])
	t.Run("client", roundTrip[storage.Client])
	t.Run("event", roundTrip[storage.Event])
	t.Run("audit", roundTrip[storage.AuditRecord])
}

func TestCodecRejectsMalformed(t *testing.T) {
	tok := storage.Token{ID: "t1", Scopes: []string{"a"}, ExpiresAt: time.Unix(1e9, 0).UTC()}
	good := encodeTokenV1(&tok)
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"JSON", []byte(`{"id":"t1"}`)},
		{"truncated string", good[:3]},
		{"trailing bytes", append(append([]byte(nil), good...), 0, 0)},
		{"huge length", []byte{codecV1, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"unknown format", append([]byte{3}, good[1:]...)},
		{"unknown kind code", []byte{codecV2, 0, 9}},
		{"overlong varint", []byte{codecV1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}},
		// 13 empty strings and lists, then IssuedAt with 1e9 nanoseconds.
		{"nanoseconds out of range", []byte{codecV1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x94, 0xeb, 0xdc, 0x03}},
	}
	for _, tt := range tests {
		var got storage.Token
		if err := decodeToken("t1", tt.data, &got); err == nil {
			t.Errorf("%s: decoded %+v", tt.name, got)
		}
	}
	// A record written before later fields existed decodes them as zero.
	var prefixOnly storage.Token
	if err := decodeToken("t1", good[:1+1+len("t1")], &prefixOnly); err != nil || prefixOnly.ID != "t1" {
		t.Errorf("record with only the first field = %+v, %v", prefixOnly, err)
	}
}

func FuzzDecode(f *testing.F) {
	tok := storage.Token{ID: "t1", Scopes: []string{"a", "b"}, ExpiresAt: time.Unix(1e9, 5).UTC()}
	sess := storage.Session{ID: "s1", Facts: []storage.Fact{{Code: "x", Points: -3}}}
	cl := storage.Client{ID: "c1", JWKS: json.RawMessage(`{}`), Schedule: &storage.Schedule{Days: "Mon"}}
	f.Add(encodeToken(&tok))
	f.Add(encodeSession(&sess))
	f.Add(encodeTokenV1(&tok))
	f.Add(encodeSessionV1(&sess))
	f.Add(encodeClient(&cl))
	ev := storage.Event{SessionID: "s1", Seq: 7, At: time.Unix(1e9, 0).UTC(), Type: "token", Score: 3,
		Reasons: []storage.Reason{{Code: "x", Points: 2, Evidence: "e"}}}
	f.Add(encodeEvent(&ev))
	f.Add(encodeEventV1(&ev))
	f.Add(encodeAudit(&storage.AuditRecord{Seq: 2, At: ev.At, Type: "issue", Actor: "admin"}))
	f.Add([]byte(`{"type":"token","reasons":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// A token's or a session's key is its ID, which the first form
		// also holds: the two agree in every file.
		fuzzRoundTrip(t, data, func(b []byte, v *storage.Token) error {
			err := decodeToken("t1", b, v)
			v.ID = "t1"
			return err
		}, encodeToken)
		fuzzRoundTrip(t, data, func(b []byte, v *storage.Session) error {
			err := decodeSession("s1", b, v)
			v.ID = "s1"
			return err
		}, encodeSession)
		fuzzRoundTrip(t, data, decodeClient, encodeClient)
		if isJSON(data) {
			// Events and audit records from before their binary forms:
			// read without a panic (JSON keeps what the binary form
			// normalizes, such as an empty list or a time zone).
			_ = decodeEvent("s1", 7, data, new(storage.Event))
			_ = decodeAudit(data, new(storage.AuditRecord))
			return
		}
		// An event's key names its session and sequence number, which the
		// first form also holds: the two agree in every file.
		fuzzRoundTrip(t, data, func(b []byte, v *storage.Event) error {
			err := decodeEvent("s1", 7, b, v)
			v.SessionID, v.Seq = "s1", 7
			return err
		}, encodeEvent)
		fuzzRoundTrip(t, data, decodeAudit, encodeAudit)
	})
}

// fuzzRoundTrip checks that whatever decodes re-encodes to the same value.
func fuzzRoundTrip[T any](t *testing.T, data []byte, dec func([]byte, *T) error, enc func(*T) []byte) {
	var v T
	if dec(data, &v) != nil {
		return
	}
	var again T
	if err := dec(enc(&v), &again); err != nil || !reflect.DeepEqual(again, v) {
		t.Errorf("re-encoded %+v decodes as %+v, %v", v, again, err)
	}
}

// TestLegacyJSONRecords reads events and audit records stored as JSON,
// as files written before their binary forms hold them.
func TestLegacyJSONRecords(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	ev := storage.Event{SessionID: "s", Seq: 3, At: at, Type: "token", Score: 12,
		Reasons: []storage.Reason{{Code: "net.new_network", Points: 5, Evidence: "x"}}}
	rec := storage.AuditRecord{Seq: 9, At: at, Type: "issue", ClientID: "c", SessionID: "s", Outcome: "issued"}
	var gotEv storage.Event
	if err := decode(must(json.Marshal(ev)), &gotEv, "event", nil); err != nil || !reflect.DeepEqual(gotEv, ev) {
		t.Errorf("event from JSON = %+v, %v", gotEv, err)
	}
	var gotRec storage.AuditRecord
	if err := decode(must(json.Marshal(rec)), &gotRec, "audit record", nil); err != nil || !reflect.DeepEqual(gotRec, rec) {
		t.Errorf("audit record from JSON = %+v, %v", gotRec, err)
	}
	for _, bad := range [][]byte{nil, {codecV1, 0xff}, []byte(`{"seq":`)} {
		if err := decode(bad, &gotEv, "event", nil); err == nil {
			t.Errorf("event %q decoded", bad)
		}
	}
}

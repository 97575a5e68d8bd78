package risk

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// filler gives every leaf of a value a distinct non-zero value, reaching
// unexported fields.
type filler struct{ n int }

func (f *filler) fill(v reflect.Value) {
	v = reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
	f.n++
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(f.n%100 + 1))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(f.n%100 + 1))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(f.n) + 0.25)
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", f.n))
	case reflect.Array:
		for i := range v.Len() {
			f.fill(v.Index(i))
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			f.fill(s.Index(i))
		}
		v.Set(s)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[netip.Addr]() {
			v.Set(reflect.ValueOf(netip.AddrFrom4([4]byte{10, 0, byte(f.n), 1})))
			return
		}
		for i := range v.NumField() {
			f.fill(v.Field(i))
		}
	default:
		panic("filler: no rule for " + v.Type().String() + ": teach the codec test how to fill it")
	}
}

// full returns a session whose every field is set, with its invariants
// kept: sets, slots and origins filled up to their counts.
func full() *session {
	s := &session{}
	(&filler{}).fill(reflect.ValueOf(s).Elem())
	for _, set := range []*smallSet{&s.auds, &s.scopes, &s.tenants, &s.tools, &s.trans, &s.nets, &s.ownNets, &s.sensAuds, &s.flows} {
		set.n, set.next = uint8(len(set.k)), 3
	}
	s.norigins = uint8(len(s.origins))
	s.origins[1].first = netip.MustParseAddr("2001:db8::7")
	s.origins[2].last = netip.MustParseAddr("fe80::1%eth0")
	s.facts[1].points = -7
	return s
}

// diff lists the paths where a and b differ.
func diff(path string, a, b reflect.Value, out *[]string) {
	if a.Type() == reflect.TypeFor[netip.Addr]() {
		a, b = reflect.NewAt(a.Type(), unsafe.Pointer(a.UnsafeAddr())).Elem(), reflect.NewAt(b.Type(), unsafe.Pointer(b.UnsafeAddr())).Elem()
		if a.Interface() != b.Interface() {
			*out = append(*out, path)
		}
		return
	}
	switch a.Kind() {
	case reflect.Struct:
		for i := range a.NumField() {
			diff(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i), out)
		}
	case reflect.Array, reflect.Slice:
		if a.Len() != b.Len() {
			*out = append(*out, path+" (length)")
			return
		}
		for i := range a.Len() {
			diff(fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i), out)
		}
	default:
		a, b = reflect.NewAt(a.Type(), unsafe.Pointer(a.UnsafeAddr())).Elem(), reflect.NewAt(b.Type(), unsafe.Pointer(b.UnsafeAddr())).Elem()
		if a.Interface() != b.Interface() {
			*out = append(*out, path)
		}
	}
}

// TestCodecCarriesEveryField fails when a field of session is not carried
// by its encoding: a field added to session needs a line in session.codec.
func TestCodecCarriesEveryField(t *testing.T) {
	in := full()
	var back session
	if err := back.decode(in.encode(nil), "", ""); err != nil {
		t.Fatal(err)
	}
	var out []string
	diff("session", reflect.ValueOf(in).Elem(), reflect.ValueOf(&back).Elem(), &out)
	if len(out) > 0 {
		t.Errorf("not carried by session.codec: %s", strings.Join(out, ", "))
	}
}

// TestCodecEmptyAndHints round-trips a new session and checks that a
// decoded id and client equal to the hints share them.
func TestCodecEmptyAndHints(t *testing.T) {
	in := session{id: "ses_1", clientID: "agent"}
	var back session
	if err := back.decode(in.encode(nil), "ses_1", "agent"); err != nil || !reflect.DeepEqual(in, back) {
		t.Fatalf("round trip: %v, %+v", err, back)
	}
	if unsafe.StringData(back.id) != unsafe.StringData("ses_1") {
		t.Error("the id was copied, not shared with the hint")
	}
}

// TestCodecRejectsCorrupt checks that truncated or padded encodings are
// reported, never read past their end.
func TestCodecRejectsCorrupt(t *testing.T) {
	b := full().encode(nil)
	for _, bad := range [][]byte{b[:len(b)-1], b[:len(b)/2], b[:1], append(b[:len(b):len(b)], 0)} {
		var s session
		if err := s.decode(bad, "", ""); err == nil {
			t.Errorf("decoding %d of %d bytes: no error", len(bad), len(b))
		}
	}
}

// FuzzCodec checks that decoding arbitrary bytes never panics and that
// whatever decodes re-encodes to the same bytes.
func FuzzCodec(f *testing.F) {
	f.Add(full().encode(nil))
	f.Add((&session{id: "x"}).encode(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s session
		if s.decode(b, "", "") != nil {
			return
		}
		var again session
		if err := again.decode(s.encode(nil), "", ""); err != nil {
			t.Fatalf("re-encoding failed to decode: %v", err)
		}
	})
}

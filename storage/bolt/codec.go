package bolt

import (
	"encoding/binary"
	"errors"
	"time"
)

// Records read on the hot path (tokens, sessions and clients: every
// introspection reads all three) are stored in a compact binary form that
// decodes several times faster than JSON. Other records are JSON.
//
// The form is a format byte (codecV1) followed by the record's fields in a
// fixed order: strings and byte slices as a uvarint length and the bytes,
// integers as varints, booleans as one byte, times as varint seconds since
// the zero time.Time and uvarint nanoseconds (decoded in UTC), slices as a uvarint count and
// their elements. Fields missing from the end decode as zero values, so new
// fields can be appended without rewriting existing files.
const codecV1 = 1

// codecV2 is the tighter form of tokens and sessions (records_codec.go).
const codecV2 = 2

var errCorrupt = errors.New("malformed record")

// encoder appends fields to b.
type encoder struct{ b []byte }

func newEncoder() *encoder { return &encoder{b: append(make([]byte, 0, 256), codecV1)} }

func newEncoderV2() *encoder { return &encoder{b: append(make([]byte, 0, 192), codecV2)} }

func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) int(v int64)      { e.b = binary.AppendVarint(e.b, v) }

func (e *encoder) str(s string) {
	e.uvarint(uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) bytes(b []byte) {
	e.uvarint(uint64(len(b)))
	e.b = append(e.b, b...)
}

func (e *encoder) strs(ss []string) {
	e.uvarint(uint64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

// zeroUnix is the Unix time of the zero time.Time. Times are stored as
// seconds since then, so the zero time (common: unset optional times) is
// one byte and a missing time decodes as the zero time.
var zeroUnix = time.Time{}.Unix()

func (e *encoder) time(t time.Time) {
	e.int(t.Unix() - zeroUnix)
	e.uvarint(uint64(t.Nanosecond()))
}

// decoder reads fields from s, a single copy of the stored bytes: decoded
// strings are substrings of it, so a record costs one allocation for all of
// its strings. The first error sticks; later reads return zero values.
type decoder struct {
	s   string
	i   int
	err error
	// format is the record's format byte.
	format byte
	// arena backs the string lists of one record, so that a record's
	// lists usually cost one allocation between them.
	arena []string
}

// newDecoder copies data (valid only inside the transaction) and checks
// the format byte: codecV1, or codecV2 where the record has that form.
func newDecoder(data []byte) decoder {
	d := decoder{s: string(data), i: 1}
	if len(data) == 0 || (data[0] != codecV1 && data[0] != codecV2) {
		d.err = errCorrupt
	} else {
		d.format = data[0]
	}
	return d
}

// only fails the decoding unless the record is in format f.
func (d *decoder) only(f byte) {
	if d.err == nil && d.format != f {
		d.fail()
	}
}

// more reports whether another field is present. A field missing at the end
// decodes as its zero value.
func (d *decoder) more() bool { return d.err == nil && d.i < len(d.s) }

func (d *decoder) fail() { d.err = errCorrupt }

func (d *decoder) uvarint() uint64 {
	if !d.more() {
		return 0
	}
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if d.i >= len(d.s) {
			break
		}
		c := d.s[d.i]
		d.i++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	d.fail()
	return 0
}

func (d *decoder) int() int64 {
	u := d.uvarint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

// length reads a count of items each at least one byte long.
func (d *decoder) length() int {
	n := d.uvarint()
	if n > uint64(len(d.s)-d.i) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *decoder) str() string {
	n := d.length()
	if d.err != nil {
		return ""
	}
	s := d.s[d.i : d.i+n]
	d.i += n
	return s
}

// bytes returns a fresh copy; nil when empty.
func (d *decoder) bytes() []byte {
	if s := d.str(); s != "" {
		return []byte(s)
	}
	return nil
}

// strs returns nil when empty. Lists share d.arena but are capped at their
// length, so appending to one never writes into another.
func (d *decoder) strs() []string {
	n := d.length()
	if n == 0 {
		return nil
	}
	if cap(d.arena)-len(d.arena) < n {
		d.arena = make([]string, 0, max(n, 8))
	}
	start := len(d.arena)
	for range n {
		d.arena = append(d.arena, d.str())
	}
	return d.arena[start:len(d.arena):len(d.arena)]
}

func (d *decoder) bool() bool {
	if !d.more() {
		return false
	}
	c := d.s[d.i]
	d.i++
	if c > 1 {
		d.fail()
	}
	return c == 1
}

func (d *decoder) time() time.Time {
	sec, nsec := d.int(), d.uvarint()
	if nsec >= 1e9 {
		d.fail()
		return time.Time{}
	}
	return time.Unix(sec+zeroUnix, int64(nsec)).UTC()
}

// done returns the decoding error, or one for bytes left over.
func (d *decoder) done() error {
	if d.err == nil && d.i != len(d.s) {
		d.err = errCorrupt
	}
	return d.err
}

package risk

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"net/netip"
	"unsafe"
)

// A session's state is kept encoded between events (slab.go): varints,
// floats with their bytes reversed so round values are short, times as
// offsets from the session's opening, hash sets and per-slot arrays only as
// far as they are filled. codec lists every field once and serves both
// directions, so a field cannot be written and not read back. Every field
// of session must be carried here: TestCodecCarriesEveryField fails
// otherwise.

// coder writes a session into buf, or reads one from it.
type coder struct {
	buf  []byte
	off  int
	read bool
	err  error
	base int64 // the session's opening, for times
	// arena holds the bytes of the strings read, one allocation for all:
	// each string gets bytes written once and never again.
	arena []byte
}

var errCorrupt = errors.New("risk: corrupt session encoding")

func (c *coder) uvarint(v *uint64) {
	if !c.read {
		c.buf = binary.AppendUvarint(c.buf, *v)
		return
	}
	x, n := binary.Uvarint(c.buf[c.off:])
	if n <= 0 {
		c.fail()
		return
	}
	*v, c.off = x, c.off+n
}

func (c *coder) fail() {
	if c.err == nil {
		c.err = errCorrupt
	}
	c.off = len(c.buf)
}

func (c *coder) u16(v *uint16) { x := uint64(*v); c.uvarint(&x); *v = uint16(x) }

func (c *coder) u8(v *uint8) {
	if !c.read {
		c.buf = append(c.buf, *v)
		return
	}
	if c.off >= len(c.buf) {
		c.fail()
		return
	}
	*v, c.off = c.buf[c.off], c.off+1
}

func (c *coder) i16(v *int16) {
	x := uint64(uint16(*v))
	c.uvarint(&x)
	*v = int16(uint16(x))
}

// i64 is a signed varint (zigzag).
func (c *coder) i64(v *int64) {
	x := uint64(*v<<1) ^ uint64(*v>>63)
	c.uvarint(&x)
	*v = int64(x>>1) ^ -int64(x&1)
}

// time is a unix-ns instant: 0 stays 0, others are offsets from base.
func (c *coder) time(v *int64) {
	var x uint64
	if *v != 0 {
		d := *v - c.base
		x = (uint64(d<<1) ^ uint64(d>>63)) + 1
	}
	c.uvarint(&x)
	if c.read {
		*v = 0
		if x != 0 {
			x--
			*v = c.base + (int64(x>>1) ^ -int64(x&1))
		}
	}
}

func (c *coder) f32(v *float32) {
	x := uint64(bits.ReverseBytes32(math.Float32bits(*v)))
	c.uvarint(&x)
	*v = math.Float32frombits(bits.ReverseBytes32(uint32(x)))
}

func (c *coder) boolean(v *bool) {
	x := uint8(0)
	if *v {
		x = 1
	}
	c.u8(&x)
	*v = x == 1
}

// str reads or writes a string; when reading, a value equal to hint is
// hint itself (no copy).
func (c *coder) str(v *string, hint string) {
	n := uint64(len(*v))
	c.uvarint(&n)
	if !c.read {
		c.buf = append(c.buf, *v...)
		return
	}
	if n > uint64(len(c.buf)-c.off) {
		c.fail()
		return
	}
	b := c.buf[c.off : c.off+int(n)]
	c.off += int(n)
	switch {
	case string(b) == hint:
		*v = hint
	case n == 0:
		*v = ""
	default:
		if len(c.arena)+int(n) > cap(c.arena) {
			c.arena = make([]byte, 0, max(int(n), min(len(c.buf)-c.off+int(n), 128)))
		}
		i := len(c.arena)
		c.arena = append(c.arena, b...)
		*v = unsafe.String(&c.arena[i], int(n))
	}
}

func (c *coder) key(v *uint64) {
	if !c.read {
		c.buf = binary.LittleEndian.AppendUint64(c.buf, *v)
		return
	}
	if c.off+8 > len(c.buf) {
		c.fail()
		return
	}
	*v, c.off = binary.LittleEndian.Uint64(c.buf[c.off:]), c.off+8
}

func (c *coder) set(s *smallSet) {
	x := s.n | s.next<<4
	c.u8(&x)
	s.n, s.next = x&15, x>>4
	if int(s.n) > len(s.k) || int(s.next) >= len(s.k) {
		s.n, s.next = 0, 0
		c.fail()
		return
	}
	for i := range s.n {
		c.key(&s.k[i])
	}
}

// addr carries an address: invalid, 4 bytes, or 16 and a zone.
func (c *coder) addr(a *netip.Addr) {
	kind := uint8(0)
	switch {
	case a.Is4():
		kind = 4
	case a.IsValid():
		kind = 16
	}
	c.u8(&kind)
	switch kind {
	case 4:
		var b [4]byte
		if !c.read {
			b = a.As4()
		}
		c.bytes(b[:])
		*a = netip.AddrFrom4(b)
	case 16:
		var b [16]byte
		z := a.Zone()
		if !c.read {
			b = a.As16()
		}
		c.bytes(b[:])
		c.str(&z, "")
		*a = netip.AddrFrom16(b).WithZone(z)
	case 0:
		*a = netip.Addr{}
	default:
		c.fail()
	}
}

func (c *coder) bytes(b []byte) {
	if !c.read {
		c.buf = append(c.buf, b...)
		return
	}
	if c.off+len(b) > len(c.buf) {
		c.fail()
		return
	}
	c.off += copy(b, c.buf[c.off:])
}

// codec carries every field of s. id and clientID come first; lookups
// read the id alone (idOf).
func (s *session) codec(c *coder, hintID, hintClient string) {
	c.str(&s.id, hintID)
	c.str(&s.clientID, hintClient)
	c.i64(&s.opened)
	c.base = s.opened
	c.time(&s.last)
	c.accums(&s.acc)
	c.facts(&s.facts)
	c.u8(&s.norigins)
	if int(s.norigins) > len(s.origins) {
		s.norigins = 0
		c.fail()
		return
	}
	for i := range s.norigins {
		c.origin(&s.origins[i], s.clientID)
	}
	for _, set := range [...]*smallSet{&s.auds, &s.scopes, &s.tenants, &s.tools, &s.trans, &s.nets, &s.ownNets, &s.sensAuds, &s.flows} {
		c.set(set)
	}
	for i := range s.tools.n {
		c.u16(&s.toolN[i])
	}
	c.key(&s.prevState)
	c.str(&s.prevTool, "")
	c.u16(&s.distinctTenants)
	c.u16(&s.distinctAuds)
	c.u8(&s.tactics)
	c.u8(&s.routineNewTactics)
	c.u8(&s.verbs)
	for _, f := range [...]*float32{&s.rate, &s.peakRate, &s.maxImpact, &s.novelty, &s.accum, &s.prior, &s.peakDB,
		&s.verifiedDB, &s.verifiedImpact, &s.pendingImpact, &s.carry, &s.inheritedPts, &s.volRatio} {
		c.f32(f)
	}
	c.u16(&s.calls)
	c.time(&s.carryAt)
	c.time(&s.peakAt)
	for _, b := range [...]*uint8{&s.inherited, &s.challenges, &s.failed, &s.maxTier, &s.maxDepth, &s.peak, &s.hour} {
		c.u8(b)
	}
	c.flags(&s.pending, &s.verified, &s.terminated, &s.ended, &s.sensitive, &s.judgedOpen, &s.risky, &s.sensEgress, &s.sensRead, &s.unseen, &s.turn)
}

// flags packs booleans in a varint: one byte while none past the
// seventh is set.
func (c *coder) flags(f ...*bool) {
	var x uint64
	for i, b := range f {
		if *b {
			x |= 1 << i
		}
	}
	c.uvarint(&x)
	if x>>len(f) != 0 {
		c.fail()
		return
	}
	for i, b := range f {
		*b = x&(1<<i) != 0
	}
}

// accums carries the detectors' standing evidence: a mask of the
// detectors that hold any, then theirs.
func (c *coder) accums(acc *[numDetectors]accum) {
	var mask uint64
	for i := range acc {
		if acc[i] != (accum{}) {
			mask |= 1 << i
		}
	}
	c.uvarint(&mask)
	for i := range acc {
		if mask&(1<<i) == 0 {
			acc[i] = accum{}
			continue
		}
		c.f32(&acc[i].pts)
		c.str(&acc[i].ev, "")
	}
}

func (c *coder) facts(fs *[]fact) {
	n := uint64(len(*fs))
	c.uvarint(&n)
	if c.read {
		if n > uint64(len(c.buf)-c.off) { // every fact takes bytes
			c.fail()
			return
		}
		if uint64(cap(*fs)) >= n {
			*fs = (*fs)[:n]
		} else {
			*fs = make([]fact, n)
		}
	}
	for i := range *fs {
		f := &(*fs)[i]
		c.str(&f.code, "")
		c.str(&f.evidence, "")
		c.i16(&f.points)
		c.u8(&f.count)
		c.boolean(&f.hard)
	}
}

func (c *coder) origin(o *origin, hintName string) {
	c.str(&o.name, hintName)
	c.key(&o.who)
	c.addr(&o.first)
	c.addr(&o.last)
	c.time(&o.lastAt)
	c.u8(&o.tier)
}

// encode appends s's encoding to buf.
func (s *session) encode(buf []byte) []byte {
	c := coder{buf: buf}
	s.codec(&c, "", "")
	return c.buf
}

// decode replaces s with the session encoded in b. Strings equal to
// hintID and hintClient are shared, not copied.
func (s *session) decode(b []byte, hintID, hintClient string) error {
	*s = session{facts: s.facts[:0]}
	c := coder{buf: b, read: true}
	s.codec(&c, hintID, hintClient)
	if c.err == nil && c.off != len(b) {
		c.err = errCorrupt
	}
	return c.err
}

// idOf returns the session id at the start of an encoding, without
// copying it.
func idOf(b []byte) []byte {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil
	}
	return b[k : k+int(n)]
}

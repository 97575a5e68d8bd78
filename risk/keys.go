package risk

import (
	"net/netip"
	"slices"
	"time"
)

// Baselines and session sets store 64-bit FNV-1a hashes of strings, not the
// strings: the state stays small and fixed-size, and a collision between two
// names is vanishingly unlikely at the sizes involved.

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// hashString is FNV-1a 64 of s, salted by a one-byte namespace so the same
// name used as an audience and as a tool gives different keys.
func hashString(ns byte, s string) uint64 {
	h := uint64(fnvOffset)
	h ^= uint64(ns)
	h *= fnvPrime
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	if h == 0 {
		h = 1 // 0 marks an empty slot
	}
	return h
}

// Namespaces for hashString.
const (
	nsAudience byte = iota + 1
	nsScope
	nsTenant
	nsTool
	nsActor
	nsClient
)

// pairKey combines two state keys into a transition key.
func pairKey(from, to uint64) uint64 {
	h := from*fnvPrime ^ (to + 0x9e3779b97f4a7c15)
	h ^= h >> 29
	if h == 0 {
		h = 1
	}
	return h
}

// netKey returns the key of addr's network at the given IPv4 prefix length
// (IPv6 uses length+24: /24 becomes /48, /16 becomes /40). An invalid
// address has key 0.
func netKey(addr netip.Addr, v4bits int) uint64 {
	if !addr.IsValid() {
		return 0
	}
	addr = addr.Unmap()
	if addr.Is4() {
		b := addr.As4()
		v := uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
		return (v>>(32-v4bits))<<8 | uint64(v4bits) | 1<<62
	}
	b := addr.As16()
	bits := v4bits + 24
	var v uint64
	for i := 0; i < 8; i++ {
		v = v<<8 | uint64(b[i])
	}
	return (v>>(64-bits))<<8 | uint64(bits) | 2<<62
}

// keyAddr is the first address of the network with key k (netKey's
// inverse, up to the prefix), or the zero Addr for key 0.
func keyAddr(k uint64) netip.Addr {
	bits := int(k & 0xff)
	v := (k &^ (3 << 62)) >> 8
	switch k >> 62 {
	case 1:
		if bits > 32 {
			return netip.Addr{}
		}
		a := uint32(v << (32 - bits))
		return netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
	case 2:
		if bits > 64 {
			return netip.Addr{}
		}
		v <<= 64 - bits
		var b [16]byte
		for i := range 8 {
			b[i] = byte(v >> (56 - 8*i))
		}
		return netip.AddrFrom16(b)
	}
	return netip.Addr{}
}

// inNetworks reports whether addr lies in one of nets.
func inNetworks(addr netip.Addr, nets []netip.Prefix) bool {
	addr = addr.Unmap()
	for _, n := range nets {
		if n.Contains(addr) {
			return true
		}
	}
	return false
}

// hourOfWeek is the UTC hour-of-week bucket of t, 0 = Sunday 00:00.
func hourOfWeek(t time.Time) int {
	t = t.UTC()
	return int(t.Weekday())*24 + t.Hour()
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }

// clampTier maps a declared sensitivity to a tier 1..4.
func clampTier(s int) int { return min(max(s, 1), 4) }

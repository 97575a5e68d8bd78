package risk

import (
	"sync"
	"sync/atomic"
)

// The engine keeps a million live sessions in a few hundred bytes each and
// out of the garbage collector's sight: nothing below holds a pointer per
// session. A session is a fixed head (its lock and last-seen time) in a
// chunk of heads, and its state, encoded (codec.go), in a slot of a byte
// slab of the smallest size class that holds it. Each shard indexes its
// heads by the 64-bit hash of the session id (map[uint64]uint32: no pointer
// in the map either); the id itself is the first field of the encoded state
// and is compared on every lookup, and the rare id whose hash is taken lives
// in a small overflow map. Chunks never move, so a head's address is stable;
// a freed head's generation changes, so a holder that raced with the free
// notices and looks again.

// ref addresses a slot: chunk<<16 | index in the chunk.
type ref uint32

func mkref(chunk, i int) ref    { return ref(chunk<<16 | i) }
func (r ref) split() (int, int) { return int(r >> 16), int(r & 0xffff) }

// head is the fixed part of one live session.
type head struct {
	mu       sync.Mutex
	lastSeen atomic.Int64 // unix ns of the last event, readable without mu
	gen      uint32       // changes when the head is freed
	blob     ref          // the encoded state's slot in class cls
	n        uint32       // encoded length
	cls      uint8        // size class + 1; 0: no state yet
	lvl      uint8        // the level it is counted under in Engine.live (live.go)
	used     bool
}

// headsPerChunk is the most heads in one chunk (chunks start small and
// double up to it, so an engine with few sessions stays small, and one
// with many wastes at most a chunk per shard).
const headsPerChunk = 256

// heads is a shard's head slab. Its methods need the shard's lock.
type heads struct {
	chunks [][]head
	free   []ref
}

func (h *heads) at(r ref) *head {
	c, i := r.split()
	return &h.chunks[c][i]
}

func (h *heads) alloc() (ref, *head) {
	if n := len(h.free); n > 0 {
		r := h.free[n-1]
		h.free = h.free[:n-1]
		return r, h.at(r)
	}
	if len(h.chunks) == 0 || len(h.chunks[len(h.chunks)-1]) == cap(h.chunks[len(h.chunks)-1]) {
		size := 8
		if n := len(h.chunks); n > 0 {
			size = min(2*cap(h.chunks[n-1]), headsPerChunk)
		}
		h.chunks = append(h.chunks, make([]head, 0, size))
	}
	c := len(h.chunks) - 1
	h.chunks[c] = h.chunks[c][:len(h.chunks[c])+1]
	r := mkref(c, len(h.chunks[c])-1)
	return r, h.at(r)
}

func (h *heads) release(r ref) {
	hd := h.at(r)
	hd.gen++
	hd.used, hd.cls, hd.n, hd.blob = false, 0, 0, 0
	h.free = append(h.free, r)
}

// Size classes of the byte slabs: 32 bytes, then steps of about an eighth,
// so a slot wastes at most an eighth of itself.
var classSizes = func() []int {
	var out []int
	for s := 32; s <= 1<<20; s += max(16, s/8&^15) {
		out = append(out, s)
	}
	return out
}()

// classOf returns the smallest class holding n bytes, or -1.
func classOf(n int) int {
	lo, hi := 0, len(classSizes)
	for lo < hi {
		m := (lo + hi) / 2
		if classSizes[m] < n {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(classSizes) {
		return -1
	}
	return lo
}

// slabChunkBytes is the most bytes in one chunk of a byte slab.
const slabChunkBytes = 16 << 10

// byteSlab holds slots of one size class. Its methods need the shard's
// lock; a slot's bytes belong to the session that holds it.
type byteSlab struct {
	size   int
	chunks [][]byte
	used   []int // slots handed out of each chunk
	free   []ref
}

func (b *byteSlab) at(r ref) []byte {
	c, i := r.split()
	return b.chunks[c][i*b.size : (i+1)*b.size]
}

func (b *byteSlab) alloc() ref {
	if n := len(b.free); n > 0 {
		r := b.free[n-1]
		b.free = b.free[:n-1]
		return r
	}
	last := len(b.chunks) - 1
	if last < 0 || b.used[last]*b.size == len(b.chunks[last]) {
		slots := 4
		if last >= 0 {
			slots = 2 * len(b.chunks[last]) / b.size
		}
		slots = max(1, min(slots, slabChunkBytes/b.size, 1<<16))
		b.chunks = append(b.chunks, make([]byte, slots*b.size))
		b.used = append(b.used, 0)
		last++
	}
	b.used[last]++
	return mkref(last, b.used[last]-1)
}

func (b *byteSlab) release(r ref) { b.free = append(b.free, r) }

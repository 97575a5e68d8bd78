package risk

import (
	"sync"
)

// sessionShard holds the live sessions whose id hashes to it (slab.go). Its
// lock guards the index and the slabs; a session's own state is guarded by
// its head's lock. Lock order: a head, then its shard.
type sessionShard struct {
	mu    sync.Mutex
	index map[uint64]ref // id hash -> head
	over  map[string]ref // ids whose hash another live session has
	heads heads
	slabs []byteSlab     // by size class
	big   map[ref][]byte // encodings beyond the largest class, by head
	count int            // live sessions
}

func (sh *sessionShard) init() {
	sh.index = make(map[uint64]ref)
	sh.over = make(map[string]ref)
	sh.slabs = make([]byteSlab, len(classSizes))
	for i := range sh.slabs {
		sh.slabs[i].size = classSizes[i]
	}
	sh.big = make(map[ref][]byte)
}

// held is a session checked out of its shard: its head locked and its
// state decoded into s. Release it exactly once.
type held struct {
	sh  *sessionShard
	h   *head // nil: an unsessioned event's state, kept nowhere
	r   ref
	key uint64
	s   session
	buf []byte
	// fresh is set when hold created the session.
	fresh bool
}

var heldPool = sync.Pool{New: func() any { return new(held) }}

// encoded returns h's encoding. It needs the shard's lock.
func (sh *sessionShard) encoded(r ref, h *head) []byte {
	switch {
	case h.cls == 0:
		return nil
	case h.cls == 255:
		return sh.big[r]
	}
	return sh.slabs[h.cls-1].at(h.blob)[:h.n]
}

// store replaces h's encoding with b. It needs the shard's lock.
func (sh *sessionShard) store(r ref, h *head, b []byte) {
	cls := classOf(len(b))
	if cls < 0 {
		sh.freeBlob(r, h)
		sh.big[r] = append([]byte(nil), b...)
		h.cls, h.n = 255, uint32(len(b))
		return
	}
	if int(h.cls) != cls+1 {
		sh.freeBlob(r, h)
		h.blob, h.cls = sh.slabs[cls].alloc(), uint8(cls+1)
	}
	copy(sh.slabs[cls].at(h.blob), b)
	h.n = uint32(len(b))
}

func (sh *sessionShard) freeBlob(r ref, h *head) {
	switch {
	case h.cls == 255:
		delete(sh.big, r)
	case h.cls > 0:
		sh.slabs[h.cls-1].release(h.blob)
	}
	h.cls, h.n = 0, 0
}

// find returns the head of session sid (hash key). It needs the lock.
func (sh *sessionShard) find(key uint64, sid string) (ref, bool) {
	if r, ok := sh.index[key]; ok && string(idOf(sh.encoded(r, sh.heads.at(r)))) == sid {
		return r, true
	}
	if len(sh.over) == 0 {
		return 0, false
	}
	r, ok := sh.over[sid]
	return r, ok
}

// insert adds session sid of clientID, new. It needs the lock.
func (sh *sessionShard) insert(key uint64, sid, clientID string) ref {
	r, h := sh.heads.alloc()
	h.used = true
	h.lastSeen.Store(0)
	s := session{id: sid, clientID: clientID}
	sh.store(r, h, s.encode(nil))
	if _, taken := sh.index[key]; taken {
		sh.over[sid] = r
	} else {
		sh.index[key] = r
	}
	sh.count++
	return r
}

// hold checks session sid out, creating it for clientID when create is
// set; it returns nil when the session is unknown and create is not set.
// An empty sid gives a state kept nowhere (an unsessioned event).
func (e *Engine) hold(sid, clientID string, create bool) *held {
	hd := heldPool.Get().(*held)
	if sid == "" {
		hd.sh, hd.h = nil, nil
		hd.s = session{clientID: clientID, facts: hd.s.facts[:0]}
		return hd
	}
	sh := &e.sessions[shardOf(sid)]
	key := hashString(0, sid)
	for {
		sh.mu.Lock()
		r, ok := sh.find(key, sid)
		if !ok && !create {
			sh.mu.Unlock()
			heldPool.Put(hd)
			return nil
		}
		if !ok {
			r = sh.insert(key, sid, clientID)
		}
		hd.fresh = !ok
		h := sh.heads.at(r)
		gen := h.gen
		sh.mu.Unlock()
		if hd.checkout(sh, r, h, gen, sid, clientID) {
			hd.key = key
			return hd
		}
	}
}

// checkout locks h, and decodes its state if it is still generation gen.
func (hd *held) checkout(sh *sessionShard, r ref, h *head, gen uint32, sid, clientID string) bool {
	h.mu.Lock()
	if h.gen != gen || !h.used {
		h.mu.Unlock()
		return false
	}
	sh.mu.Lock()
	b := sh.encoded(r, h)
	sh.mu.Unlock()
	if err := hd.s.decode(b, sid, clientID); err != nil {
		// our own encoding: unreadable means memory corruption
		panic(err)
	}
	hd.sh, hd.h, hd.r = sh, h, r
	return true
}

// release checks hd back in, saving its state when save is set.
func (e *Engine) release(hd *held, save bool) {
	if hd.h != nil {
		if save {
			hd.buf = hd.s.encode(hd.buf[:0])
			hd.sh.mu.Lock()
			hd.sh.store(hd.r, hd.h, hd.buf)
			hd.sh.mu.Unlock()
			hd.h.lastSeen.Store(hd.s.last)
		}
		hd.h.mu.Unlock()
	}
	hd.put()
}

func (hd *held) put() {
	clear(hd.s.facts)
	hd.s = session{facts: hd.s.facts[:0]}
	hd.sh, hd.h, hd.fresh = nil, nil, false
	if cap(hd.buf) > 4<<10 {
		hd.buf = nil
	}
	heldPool.Put(hd)
}

// free removes hd's session from its shard and releases hd.
func (e *Engine) free(hd *held) {
	if hd.h != nil {
		e.live.count(hd.h, 0)
		sh := hd.sh
		sh.mu.Lock()
		if r, ok := sh.index[hd.key]; ok && r == hd.r {
			delete(sh.index, hd.key)
		} else {
			delete(sh.over, hd.s.id)
		}
		sh.freeBlob(hd.r, hd.h)
		sh.heads.release(hd.r)
		sh.count--
		sh.mu.Unlock()
		hd.h.mu.Unlock()
	}
	hd.put()
}

// lastSeen returns when session sid last had an event, and whether the
// engine holds it.
func (e *Engine) lastSeen(sid string) (int64, bool) {
	sh := &e.sessions[shardOf(sid)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r, ok := sh.find(hashString(0, sid), sid)
	if !ok {
		return 0, false
	}
	return sh.heads.at(r).lastSeen.Load(), true
}

// idleRef names a head seen idle, to check out later.
type idleRef struct {
	r   ref
	gen uint32
}

// idle lists the heads of sh idle since before limit.
func (sh *sessionShard) idle(limit int64) []idleRef {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var out []idleRef
	for c, chunk := range sh.heads.chunks {
		for i := range chunk {
			if h := &chunk[i]; h.used && h.lastSeen.Load() < limit {
				out = append(out, idleRef{mkref(c, i), h.gen})
			}
		}
	}
	return out
}

// holdRef checks out the session at r if it is still generation gen.
func (e *Engine) holdRef(sh *sessionShard, ir idleRef) *held {
	sh.mu.Lock()
	h := sh.heads.at(ir.r)
	sh.mu.Unlock()
	hd := heldPool.Get().(*held)
	if !hd.checkout(sh, ir.r, h, ir.gen, "", "") {
		heldPool.Put(hd)
		return nil
	}
	hd.key = hashString(0, hd.s.id)
	return hd
}

// Live returns how many sessions the engine holds.
func (e *Engine) Live() int {
	n := 0
	for i := range e.sessions {
		sh := &e.sessions[i]
		sh.mu.Lock()
		n += sh.count
		sh.mu.Unlock()
	}
	return n
}

package risk

import (
	"math"
	"net/netip"
)

// smallSet is a fixed-size set of hash keys. When full, a new key replaces
// the oldest, so a session touching more distinct values than it holds
// still counts each one (in distinct) and never grows.
type smallSet struct {
	k    [8]uint64
	n    uint8 // slots used
	next uint8 // slot to overwrite when full
}

func (s *smallSet) has(k uint64) bool {
	for i := 0; i < int(s.n); i++ {
		if s.k[i] == k {
			return true
		}
	}
	return false
}

// add inserts k and reports whether it was absent.
func (s *smallSet) add(k uint64) bool {
	if k == 0 || s.has(k) {
		return false
	}
	if int(s.n) < len(s.k) {
		s.k[s.n] = k
		s.n++
		return true
	}
	s.k[s.next] = k
	s.next = (s.next + 1) % uint8(len(s.k))
	return true
}

func (s *smallSet) keys() []uint64 { return s.k[:s.n] }

// slot returns the index of k, or -1.
func (s *smallSet) slot(k uint64) int {
	for i := 0; i < int(s.n); i++ {
		if s.k[i] == k {
			return i
		}
	}
	return -1
}

// put inserts k, which must be absent, and returns its slot.
func (s *smallSet) put(k uint64) int {
	if int(s.n) < len(s.k) {
		s.k[s.n] = k
		s.n++
		return int(s.n) - 1
	}
	i := int(s.next)
	s.k[i] = k
	s.next = (s.next + 1) % uint8(len(s.k))
	return i
}

// accum is one detector's standing contribution in a session.
type accum struct {
	pts float32
	ev  string
}

// fact is a sticky finding.
type fact struct {
	code     string
	evidence string
	points   int16
	count    uint8
	hard     bool
}

// origin is where one principal (the session's client or an actor) called
// from in this session.
type origin struct {
	name        string // client id of the principal
	who         uint64
	first, last netip.Addr
	lastAt      int64
	tier        uint8 // the highest tier of the calls it was allowed in this session
}

// session is the engine's working state for one session while an event is
// judged; between events it is kept encoded (codec.go, slab.go). Every field
// must be carried by session.codec.
type session struct {
	id       string
	clientID string

	opened, last int64 // unix nanoseconds
	acc          [numDetectors]accum
	facts        []fact
	origins      [3]origin
	norigins     uint8

	auds, scopes, tenants, tools  smallSet
	toolN                         [8]uint16 // calls of each tool in tools' slots
	trans                         smallSet
	nets                          smallSet // /24 networks seen, salted per principal
	ownNets                       smallSet // the client's own /24 networks, for learning
	prevState                     uint64
	prevTool                      string
	distinctTenants, distinctAuds uint16
	tactics                       uint8 // bit set of tactic classes touched
	routineNewTactics             uint8 // the classes touched only through routine-tier audiences the client never used

	rate, peakRate float32 // decayed count of client calls in the last minute
	calls          uint16  // calls the client made in this session
	maxImpact      float32 // the highest impact of a call the session was allowed
	novelty        float32 // decibels of novelty evidence this session showed
	accum          float32 // decibels the client's recent sessions accumulated beyond normal, at open
	prior          float32 // decibels: the session's prior, fixed at open
	peakDB         float32 // decibels above the prior at the session's peak
	verifiedDB     float32 // suspicion (decibels) a passed challenge covered
	verifiedImpact float32
	pendingImpact  float32
	carry          float32 // floor (decibels above the prior) carried from the client's recent sessions
	carryAt        int64
	peakAt         int64   // when the session's suspicion reached its peak
	inheritedPts   float32 // challenge-history decibels inherited at open
	inherited      uint8   // unanswered/failed challenges inherited from the client
	challenges     uint8
	failed         uint8
	pending        bool
	// unseen: the pending challenge was opened by a resource server's
	// introspection and the client has not been asked yet
	unseen     bool
	verified   bool
	maxTier    uint8
	maxDepth   uint8
	peak       uint8
	hour       uint8 // hour-of-week the session opened
	turn       bool  // the session opened at the turn of a month (monthTurn)
	terminated bool
	ended      bool
	sensitive  bool
	judgedOpen bool
	risky      bool // the session's peak reached the low threshold or met friction
	sensEgress bool // sent data out after reading sensitive data
	// sensRead: a sensitive call that does not itself send data out was
	// allowed. An egress channel declared at a sensitive tier sets
	// sensitive but not sensRead, so sending through it twice is not
	// learned as "sends after sensitive reads".
	sensRead bool
	// sensAuds are the sensitive audiences the session read (sensRead's
	// calls), flows the pairs of one of them and a channel the session
	// then sent data out through (pairKey(source, channel)).
	sensAuds, flows smallSet
	// verbs are the verb classes (verbsOf bits) of the session's calls
	// on data above routine.
	verbs    uint8
	volRatio float32 // the largest multiple reached of the most calls the client's sessions make of a tool that deletes, exports, spends or administers
}

// decay fades behaviour points to time at (unix ns) with half-life hl (ns).
func (s *session) decay(at int64, hl float64) {
	dt := at - s.last
	if s.last == 0 || dt <= 0 {
		return
	}
	f := float32(math.Exp2(-float64(dt) / hl))
	for i := range s.acc {
		if !detectors[i].sticky {
			s.acc[i].pts *= f
		}
	}
	s.rate *= float32(math.Exp(-float64(dt) / float64(rateWindow)))
}

// originOf returns the origin slot of principal name (key who), adding one
// if there is room.
func (s *session) originOf(name string, who uint64) *origin {
	for i := 0; i < int(s.norigins); i++ {
		if s.origins[i].who == who {
			return &s.origins[i]
		}
	}
	if int(s.norigins) == len(s.origins) {
		o := &s.origins[len(s.origins)-1] // reuse the last slot; rare
		*o = origin{name: name, who: who}
		return o
	}
	o := &s.origins[s.norigins]
	s.norigins++
	*o = origin{name: name, who: who}
	return o
}

// factByCode returns the index of the fact with code, or -1.
func (s *session) factByCode(code string) int {
	for i := range s.facts {
		if s.facts[i].code == code {
			return i
		}
	}
	return -1
}

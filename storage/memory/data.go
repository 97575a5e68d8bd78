package memory

import (
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// data is the committed state of a Store. Values stored here are private
// copies that nothing outside the package can reach.
type data struct {
	clients   map[string]storage.Client
	resources map[string]storage.Resource
	issuers   map[string]storage.Issuer
	sessions  map[string]storage.Session
	tokens    map[string]storage.Token
	keys      map[string]storage.Key
	jtis      map[string]time.Time // single-use identifier -> expiry
	events    map[string][]storage.Event
	audit     []storage.AuditRecord
	lastAudit uint64
	streams   map[string]storage.Stream
	outbox    map[string]storage.OutboxEntry // by outboxKey
	// lastOutbox is the last outbox Seq assigned.
	lastOutbox uint64
	// initialTokens and registrations hold dynamic client registration.
	initialTokens map[string]storage.InitialAccessToken
	registrations map[string]storage.Registration
	// sessionTokens indexes token IDs by session ID.
	sessionTokens map[string]map[string]struct{}
}

func newData() *data {
	return &data{
		clients:       map[string]storage.Client{},
		resources:     map[string]storage.Resource{},
		issuers:       map[string]storage.Issuer{},
		sessions:      map[string]storage.Session{},
		tokens:        map[string]storage.Token{},
		keys:          map[string]storage.Key{},
		jtis:          map[string]time.Time{},
		initialTokens: map[string]storage.InitialAccessToken{},
		registrations: map[string]storage.Registration{},
		events:        map[string][]storage.Event{},
		sessionTokens: map[string]map[string]struct{}{},
		streams:       map[string]storage.Stream{},
		outbox:        map[string]storage.OutboxEntry{},
	}
}

// indexToken moves token id from session oldSID's index entry to newSID's.
func (d *data) indexToken(id, oldSID, newSID string) {
	if oldSID == newSID {
		return
	}
	d.unindexToken(id, oldSID)
	if newSID == "" {
		return
	}
	ids := d.sessionTokens[newSID]
	if ids == nil {
		ids = map[string]struct{}{}
		d.sessionTokens[newSID] = ids
	}
	ids[id] = struct{}{}
}

// unindexToken removes token id from session sid's index entry.
func (d *data) unindexToken(id, sid string) {
	ids := d.sessionTokens[sid]
	delete(ids, id)
	if len(ids) == 0 {
		delete(d.sessionTokens, sid)
	}
}

// deleteExpired removes what expired at cutoff and returns the count.
// Tokens go first, so a session is removed only once none of its tokens
// remain.
func (d *data) deleteExpired(cutoff time.Time) int {
	n := 0
	for id, t := range d.tokens {
		if expired(t.ExpiresAt, cutoff) {
			delete(d.tokens, id)
			d.unindexToken(id, t.SessionID)
			n++
		}
	}
	for key, exp := range d.jtis {
		if expired(exp, cutoff) {
			delete(d.jtis, key)
			n++
		}
	}
	for k, e := range d.outbox {
		if !e.ExpiresAt.IsZero() && expired(e.ExpiresAt, cutoff) {
			delete(d.outbox, k)
			n++
		}
	}
	for id, s := range d.sessions {
		if expired(s.ExpiresAt, cutoff) && len(d.sessionTokens[id]) == 0 {
			n += 1 + len(d.events[id])
			delete(d.sessions, id)
			delete(d.events, id)
		}
	}
	return n
}

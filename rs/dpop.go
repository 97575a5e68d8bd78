package rs

import (
	"container/heap"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vigil-auth/vigil/keys"
)

// errReplayFull reports a full replay cache: proofs are refused, not
// forgotten, until entries expire.
var errReplayFull = errors.New("rs: DPoP replay cache full")

// errReplayed reports a proof jti seen before.
var errReplayed = errors.New("rs: DPoP proof replayed")

// verifyProof checks the request's DPoP proof for token (RFC 9449 §4.3 with
// §7.1's ath): one DPoP header, signed by the jwk it carries, htm and htu
// matching this request, iat fresh, ath the hash of token. Whether its key
// is the token's is checked once the token's cnf.jkt is known.
func (m *Middleware) verifyProof(r *http.Request, token string) (keys.Proof, *Error) {
	vals := r.Header.Values("DPoP")
	switch {
	case len(vals) == 0:
		return keys.Proof{}, invalidProof("a DPoP proof is required", nil)
	case len(vals) > 1:
		return keys.Proof{}, invalidProof("exactly one DPoP header is allowed", nil)
	}
	p, err := keys.ParseDPoPProof(vals[0], m.now(), keys.DPoPOptions{Method: r.Method, URL: m.requestURL(r), AccessToken: token})
	if err != nil {
		return keys.Proof{}, invalidProof("the DPoP proof is invalid", err)
	}
	return p, nil
}

// requestURL is the URL a proof's htu must name: PublicURL (or the
// request's own scheme and host) and the request path.
func (m *Middleware) requestURL(r *http.Request) string {
	base := m.cfg.PublicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return strings.TrimSuffix(base, "/") + r.URL.EscapedPath()
}

// checkBinding enforces RFC 9449 §7.1: a DPoP-bound token (cnf.jkt) only
// with the DPoP scheme and a proof by its key, a bearer token only with the
// Bearer scheme. A proof that passes is then single use.
func (m *Middleware) checkBinding(c Claims, scheme string, p *keys.Proof) *Error {
	switch {
	case c.JKT != "" && scheme != schemeDPoP:
		return inactive(schemeDPoP, "the token is DPoP-bound: present it with the DPoP scheme and a proof")
	case c.JKT == "" && scheme == schemeDPoP:
		return inactive(schemeDPoP, "the token is not DPoP-bound")
	case c.JKT == "":
		return nil
	case p.JKT != c.JKT:
		return invalidProof("the DPoP proof is not by the token's key", nil)
	}
	if err := m.replay.use(p.JKT+":"+p.JTI, p.ReplayUntil, m.now()); err != nil {
		return invalidProof("the DPoP proof was already used", err)
	}
	return nil
}

// replayCache remembers DPoP proof jtis until their proofs go stale. It is
// bounded: when every slot holds a live jti it refuses new ones instead of
// forgetting any, so a flood cannot evict a proof to replay it. It is safe
// for concurrent use.
type replayCache struct {
	mu    sync.Mutex
	size  int
	seen  map[string]time.Time
	queue expiryHeap
}

func newReplayCache(size int) *replayCache {
	return &replayCache{size: size, seen: make(map[string]time.Time)}
}

// use records id as used until until; it fails if id was used before or
// the cache is full of live entries.
func (c *replayCache) use(id string, until, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	if _, ok := c.seen[id]; ok {
		return errReplayed
	}
	if len(c.seen) >= c.size {
		return errReplayFull
	}
	c.seen[id] = until
	heap.Push(&c.queue, expiring{id: id, until: until})
	return nil
}

// expire forgets every entry whose time has passed.
func (c *replayCache) expire(now time.Time) {
	for len(c.queue) > 0 && !now.Before(c.queue[0].until) {
		e := heap.Pop(&c.queue).(expiring)
		delete(c.seen, e.id)
	}
}

type expiring struct {
	id    string
	until time.Time
}

// expiryHeap is a min-heap of entries by expiry (container/heap).
type expiryHeap []expiring

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].until.Before(h[j].until) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiring)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

package authz

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/storage"
)

// Throttling of failed client authentication and of token scanning.
//
// Failed client authentications are counted per claimed client id and per
// source address (RFC 6749 §2.3.1: endpoints that take passwords MUST be
// protected against brute force). Throttling never refuses credentials that
// are cheap to check and impossible to guess: a secret stored with the keyed
// fast hash (every server-generated secret, and any secret of 32 bytes or
// more) and a private_key_jwt assertion are always verified, so a flood of
// wrong secrets for a client id, from any number of addresses, does not lock
// out the client that holds the right one. What throttling changes is the
// answer to a failure, 429 temporarily_unavailable with Retry-After instead
// of 401 invalid_client, and whether a guessable secret gets guesses at all:
// a secret stored with the slow hash (short, possibly chosen by a person) is
// not checked while its id or the source is throttled, except against the
// secret that client last authenticated with (remembered only as a keyed
// fingerprint). Such a client keeps working through a flood as long as it
// authenticated once since the server started. Unknown and known client ids
// are counted and answered alike, so the answers never tell them apart.
//
// Individual authentication failures are not written to the audit log: an
// unauthenticated flood must not turn into a flood of durable writes. They
// show as 401 and 429 answers in the request metrics, and the start of each
// throttling episode is logged as a warning.
//
// Introspection is throttled on the tokens presented that do not exist
// (RFC 7662 §4: an unthrottled endpoint lets a caller fish for valid
// tokens), keyed by their presenter, never the answers for tokens that
// exist; see [ScanThrottle].

// Rate is a token bucket: Burst events at once, refilled one per Every.
// A Rate with Burst 0 never throttles.
type Rate struct {
	Burst int
	Every time.Duration
}

// AuthLimits are the throttles of the token, introspection, revocation and
// revalidation endpoints.
type AuthLimits struct {
	// PerClient bounds failed authentications per claimed client id.
	PerClient Rate
	// PerSource bounds failed authentications per source address.
	PerSource Rate
	// Scanning bounds the unknown tokens introspected per presenter (the
	// introspecting caller and the usage context it reports).
	Scanning Rate
}

// DefaultAuthLimits: 20 failures per client id (then one per 3s), 50 per
// source address (then one per second), and 300 unknown tokens per
// presenter at introspection (then five per second).
var DefaultAuthLimits = AuthLimits{
	PerClient: Rate{Burst: 20, Every: 3 * time.Second},
	PerSource: Rate{Burst: 50, Every: time.Second},
	Scanning:  Rate{Burst: 300, Every: 200 * time.Millisecond},
}

// WithAuthLimits replaces DefaultAuthLimits.
func WithAuthLimits(l AuthLimits) Option { return func(s *Server) { s.limits = l } }

// maxTrackedKeys bounds each throttle's memory; beyond it, new keys share
// one bucket until expired entries are pruned.
const maxTrackedKeys = 10_000

// overflowKey is the shared bucket of keys that did not fit.
const overflowKey = "\x00overflow"

// limiter is a keyed token bucket in the GCRA form: for each key, the time
// at which its bucket is full again. A key absent from the map has a full
// bucket. It is safe for concurrent use.
type limiter struct {
	rate      Rate
	mu        sync.Mutex
	tat       map[string]time.Time
	lastPrune time.Time
}

func newLimiter(r Rate) *limiter {
	if r.Burst <= 0 || r.Every <= 0 {
		return nil
	}
	return &limiter{rate: r, tat: make(map[string]time.Time)}
}

// throttled reports whether key's budget is used up at now, and how long
// until one more event fits.
func (l *limiter) throttled(key string, now time.Time) (bool, time.Duration) {
	if l == nil || key == "" {
		return false, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.exhausted(l.tat[l.slot(key, now)], now)
}

// charge counts one event for key at now. It reports whether the budget is
// used up afterwards, the wait until one more event fits, and whether this
// event started a throttling episode.
func (l *limiter) charge(key string, now time.Time) (bool, time.Duration, bool) {
	if l == nil || key == "" {
		return false, 0, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	k := l.slot(key, now)
	t := l.tat[k]
	if t.Before(now) {
		t = now
	}
	before, _ := l.exhausted(t, now)
	t = t.Add(l.rate.Every)
	if limit := now.Add(time.Duration(l.rate.Burst) * l.rate.Every); t.After(limit) {
		t = limit // a long flood never pushes recovery further than one full bucket
	}
	l.tat[k] = t
	after, wait := l.exhausted(t, now)
	return after, wait, after && !before
}

func (l *limiter) exhausted(tat, now time.Time) (bool, time.Duration) {
	if !tat.After(now) {
		return false, 0 // a full bucket; also keeps Sub away from its saturation
	}
	wait := tat.Sub(now) - time.Duration(l.rate.Burst-1)*l.rate.Every
	return wait > 0, wait
}

// slot returns the map key for key: itself when tracked or when there is
// room, else the shared overflow bucket. Expired entries are pruned at most
// once a second, so a flood of new keys costs no more than that.
func (l *limiter) slot(key string, now time.Time) string {
	if _, ok := l.tat[key]; ok || len(l.tat) < maxTrackedKeys {
		return key
	}
	if now.Sub(l.lastPrune) >= time.Second {
		l.lastPrune = now
		for k, t := range l.tat {
			if !t.After(now) {
				delete(l.tat, k)
			}
		}
		if len(l.tat) < maxTrackedKeys {
			return key
		}
	}
	return overflowKey
}

// authGuard holds the throttles and the fingerprints of slow-hash secrets
// that authenticated successfully.
type authGuard struct {
	clients, sources, scans *limiter
	fpKey                   []byte
	mu                      sync.Mutex
	good                    map[string]goodSecret
}

// goodSecret is the fingerprint of the secret a client last authenticated
// with, and the stored hash it matched (a rotated secret invalidates it).
type goodSecret struct {
	hash string
	fp   []byte
}

func newAuthGuard(l AuthLimits) *authGuard {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return &authGuard{clients: newLimiter(l.PerClient), sources: newLimiter(l.PerSource), scans: newLimiter(l.Scanning),
		fpKey: key, good: make(map[string]goodSecret)}
}

// attempt is one client authentication as the throttles see it.
type attempt struct {
	client, source string
	throttled      bool
	wait           time.Duration
}

// begin looks at who a request claims to be and whether that client id or
// its source address is throttled.
func (g *authGuard) begin(r *http.Request, form url.Values, now time.Time) *attempt {
	a := &attempt{client: claimedClient(r, form)}
	if ip := RemoteIP(r); ip.IsValid() {
		a.source = ip.String()
	}
	c, wc := g.clients.throttled(a.client, now)
	s, ws := g.sources.throttled(a.source, now)
	a.throttled, a.wait = c || s, max(wc, ws)
	return a
}

// claimedClient is the client id a request names, before any verification.
func claimedClient(r *http.Request, form url.Values) string {
	if id, _, ok := r.BasicAuth(); ok {
		if uid, err := url.QueryUnescape(id); err == nil {
			return uid
		}
		return id
	}
	if id := form.Get("client_id"); id != "" {
		return id
	}
	if a := form.Get("client_assertion"); a != "" && len(a) <= maxAssertion {
		if cl, err := unverifiedClaims(a); err == nil {
			return cl.Subject
		}
	}
	return ""
}

// checkSecret verifies secret against client c's stored hash, unless the
// attempt is throttled and the hash is a slow one: then only the secret c
// last authenticated with passes.
func (g *authGuard) checkSecret(a *attempt, c storage.Client, secret string, v SecretVerifier) bool {
	slow := !strings.HasPrefix(c.SecretHash, "hmac-sha256$") // PBKDF2 or unknown: costly and guessable
	if slow && a.throttled {
		return g.knownGood(c, secret)
	}
	if v.Verify(c.SecretHash, secret) != nil {
		return false
	}
	if slow {
		g.remember(c, secret)
	}
	return true
}

func (g *authGuard) fingerprint(id, secret string) []byte {
	m := hmac.New(sha256.New, g.fpKey)
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write([]byte(secret))
	return m.Sum(nil)
}

func (g *authGuard) knownGood(c storage.Client, secret string) bool {
	g.mu.Lock()
	gs, ok := g.good[c.ID]
	g.mu.Unlock()
	return ok && gs.hash == c.SecretHash && hmac.Equal(gs.fp, g.fingerprint(c.ID, secret))
}

func (g *authGuard) remember(c storage.Client, secret string) {
	fp := g.fingerprint(c.ID, secret)
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.good[c.ID]; ok || len(g.good) < maxTrackedKeys {
		g.good[c.ID] = goodSecret{hash: c.SecretHash, fp: fp}
	}
}

// settleAuth counts a failed authentication against the attempt's client id
// and source. A failure that began while either was throttled is answered
// 429; the failures within the budget are answered as usual. Other
// outcomes pass through.
func (s *Server) settleAuth(ctx context.Context, a *attempt, c caller, err error) (caller, error) {
	var oe *oauth.Error
	if err == nil || !errors.As(err, &oe) || oe.Code != oauth.InvalidClient {
		return c, err
	}
	now := s.now()
	_, cw, cs := s.guard.clients.charge(a.client, now)
	_, sw, ss := s.guard.sources.charge(a.source, now)
	if cs || ss {
		s.log.WarnContext(ctx, "failed client authentication throttled", "client_id", truncate(a.client), "source", a.source,
			"by_client", cs, "by_source", ss)
	}
	if a.throttled {
		return caller{}, errThrottled(max(a.wait, cw, sw), "too many failed client authentications; retry later")
	}
	return c, err
}

// errThrottled is the answer to a throttled request: 429 with Retry-After.
func errThrottled(wait time.Duration, desc string) *oauth.Error {
	secs := int64((wait + time.Second - 1) / time.Second)
	return (&oauth.Error{Code: oauth.TemporarilyUnavailable, Description: desc, Status: http.StatusTooManyRequests}).
		WithHeader("Retry-After", strconv.FormatInt(max(secs, 1), 10))
}

// ScanThrottle is the introspection scanning throttle (RFC 7662 §4,
// SECURITY.md #54) for introspect.Handler: the handler charges it for every
// presented token that does not exist, keyed by what the token's presenter
// controls (the caller and the usage context it reports), and it answers
// whether that key's budget is used up. Tokens that exist are never
// charged and never throttled, so whoever sends unknown tokens to a
// resource server cannot take that server's valid introspections down.
type ScanThrottle struct{ s *Server }

// ScanThrottle returns the scanning throttle of s.
func (s *Server) ScanThrottle() ScanThrottle { return ScanThrottle{s: s} }

// Unknown charges key for one unknown token and reports whether key was
// already out of budget, and how long until it has budget again. ctx is the
// request's, for the log line that says the budget ran out.
func (t ScanThrottle) Unknown(ctx context.Context, key string) (bool, time.Duration) {
	now := t.s.now()
	over, wait := t.s.guard.scans.throttled(key, now)
	_, w2, started := t.s.guard.scans.charge(key, now)
	if started {
		t.s.log.WarnContext(ctx, "introspection throttled: unknown tokens presented (token scanning?)", "key", truncate(key))
	}
	return over, max(wait, w2)
}

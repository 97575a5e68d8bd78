package cluster

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/risk"
)

// static is a Directory whose members are fixed.
type static struct{ ms []Member }

func (s static) Heartbeat(context.Context, string, string, time.Duration) ([]Member, error) {
	return s.ms, nil
}
func (static) Leave(context.Context, string) error { return nil }

func members(n int) []Member {
	var ms []Member
	for i := range n {
		ms = append(ms, Member{ID: fmt.Sprintf("i%d", i), URL: fmt.Sprintf("http://i%d", i)})
	}
	return ms
}

func TestOwnerSpreadsAndMovesOnlyTheLeaversKeys(t *testing.T) {
	three, two := members(3), members(3)[:2]
	count := map[string]int{}
	const keys = 3000
	moved := 0
	for i := range keys {
		k := fmt.Sprintf("client-%d", i)
		before, after := OwnerIn(three, k), OwnerIn(two, k)
		count[before.ID]++
		if before.ID != "i2" && before != after {
			t.Fatalf("%s moved from %s to %s although its owner stayed", k, before.ID, after.ID)
		}
		if before != after {
			moved++
		}
	}
	for id, n := range count {
		if n < keys/4 || n > keys*5/12 {
			t.Errorf("member %s owns %d of %d keys: not spread evenly", id, n, keys)
		}
	}
	if moved != count["i2"] {
		t.Errorf("%d keys moved, want the leaver's %d", moved, count["i2"])
	}
}

func TestRingTrustsOnlyAFreshView(t *testing.T) {
	now := time.Unix(1000, 0)
	r := NewRing(Member{ID: "i0"}, static{members(2)}, nil, func() time.Time { return now }, nil)
	if _, ok := r.Owner("c"); ok {
		t.Fatal("an owner before any heartbeat")
	}
	if err := r.Beat(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Owner("c"); !ok {
		t.Fatal("no owner after a heartbeat")
	}
	now = now.Add(Expiry)
	if _, ok := r.Owner("c"); ok {
		t.Fatal("an owner from a view as old as the expiry")
	}
}

func fullEvent() risk.Event {
	ny, _ := time.LoadLocation("America/New_York")
	prof := risk.ClientProfile{Kind: "agent", Scopes: []string{"a"}, Audiences: []string{"https://rs"},
		Networks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, Schedule: &risk.Schedule{Days: 62, Start: 480, End: 1080, Loc: ny},
		Purposes: []string{"p"}, MayAct: []string{"x"}, DPoP: true}
	actor := prof
	actor.Schedule = &risk.Schedule{Days: 1, Start: 1, End: 2, Loc: time.UTC}
	return risk.Event{Op: risk.OpIntrospect, At: time.Unix(1700000000, 123456789), SessionID: "s", ClientID: "c", Caller: "rs",
		Client: prof, IP: netip.MustParseAddr("10.1.2.3"), Audience: "https://rs",
		Resource: risk.ResourceProfile{Sensitivity: 3, Tenant: "t", Tactic: "collection"}, Scopes: []string{"a", "b"},
		Tool: "tickets.get", Tenant: "t", Actors: []string{"x"}, Facts: []string{risk.FactPoPMismatch},
		Signal: &risk.Signal{Type: risk.SignalRiskLevelChange, Level: "high"}, Passed: true, Evidence: "e", ActorProfile: actor}
}

// TestEventTravelsWhole fails when risk.Event gains a field the wire loses.
func TestEventTravelsWhole(t *testing.T) {
	want := fullEvent()
	v := reflect.ValueOf(want)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("fullEvent leaves %s empty: set it so the round trip covers it", v.Type().Field(i).Name)
		}
	}
	b, err := encodeEvent(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeEvent(b)
	if err != nil {
		t.Fatal(err)
	}
	if !got.At.Equal(want.At) {
		t.Fatalf("At = %v, want %v", got.At, want.At)
	}
	got.At = want.At
	if got.Client.Schedule.Loc.String() != "America/New_York" || got.ActorProfile.Schedule.Loc != time.UTC {
		t.Fatalf("locations: %v, %v", got.Client.Schedule.Loc, got.ActorProfile.Schedule.Loc)
	}
	got.Client.Schedule.Loc, want.Client.Schedule.Loc = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip changed the event:\n got %+v\nwant %+v", got, want)
	}
}

// judge records what it judged and answers with a fixed decision.
type judge struct {
	mu   sync.Mutex
	seen []risk.Event
	d    risk.Decision
}

func (j *judge) Observe(ev risk.Event) risk.Decision {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seen = append(j.seen, ev)
	return j.d
}

func (j *judge) count() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.seen)
}

var key = bytes.Repeat([]byte{7}, 32)

// pair is two routers, a and b, serving each other over httptest.
type pair struct {
	a, b   *Router
	ja, jb *judge
	srvB   *httptest.Server
	now    time.Time
}

func newPair(t testing.TB) *pair {
	p := &pair{now: time.Unix(1700000000, 0), ja: &judge{d: risk.Decision{Score: 1}},
		jb: &judge{d: risk.Decision{Score: 42, Action: risk.StepUp, Reasons: []risk.Reason{{Code: "x", Points: 3}}, MaxTTL: time.Minute}}}
	clock := func() time.Time { return p.now }
	var hb http.Handler
	p.srvB = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hb.ServeHTTP(w, r) }))
	t.Cleanup(p.srvB.Close)
	ms := []Member{{ID: "a", URL: "http://127.0.0.1:1"}, {ID: "b", URL: p.srvB.URL}}
	ra := NewRing(ms[0], static{ms}, nil, clock, nil)
	rb := NewRing(ms[1], static{ms}, nil, clock, nil)
	for _, r := range []*Ring{ra, rb} {
		if err := r.Beat(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	p.a, p.b = NewRouter(p.ja, ra, key, nil, clock), NewRouter(p.jb, rb, key, nil, clock)
	p.a.timeout, p.b.timeout = 10*time.Second, 10*time.Second // a loaded test machine is no slow owner
	hb = p.b
	return p
}

// clientOwnedBy returns a client id that id owns among ms.
func clientOwnedBy(t testing.TB, r *Ring, id string) string {
	for i := range 1000 {
		c := fmt.Sprintf("c%d", i)
		if o, _ := r.Owner(c); o.ID == id {
			return c
		}
	}
	t.Fatal("no client owned by " + id)
	return ""
}

func TestRouterSendsEachEventToItsOwner(t *testing.T) {
	p := newPair(t)
	ev := fullEvent()
	ev.ClientID = clientOwnedBy(t, p.a.ring, "b")
	d := p.a.Observe(ev)
	if !reflect.DeepEqual(d, p.jb.d) {
		t.Fatalf("decision = %+v, want the owner's %+v", d, p.jb.d)
	}
	if p.ja.count() != 0 || p.jb.count() != 1 {
		t.Fatalf("judged here %d, by the owner %d; want 0, 1", p.ja.count(), p.jb.count())
	}
	if got := p.jb.seen[0]; got.ClientID != ev.ClientID || !got.At.Equal(ev.At) || got.Tool != ev.Tool {
		t.Fatalf("the owner judged %+v", got)
	}
	ev.ClientID = clientOwnedBy(t, p.a.ring, "a")
	if d := p.a.Observe(ev); d.Score != 1 || p.ja.count() != 1 {
		t.Fatalf("an event this instance owns was not judged here: %+v", d)
	}
	if s := p.a.Stats(); s.Forwarded != 1 || s.Local != 1 || s.Degraded != 0 {
		t.Fatalf("stats %+v", s)
	}
	if s := p.b.Stats(); s.Served != 1 {
		t.Fatalf("owner stats %+v", s)
	}
}

func TestRouterJudgesLocallyWhenTheOwnerIsAway(t *testing.T) {
	p := newPair(t)
	ev := fullEvent()
	ev.ClientID = clientOwnedBy(t, p.a.ring, "b")
	p.srvB.Close()
	if d := p.a.Observe(ev); d.Score != 1 {
		t.Fatalf("decision %+v, want the local one", d)
	}
	// Within the backoff the away owner is not asked again.
	p.now = p.now.Add(Backoff / 2)
	p.a.Observe(ev)
	if s := p.a.Stats(); s.Degraded != 2 || s.Forwarded != 0 || p.ja.count() != 2 {
		t.Fatalf("stats %+v, judged here %d", s, p.ja.count())
	}
	// A stale view is not trusted either.
	p.now = p.now.Add(Expiry)
	p.a.Observe(ev)
	if s := p.a.Stats(); s.Degraded != 3 {
		t.Fatalf("stats %+v", s)
	}
}

func TestPeerEndpointRefusesWhatItCannotTrust(t *testing.T) {
	p := newPair(t)
	body, _ := encodeEvent(fullEvent())
	good := signer{key: key}
	now := p.now
	tests := []struct {
		name   string
		method string
		body   []byte
		header func(b []byte) string
		want   int
	}{
		{"signed", http.MethodPost, body, func(b []byte) string { h, _ := good.request("a", PathObserve, b, now); return h }, http.StatusOK},
		{"no header", http.MethodPost, body, func([]byte) string { return "" }, http.StatusUnauthorized},
		{"other key", http.MethodPost, body, func(b []byte) string {
			h, _ := signer{key: []byte("another key of thirty-two bytes!")}.request("a", PathObserve, b, now)
			return h
		}, http.StatusUnauthorized},
		{"body changed after signing", http.MethodPost, append(bytes.Clone(body[:len(body)-1]), ' ', '}'), func([]byte) string {
			h, _ := good.request("a", PathObserve, body, now)
			return h
		}, http.StatusUnauthorized},
		{"other path", http.MethodPost, body, func(b []byte) string { h, _ := good.request("a", "/x", b, now); return h }, http.StatusUnauthorized},
		{"too old", http.MethodPost, body, func(b []byte) string {
			h, _ := good.request("a", PathObserve, b, now.Add(-Skew-time.Second))
			return h
		}, http.StatusUnauthorized},
		{"too large", http.MethodPost, bytes.Repeat([]byte(" "), maxBody+1), func(b []byte) string { h, _ := good.request("a", PathObserve, b, now); return h }, http.StatusRequestEntityTooLarge},
		{"not an event", http.MethodPost, []byte(`[1]`), func(b []byte) string { h, _ := good.request("a", PathObserve, b, now); return h }, http.StatusBadRequest},
		{"GET", http.MethodGet, nil, func([]byte) string { return "" }, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, PathObserve, bytes.NewReader(tt.body))
			req.Header.Set(AuthHeader, tt.header(tt.body))
			rec := httptest.NewRecorder()
			p.b.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
		})
	}
	if n := p.jb.count(); n != 1 {
		t.Fatalf("the engine judged %d events, want only the signed one", n)
	}
}

func TestPeerEndpointRefusesAReplay(t *testing.T) {
	p := newPair(t)
	body, _ := encodeEvent(fullEvent())
	h, _ := signer{key: key}.request("a", PathObserve, body, p.now)
	codes := []int{}
	for range 2 {
		req := httptest.NewRequest(http.MethodPost, PathObserve, bytes.NewReader(body))
		req.Header.Set(AuthHeader, h)
		rec := httptest.NewRecorder()
		p.b.ServeHTTP(rec, req)
		codes = append(codes, rec.Code)
	}
	if codes[0] != http.StatusOK || codes[1] != http.StatusUnauthorized {
		t.Fatalf("statuses %v, want [200 401]", codes)
	}
}

func TestForgedAnswerIsNotTrusted(t *testing.T) {
	p := newPair(t)
	forger := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set(AuthHeader, "v1 00")
		_, _ = w.Write([]byte(`{"Score":0,"Action":"allow"}`))
	}))
	defer forger.Close()
	ms := []Member{{ID: "a", URL: "http://127.0.0.1:1"}, {ID: "b", URL: forger.URL}}
	ring := NewRing(ms[0], static{ms}, nil, func() time.Time { return p.now }, nil)
	if err := ring.Beat(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := NewRouter(p.ja, ring, key, nil, func() time.Time { return p.now })
	ev := fullEvent()
	ev.ClientID = clientOwnedBy(t, ring, "b")
	if d := r.Observe(ev); d.Score != 1 || r.Stats().Degraded != 1 {
		t.Fatalf("a forged answer was used: %+v %+v", d, r.Stats())
	}
}

// policyJudge is a judge with a policy.
type policyJudge struct {
	judge
	p risk.Policy
}

func (j *policyJudge) Policy() risk.Policy { return j.p }

// counting wraps a judge and counts what it sees.
type counting struct {
	Judge
	n *int
}

func (c counting) Observe(ev risk.Event) risk.Decision { *c.n++; return c.Judge.Observe(ev) }

// TestWrapLocalSeesWhatThisInstanceJudges: a wrapper of the local engine
// sees the events this instance judges (its own clients' and those served
// for others), never those it forwards; the engine's policy stays in force.
func TestWrapLocalSeesWhatThisInstanceJudges(t *testing.T) {
	p := newPair(t)
	pol := risk.DefaultPolicy()
	pol.ReportOnly = true
	pj := &policyJudge{judge: judge{d: risk.Decision{Score: 5}}, p: pol}
	p.a.local, p.a.engine = pj, pj
	var onA, onB int
	p.a.WrapLocal(func(j Judge) Judge { return counting{j, &onA} })
	p.b.WrapLocal(func(j Judge) Judge { return counting{j, &onB} })
	ev := fullEvent()
	ev.ClientID = clientOwnedBy(t, p.a.ring, "b")
	p.a.Observe(ev)
	ev.ClientID = clientOwnedBy(t, p.a.ring, "a")
	p.a.Observe(ev)
	if onA != 1 || onB != 1 {
		t.Fatalf("wrappers saw %d on a, %d on b; want 1 each", onA, onB)
	}
	if !p.a.Policy().ReportOnly {
		t.Fatal("the wrapped router lost the engine's policy")
	}
}

func TestNoncesRememberLongerThanTheSkew(t *testing.T) {
	var n nonces
	t0 := time.Unix(1000, 0)
	if !n.fresh("x", t0) {
		t.Fatal("a new nonce refused")
	}
	for _, d := range []time.Duration{time.Second, 2*Skew - time.Millisecond, 2 * Skew, 3 * Skew} {
		if n.fresh("x", t0.Add(d)) {
			t.Fatalf("nonce accepted again %s later", d)
		}
	}
	if !n.fresh("x", t0.Add(5*Skew)) {
		t.Fatal("a nonce long expired is still remembered")
	}
}

// TestDecisionTravelsWhole fails when risk.Decision gains a field the
// owner's answer loses.
func TestDecisionTravelsWhole(t *testing.T) {
	want := risk.Decision{Score: 73, Suspicion: 0.7312345678901234, Impact: 0.25, Level: risk.LevelHigh, Action: risk.StepUp,
		MaxTTL: 90 * time.Second, NoRefresh: true, Reasons: []risk.Reason{{Code: "a", Points: 12, Evidence: "e"}},
		NewFacts: []risk.Reason{{Code: risk.FactPoPMismatch, Points: 100}}, Challenge: &risk.Challenge{Methods: []string{risk.MethodClientAssertion}, Attempt: 2},
		ReportOnly: true, Tier: 3, SensitiveTouched: true}
	v := reflect.ValueOf(want)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("the test leaves Decision.%s empty: set it so the round trip covers it", v.Type().Field(i).Name)
		}
	}
	p := newPair(t)
	p.jb.d = want
	ev := fullEvent()
	ev.ClientID = clientOwnedBy(t, p.a.ring, "b")
	if got := p.a.Observe(ev); !reflect.DeepEqual(got, want) {
		t.Fatalf("the owner's decision changed on the way:\n got %+v\nwant %+v", got, want)
	}
}

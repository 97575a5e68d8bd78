package ssf

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/memory"
)

const testIssuer = "https://vigil.example"

// fakeSigner encodes claims as an unsigned compact JWS, so tests can read them.
type fakeSigner struct{}

func (fakeSigner) Sign(typ string, claims any) (string, error) {
	b, err := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"`+typ+`"}`)) + "." + enc(b) + ".", err
}

func claimsOf(t *testing.T, set string) Claims {
	t.Helper()
	parts := strings.Split(set, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c Claims
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// env is a transmitter over a memory store with one receiver client "rp"
// holding the bearer token "rp-token".
type env struct {
	tx    *Transmitter
	store storage.Store
}

func newEnv(t testing.TB, store storage.Store) *env {
	t.Helper()
	tx, err := NewTransmitter(Config{Issuer: testIssuer, MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond,
		IdlePoll: 20 * time.Millisecond, LongPoll: 200 * time.Millisecond}, store, fakeSigner{}, func(s string) string { return "id:" + s })
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	err = store.Update(t.Context(), func(w storage.Writer) error {
		if err := w.PutClient(t.Context(), storage.Client{ID: "rp", Kind: storage.KindResourceServer}); err != nil {
			return err
		}
		for _, sid := range []string{"rp-session", "s1", "s2"} {
			if err := w.CreateSession(t.Context(), storage.Session{ID: sid, ClientID: "agent", Status: storage.SessionActive,
				CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				return err
			}
		}
		if err := w.CreateToken(t.Context(), storage.Token{ID: "id:rp-noscope", Kind: storage.AccessToken, ClientID: "rp",
			SessionID: "rp-session", Scopes: []string{"tickets.read"}, IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			return err
		}
		return w.CreateToken(t.Context(), storage.Token{ID: "id:rp-token", Kind: storage.AccessToken, ClientID: "rp",
			SessionID: "rp-session", Scopes: []string{Scope}, IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(time.Hour)})
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{tx: tx, store: store}
}

// call sends a management request as the receiver and returns status and body.
func (e *env) call(t testing.TB, h http.HandlerFunc, method, target, body string) (int, string) {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer rp-token")
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	h(w, r)
	return w.Code, w.Body.String()
}

func (e *env) createStream(t testing.TB, body string) StreamConfig {
	t.Helper()
	code, out := e.call(t, e.tx.Streams, http.MethodPost, PathStreams, body)
	if code != http.StatusCreated {
		t.Fatalf("create stream: %d %s", code, out)
	}
	var c StreamConfig
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) revoke(t *testing.T, sid string) {
	t.Helper()
	err := e.store.Update(t.Context(), func(w storage.Writer) error {
		s, err := w.GetSession(t.Context(), sid)
		if err != nil {
			return err
		}
		return e.tx.SessionRevoked(t.Context(), w, s, "admin", "test")
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sink is a push receiver that fails while down and records what it took.
type sink struct {
	mu   sync.Mutex
	down bool
	got  []Claims
	hdr  []http.Header
	srv  *httptest.Server
}

func newSink(t *testing.T) *sink {
	s := &sink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.down {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		b, _ := io.ReadAll(r.Body)
		s.got = append(s.got, claimsOf(t, string(b)))
		s.hdr = append(s.hdr, r.Header.Clone())
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sink) setDown(v bool) { s.mu.Lock(); s.down = v; s.mu.Unlock() }

func (s *sink) received() []Claims {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Claims(nil), s.got...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func run(t *testing.T, tx *Transmitter) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { tx.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func TestPushSessionRevoked(t *testing.T) {
	e := newEnv(t, memory.New())
	rcv := newSink(t)
	st := e.createStream(t, `{"delivery":{"method":"urn:ietf:rfc:8935","endpoint_url":"`+rcv.srv.URL+`","authorization_header":"Bearer rcv"},
		"events_requested":["`+EventSessionRevoked+`","https://example.com/unknown"]}`)
	if strings.Join(st.EventsDelivered, ",") != EventSessionRevoked || st.Delivery.AuthorizationHeader != "" {
		t.Fatalf("stream config = %+v", st)
	}
	run(t, e.tx)
	e.revoke(t, "s1")
	waitFor(t, "one SET", func() bool { return len(rcv.received()) == 1 })
	c := rcv.received()[0]
	if c.Issuer != testIssuer || c.Audience[0] != "rp" || c.JTI == "" || c.TxN == "" || c.TOE == 0 || c.IssuedAt == 0 {
		t.Errorf("claims = %+v", c)
	}
	if c.SubID == nil || c.SubID.Format != FormatComplex || c.SubID.Session.ID != "s1" || c.SubID.User.Sub != "agent" {
		t.Errorf("sub_id = %+v", c.SubID)
	}
	var ev map[string]any
	if err := json.Unmarshal(c.Events[EventSessionRevoked], &ev); err != nil || ev["initiating_entity"] != "admin" {
		t.Errorf("event = %s", c.Events[EventSessionRevoked])
	}
	h := rcv.hdr[0]
	if h.Get("Content-Type") != ContentTypeSET || h.Get("Authorization") != "Bearer rcv" {
		t.Errorf("push headers = %v", h)
	}
	waitFor(t, "an empty outbox", func() bool {
		es, _ := e.store.ListOutbox(t.Context(), st.StreamID, 0)
		return len(es) == 0
	})
}

func TestPushRetriesInOrder(t *testing.T) {
	e := newEnv(t, memory.New())
	rcv := newSink(t)
	rcv.setDown(true)
	e.createStream(t, `{"delivery":{"method":"urn:ietf:rfc:8935","endpoint_url":"`+rcv.srv.URL+`"}}`)
	run(t, e.tx)
	e.revoke(t, "s1")
	e.revoke(t, "s2")
	time.Sleep(100 * time.Millisecond) // several failed attempts
	rcv.setDown(false)
	waitFor(t, "two SETs", func() bool { return len(rcv.received()) == 2 })
	got := rcv.received()
	if got[0].SubID.Session.ID != "s1" || got[1].SubID.Session.ID != "s2" {
		t.Errorf("order: %s then %s", got[0].SubID.Session.ID, got[1].SubID.Session.ID)
	}
}

func TestStreamFilters(t *testing.T) {
	e := newEnv(t, memory.New())
	st := e.createStream(t, `{"events_requested":["`+EventRiskLevelChange+`"]}`)
	if st.Delivery.Method != storage.DeliveryPoll || st.Delivery.EndpointURL != testIssuer+PathPoll+st.StreamID {
		t.Fatalf("default delivery = %+v", st.Delivery)
	}
	e.revoke(t, "s1") // not requested
	es, _ := e.store.ListOutbox(t.Context(), st.StreamID, 0)
	if len(es) != 0 {
		t.Fatalf("unrequested event queued: %d", len(es))
	}
	// Removing a subject from an all-subjects stream stops its events.
	code, body := e.call(t, e.tx.RemoveSubject, http.MethodPost, PathRemoveSubject,
		`{"stream_id":"`+st.StreamID+`","subject":{"format":"opaque","id":"s1"}}`)
	if code != http.StatusNoContent {
		t.Fatalf("remove subject: %d %s", code, body)
	}
	for _, sid := range []string{"s1", "s2"} {
		err := e.store.Update(t.Context(), func(w storage.Writer) error {
			s, _ := w.GetSession(t.Context(), sid)
			return e.tx.RiskLevelChanged(t.Context(), w, s, "LOW", "HIGH", "test")
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	es, _ = e.store.ListOutbox(t.Context(), st.StreamID, 0)
	if len(es) != 1 || !strings.Contains(string(es[0].Claims), `"s2"`) {
		t.Fatalf("outbox after removing s1 = %d entries", len(es))
	}
}

func TestPollAck(t *testing.T) {
	e := newEnv(t, memory.New())
	st := e.createStream(t, `{"delivery":{"method":"urn:ietf:rfc:8936"}}`)
	e.revoke(t, "s1")
	e.revoke(t, "s2")
	poll := func(body string) pollResponse {
		code, out := e.call(t, e.tx.Poll, http.MethodPost, PathPoll+st.StreamID, body)
		if code != http.StatusOK {
			t.Fatalf("poll: %d %s", code, out)
		}
		var p pollResponse
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := poll(`{"maxEvents":1,"returnImmediately":true}`)
	if len(p.Sets) != 1 || !p.MoreAvailable {
		t.Fatalf("first poll = %+v", p)
	}
	var first string
	for jti := range p.Sets {
		first = jti
	}
	if again := poll(`{"maxEvents":1,"returnImmediately":true}`); again.Sets[first] == "" {
		t.Fatal("an unacknowledged SET was not answered again")
	}
	p = poll(`{"returnImmediately":true,"ack":["` + first + `"]}`)
	if len(p.Sets) != 1 || p.Sets[first] != "" || p.MoreAvailable {
		t.Fatalf("poll after ack = %+v", p)
	}
	for jti := range p.Sets {
		// A SET the receiver reports in setErrs is not answered again either.
		poll(`{"maxEvents":0,"setErrs":{"` + jti + `":{"err":"invalid_key","description":"test"}}}`)
	}
	if es, _ := e.store.ListOutbox(t.Context(), st.StreamID, 0); len(es) != 0 {
		t.Fatalf("outbox after ack and setErrs holds %d entries", len(es))
	}
	start := time.Now()
	if p := poll(`{}`); len(p.Sets) != 0 || time.Since(start) < 150*time.Millisecond {
		t.Fatalf("long poll on an empty outbox = %+v after %v", p, time.Since(start))
	}
}

func TestManagementRefusals(t *testing.T) {
	e := newEnv(t, memory.New())
	st := e.createStream(t, `{}`)
	tests := []struct {
		name, method, target, body, auth string
		h                                http.HandlerFunc
		want                             int
	}{
		{"no token", http.MethodGet, PathStreams, "", "", e.tx.Streams, 401},
		{"unknown token", http.MethodGet, PathStreams, "", "Bearer nope", e.tx.Streams, 401},
		{"token without the scope", http.MethodGet, PathStreams, "", "Bearer rp-noscope", e.tx.Streams, 403},
		{"events_delivered changed", http.MethodPatch, PathStreams, `{"stream_id":"` + st.StreamID + `","events_delivered":["` + EventSessionRevoked + `"]}`, "Bearer rp-token", e.tx.Streams, 400},
		{"events_delivered sent back unchanged", http.MethodPatch, PathStreams, `{"stream_id":"` + st.StreamID + `","events_delivered":` + mustList(Transmitted) + `,"description":"x"}`, "Bearer rp-token", e.tx.Streams, 200},
		{"aud changed", http.MethodPatch, PathStreams, `{"stream_id":"` + st.StreamID + `","aud":"someone-else"}`, "Bearer rp-token", e.tx.Streams, 400},
		{"remove subject of an unknown stream", http.MethodPost, PathRemoveSubject, `{"stream_id":"nope","subject":{"format":"opaque","id":"s1"}}`, "Bearer rp-token", e.tx.RemoveSubject, 404},
		{"push to plain http", http.MethodPost, PathStreams, `{"delivery":{"method":"urn:ietf:rfc:8935","endpoint_url":"http://rp.example/x"}}`, "Bearer rp-token", e.tx.Streams, 400},
		{"unknown method", http.MethodPost, PathStreams, `{"delivery":{"method":"smoke"}}`, "Bearer rp-token", e.tx.Streams, 400},
		{"unknown stream", http.MethodGet, PathStreams + "?stream_id=x", "", "Bearer rp-token", e.tx.Streams, 404},
		{"bad status", http.MethodPost, PathStatus, `{"stream_id":"` + st.StreamID + `","status":"gone"}`, "Bearer rp-token", e.tx.Status, 400},
		{"foreign subject", http.MethodPost, PathAddSubject, `{"stream_id":"` + st.StreamID + `","subject":{"format":"iss_sub","iss":"https://other","sub":"x"}}`, "Bearer rp-token", e.tx.AddSubject, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			tt.h(w, r)
			if w.Code != tt.want {
				t.Errorf("status = %d, want %d: %s", w.Code, tt.want, w.Body)
			}
		})
	}
	code, _ := e.call(t, e.tx.Status, http.MethodPost, PathStatus, `{"stream_id":"`+st.StreamID+`","status":"paused","reason":"maintenance"}`)
	code2, body := e.call(t, e.tx.Status, http.MethodGet, PathStatus+"?stream_id="+st.StreamID, "")
	if code != 200 || code2 != 200 || !strings.Contains(body, `"paused"`) {
		t.Errorf("status round trip: %d %d %s", code, code2, body)
	}
	if code, _ := e.call(t, e.tx.Verify, http.MethodPost, PathVerify, `{"stream_id":"`+st.StreamID+`","state":"abc"}`); code != 204 {
		t.Errorf("verify = %d", code)
	}
	es, _ := e.store.ListOutbox(t.Context(), st.StreamID, 0)
	if len(es) != 1 || !strings.Contains(string(es[0].Claims), EventVerification) || !strings.Contains(string(es[0].Claims), `"abc"`) {
		t.Errorf("verification event not queued: %v", es)
	}
	r := httptest.NewRequest(http.MethodDelete, PathStreams+"?stream_id="+st.StreamID, nil)
	r.Header.Set("Authorization", "Bearer rp-token")
	w := httptest.NewRecorder()
	e.tx.Streams(w, r)
	if w.Code != 204 || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("delete = %d %v", w.Code, w.Header())
	}
	if code, _ := e.call(t, e.tx.Streams, http.MethodGet, PathStreams+"?stream_id="+st.StreamID, ""); code != 404 {
		t.Errorf("read after delete = %d", code)
	}
}

func mustList(l []string) string {
	b, _ := json.Marshal(l)
	return string(b)
}

// levels is an Observer answering the levels it is given, in turn.
type levels struct{ next []risk.Level }

func (l *levels) Observe(risk.Event) risk.Decision {
	d := risk.Decision{Level: l.next[0]}
	l.next = l.next[1:]
	return d
}

func TestLevelWatchQueuesChanges(t *testing.T) {
	e := newEnv(t, memory.New())
	st := e.createStream(t, `{"events_requested":["`+EventRiskLevelChange+`"]}`)
	lw := WatchLevels(&levels{next: []risk.Level{risk.LevelLow, risk.LevelMedium, risk.LevelMedium, risk.LevelCritical, risk.LevelLow}}, e.tx)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { lw.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for range 5 {
		lw.Observe(risk.Event{SessionID: "s1"})
	}
	var es []storage.OutboxEntry
	waitFor(t, "three level changes", func() bool {
		es, _ = e.store.ListOutbox(t.Context(), st.StreamID, 0)
		return len(es) == 3
	})
	want := []string{`"current_level":"MEDIUM","event_timestamp"`, `"current_level":"HIGH"`, `"current_level":"LOW"`}
	for i, w := range want {
		if !strings.Contains(string(es[i].Claims), w) {
			t.Errorf("change %d = %s, want %s", i, es[i].Claims, w)
		}
	}
}

// TestPushGate: a stream is pushed only while the gate lets this process
// push it; the queued SET waits in the outbox meanwhile.
func TestPushGate(t *testing.T) {
	e := newEnv(t, memory.New())
	var mu sync.Mutex
	open := false
	WithPushGate(func(context.Context, string) bool { mu.Lock(); defer mu.Unlock(); return open })(e.tx)
	rcv := newSink(t)
	st := e.createStream(t, `{"delivery":{"method":"urn:ietf:rfc:8935","endpoint_url":"`+rcv.srv.URL+`"}}`)
	run(t, e.tx)
	e.revoke(t, "s1")
	time.Sleep(100 * time.Millisecond) // several passes with the gate shut
	if n := len(rcv.received()); n != 0 {
		t.Fatalf("%d SETs pushed through a shut gate", n)
	}
	if es, _ := e.store.ListOutbox(t.Context(), st.StreamID, 0); len(es) != 1 {
		t.Fatalf("outbox holds %d entries, want the waiting SET", len(es))
	}
	mu.Lock()
	open = true
	mu.Unlock()
	waitFor(t, "the SET once the gate opens", func() bool { return len(rcv.received()) == 1 })
}

// TestLevelWatchClientLevel: a client's level is the highest of its
// sessions' levels, and each move of it is sent about the client (iss_sub).
func TestLevelWatchClientLevel(t *testing.T) {
	e := newEnv(t, memory.New())
	st := e.createStream(t, `{"events_requested":["`+EventRiskLevelChange+`"]}`)
	steps := []struct {
		sid   string
		level risk.Level
	}{{"s1", risk.LevelMedium}, {"s2", risk.LevelHigh}, {"s2", risk.LevelLow}, {"s1", risk.LevelMedium}, {"s1", risk.LevelLow}}
	next := &levels{}
	for _, s := range steps {
		next.next = append(next.next, s.level)
	}
	lw := WatchLevels(next, e.tx)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { lw.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for _, s := range steps {
		lw.Observe(risk.Event{SessionID: s.sid, ClientID: "agent"})
	}
	// session s1 MEDIUM, client MEDIUM; s2 HIGH, client HIGH; s2 LOW,
	// client MEDIUM; (s1 unchanged); s1 LOW, client LOW.
	want := []string{"s1 MEDIUM", "agent MEDIUM", "s2 HIGH", "agent HIGH", "s2 LOW", "agent MEDIUM", "s1 LOW", "agent LOW"}
	var es []storage.OutboxEntry
	waitFor(t, "eight level changes", func() bool {
		es, _ = e.store.ListOutbox(t.Context(), st.StreamID, 0)
		return len(es) == len(want)
	})
	for i, w := range want {
		var c Claims
		if err := json.Unmarshal(es[i].Claims, &c); err != nil {
			t.Fatal(err)
		}
		var ev map[string]any
		_ = json.Unmarshal(c.Events[EventRiskLevelChange], &ev)
		who := ""
		switch {
		case c.SubID.Format == FormatComplex && ev["principal"] == "SESSION":
			who = c.SubID.Session.ID
		case c.SubID.Format == FormatIssSub && c.SubID.Iss == testIssuer && ev["principal"] == "USER":
			who = c.SubID.Sub
		}
		if got := fmt.Sprintf("%s %v", who, ev["current_level"]); got != w || ev["risk_reason"] == nil {
			t.Errorf("change %d = %s (%s), want %s", i, got, es[i].Claims, w)
		}
	}
}

// TestBackoff: the wait after the n-th failure doubles from MinBackoff up to
// MaxBackoff, at a random point in the upper half of each step.
func TestBackoff(t *testing.T) {
	tx, err := NewTransmitter(Config{Issuer: testIssuer, MinBackoff: time.Second, MaxBackoff: 30 * time.Second},
		memory.New(), fakeSigner{}, func(s string) string { return s })
	if err != nil {
		t.Fatal(err)
	}
	for n, step := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 5: 16 * time.Second,
		6: 30 * time.Second, 20: 30 * time.Second} {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := tx.backoff(n)
			if d < step/2 || d > step {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, d, step/2, step)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("backoff(%d) has no jitter: %v", n, seen)
		}
	}
}

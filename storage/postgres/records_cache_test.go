package postgres

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// clock is a settable clock for the cache's expiry checks.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

func update(t *testing.T, s *Store, fn func(w storage.Writer) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatal(err)
	}
}

// seed creates session sid with one access and one refresh token through s.
func seed(t *testing.T, s *Store, sid string, now time.Time) (storage.Session, storage.Token, storage.Token) {
	t.Helper()
	sess := storage.Session{ID: sid, ClientID: "c1", Status: storage.SessionActive, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	at := storage.Token{ID: sid + "-at", Kind: storage.AccessToken, ClientID: "c1", SessionID: sid, Scopes: []string{"read"},
		Audiences: []string{"https://api.example"}, IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(time.Hour)}
	rt := at
	rt.ID, rt.Kind, rt.Scopes, rt.Audiences = sid+"-rt", storage.RefreshToken, []string{"read"}, []string{"https://api.example"}
	update(t, s, func(w storage.Writer) error {
		ctx := t.Context()
		return errorsJoin(w.CreateSession(ctx, sess), w.CreateToken(ctx, at), w.CreateToken(ctx, rt))
	})
	return sess, at, rt
}

func errorsJoin(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// bypass changes a row's document behind the feed's back: only a read
// through can see it, so it shows whether an answer came from the cache.
func bypass(t *testing.T, s *Store, table, id string, doc string) {
	t.Helper()
	if _, err := s.pool.Exec(t.Context(), `UPDATE `+table+` SET doc = $1 WHERE id = $2`, []byte(doc), id); err != nil {
		t.Fatal(err)
	}
}

// fresh waits for a good poll of s's feed and keeps the feed fresh for a
// minute after each good poll, so that a loaded machine cannot make a read
// miss the cache (FreshFor is 60 ms). Invalidation still comes only from
// the feed.
func fresh(t *testing.T, s *Store) {
	t.Helper()
	s.feed.freshFor.Store(int64(time.Minute))
	if err := s.Feed().Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestTokenCacheFollowsFeed: an access token and its session, read once,
// answer from the cache; a revocation or termination on another instance
// reaches it through the feed, with or without notifications.
func TestTokenCacheFollowsFeed(t *testing.T) {
	for _, listen := range []bool{true, false} {
		a, b, _ := openPair(t)
		a.Feed().SetListen(listen)
		now := time.Now()
		_, at, _ := seed(t, b, "s1", now)
		fresh(t, a)
		if got, err := a.GetToken(t.Context(), at.ID); err != nil || !got.RevokedAt.IsZero() {
			t.Fatalf("GetToken = %+v, %v", got, err)
		}
		bypass(t, a, "tokens", at.ID, `{"id":"s1-at","kind":"access_token","revoked_at":"2000-01-01T00:00:00Z"}`)
		bypass(t, a, "sessions", "s1", `{"sid":"s1","status":"terminated"}`)
		if got, _ := a.GetToken(t.Context(), at.ID); !got.RevokedAt.IsZero() {
			t.Fatal("the token did not come from the cache: the test would prove nothing")
		}
		if got, _ := a.GetSession(t.Context(), "s1"); got.Status != storage.SessionActive {
			t.Fatal("the session was not cached with its token: the test would prove nothing")
		}
		revoked := at
		revoked.RevokedAt = now
		update(t, b, func(w storage.Writer) error { return w.PutToken(t.Context(), revoked) })
		if !waitFor(2*time.Second, func() bool { got, _ := a.GetToken(t.Context(), at.ID); return !got.RevokedAt.IsZero() }) {
			t.Errorf("listen=%v: a revocation elsewhere did not reach the cached token", listen)
		}
		update(t, b, func(w storage.Writer) error {
			s, err := w.GetSession(t.Context(), "s1")
			s.Status = storage.SessionTerminated
			return errorsJoin(err, w.PutSession(t.Context(), s))
		})
		if !waitFor(2*time.Second, func() bool { got, _ := a.GetSession(t.Context(), "s1"); return got.Status != storage.SessionActive }) {
			t.Errorf("listen=%v: a termination elsewhere did not reach the cached session", listen)
		}
	}
}

// TestTokenCacheOwnWrites: the instance that changes a token or session
// never answers with the cached version afterwards, even for a change it
// does not announce (an extended expiry).
func TestTokenCacheOwnWrites(t *testing.T) {
	a, _, _ := openPair(t)
	now := time.Now()
	sess, at, _ := seed(t, a, "s1", now)
	fresh(t, a)
	if _, err := a.GetToken(t.Context(), at.ID); err != nil {
		t.Fatal(err)
	}
	update(t, a, func(w storage.Writer) error {
		s, err := w.GetSession(t.Context(), "s1")
		s.ExpiresAt = sess.ExpiresAt.Add(time.Hour)
		return errorsJoin(err, w.PutSession(t.Context(), s))
	})
	if got, _ := a.GetSession(t.Context(), "s1"); !got.ExpiresAt.Equal(sess.ExpiresAt.Add(time.Hour)) {
		t.Errorf("after extending, GetSession expiry = %v", got.ExpiresAt)
	}
	at.RevokedAt = now
	update(t, a, func(w storage.Writer) error { return w.PutToken(t.Context(), at) })
	if got, _ := a.GetToken(t.Context(), at.ID); got.RevokedAt.IsZero() {
		t.Error("after revoking, GetToken answers the token unrevoked")
	}
}

// TestCachedSessionExpiry: an extension made elsewhere is not announced,
// so a cached session answers only until its cached expiry; then the
// database's answer, extended, is read.
func TestCachedSessionExpiry(t *testing.T) {
	b, _, u := openPair(t)
	clk := &clock{t: time.Now()}
	c, err := Open(t.Context(), u, WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	sess, _, _ := seed(t, b, "s1", clk.now())
	fresh(t, c)
	if _, err := c.GetSession(t.Context(), "s1"); err != nil {
		t.Fatal(err)
	}
	later := sess.ExpiresAt.Add(time.Hour)
	update(t, b, func(w storage.Writer) error {
		s, err := w.GetSession(t.Context(), "s1")
		s.ExpiresAt = later
		return errorsJoin(err, w.PutSession(t.Context(), s))
	})
	fresh(t, c)
	if got, _ := c.GetSession(t.Context(), "s1"); !got.ExpiresAt.Equal(sess.ExpiresAt) {
		t.Fatalf("before the cached expiry GetSession expiry = %v; want the cached %v (else the test proves nothing)", got.ExpiresAt, sess.ExpiresAt)
	}
	clk.set(sess.ExpiresAt)
	if got, _ := c.GetSession(t.Context(), "s1"); !got.ExpiresAt.Equal(later) {
		t.Errorf("at the cached expiry GetSession expiry = %v; want the database's %v", got.ExpiresAt, later)
	}
}

// TestRefreshTokensNotCached: refresh tokens are always read from the
// database, as are records read while the feed is stale.
func TestRefreshTokensNotCached(t *testing.T) {
	a, _, _ := openPair(t)
	_, _, rt := seed(t, a, "s1", time.Now())
	fresh(t, a)
	if _, err := a.GetToken(t.Context(), rt.ID); err != nil {
		t.Fatal(err)
	}
	bypass(t, a, "tokens", rt.ID, `{"id":"s1-rt","kind":"refresh_token","successor_id":"next"}`)
	if got, _ := a.GetToken(t.Context(), rt.ID); got.SuccessorID != "next" {
		t.Error("a refresh token was answered from the cache")
	}
}

// TestCachedCopies: what the cache returns is the caller's to change.
func TestCachedCopies(t *testing.T) {
	a, _, _ := openPair(t)
	_, at, _ := seed(t, a, "s1", time.Now())
	fresh(t, a)
	for range 2 {
		got, err := a.GetToken(t.Context(), at.ID)
		if err != nil || !slices.Equal(got.Scopes, []string{"read"}) {
			t.Fatalf("GetToken = %+v, %v", got, err)
		}
		got.Scopes[0] = "admin"
	}
}

// TestOnlyExtends: which session writes go unannounced.
func TestOnlyExtends(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	read := storage.Session{ID: "s1", ClientID: "c1", Status: storage.SessionActive, ExpiresAt: now,
		Facts: []storage.Fact{{Code: "f", Points: 1, At: now}}}
	tests := []struct {
		name   string
		change func(s *storage.Session)
		want   bool
	}{
		{"unchanged", func(*storage.Session) {}, true},
		{"later expiry", func(s *storage.Session) { s.ExpiresAt = now.Add(time.Hour) }, true},
		{"earlier expiry", func(s *storage.Session) { s.ExpiresAt = now.Add(-time.Hour) }, false},
		{"terminated", func(s *storage.Session) { s.Status = storage.SessionTerminated }, false},
		{"fact added", func(s *storage.Session) { s.Facts = append(s.Facts, storage.Fact{Code: "g"}) }, false},
		{"challenged", func(s *storage.Session) { s.Challenges++ }, false},
		{"not read", func(s *storage.Session) { s.ID = "s2" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &writer{sessions: map[string]storage.Session{"s1": read.Clone()}}
			s := read.Clone()
			tt.change(&s)
			doc := mustJSON(t, s)
			if got := w.onlyExtends(s, doc); got != tt.want {
				t.Errorf("onlyExtends = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCacheEviction: a full cache drops some entries, not all, and keeps
// taking new ones.
func TestCacheEviction(t *testing.T) {
	c := newCache(16)
	for i := range 40 {
		c.put(KindToken, string(rune('a'+i)), i, time.Time{}, c.generation())
		if n := c.len(); n > 16 {
			t.Fatalf("cache holds %d entries, limit 16", n)
		}
	}
	if _, ok := c.get(KindToken, string(rune('a'+39)), time.Now()); !ok {
		t.Error("the newest entry is missing")
	}
	if n := c.len(); n < 8 {
		t.Errorf("cache holds %d entries after eviction; it dropped too many", n)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTxCounts: reads the cache answers cost no database read; each Update
// is one write transaction and one commit.
func TestTxCounts(t *testing.T) {
	a, _, _ := openPair(t)
	_, at, _ := seed(t, a, "s1", time.Now())
	fresh(t, a)
	r0, w0, c0 := a.TxCounts()
	if w0 != 1 || c0 != 1 {
		t.Errorf("after one Update: %d write transactions, %d commits; want 1, 1", w0, c0)
	}
	for range 3 {
		if _, err := a.GetToken(t.Context(), at.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := a.GetSession(t.Context(), "s1"); err != nil {
			t.Fatal(err)
		}
	}
	if r, _, _ := a.TxCounts(); r-r0 != 1 {
		t.Errorf("three token and session reads went to the database %d times; want 1 (the token with its session)", r-r0)
	}
}

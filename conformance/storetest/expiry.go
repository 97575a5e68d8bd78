package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// probeJTI reports what UseJTI(key, exp, now) would return, in an Update
// that is then aborted so that nothing is recorded.
func probeJTI(t *testing.T, s storage.Store, key string, exp, now time.Time) error {
	t.Helper()
	var got error
	err := s.Update(t.Context(), func(w storage.Writer) error {
		got = w.UseJTI(t.Context(), key, exp, now)
		return errBoom
	})
	isErr(t, "probe Update", err, errBoom)
	return got
}

// useJTI calls UseJTI in its own Update and returns its error.
func useJTI(t *testing.T, s storage.Store, key string, exp, now time.Time) error {
	t.Helper()
	return s.Update(t.Context(), func(w storage.Writer) error { return w.UseJTI(t.Context(), key, exp, now) })
}

// testUseJTI checks that an identifier is single use while live (now
// before its expiry) and reusable from its expiry on.
func testUseJTI(t *testing.T, s storage.Store) {
	tests := []struct {
		name     string
		key      string
		exp, now time.Time
		want     error
	}{
		{"first use", "j1", at(time.Minute), t0, nil},
		{"replay while live", "j1", at(5 * time.Minute), at(59 * time.Second), storage.ErrAlreadyExists},
		{"other identifier", "j2", at(time.Minute), t0, nil},
		{"reuse at expiry", "j1", at(2 * time.Minute), at(time.Minute), nil},
		{"replay before the new expiry", "j1", at(3 * time.Minute), at(time.Minute + time.Second), storage.ErrAlreadyExists},
		{"reuse after the new expiry", "j1", at(time.Hour), at(3 * time.Minute), nil},
	}
	for _, tt := range tests {
		err := useJTI(t, s, tt.key, tt.exp, tt.now)
		if tt.want == nil {
			must(t, tt.name, err)
		} else {
			isErr(t, tt.name, err, tt.want)
		}
	}
}

// deleteExpired calls DeleteExpired and checks the count.
func deleteExpired(t *testing.T, s storage.Store, now time.Time, want int) {
	t.Helper()
	n, err := s.DeleteExpired(t.Context(), now)
	must(t, "DeleteExpired", err)
	equal(t, "DeleteExpired count at "+now.Sub(t0).String(), n, want)
}

// gone checks that token or session id no longer exists.
func gone(t *testing.T, s storage.Store, kind, id string) {
	t.Helper()
	var err error
	if kind == "token" {
		_, err = s.GetToken(t.Context(), id)
	} else {
		_, err = s.GetSession(t.Context(), id)
	}
	isErr(t, kind+" "+id, err, storage.ErrNotFound)
}

// seedExpiry builds the DeleteExpired fixture; "now" is t0+10h.
func seedExpiry(t *testing.T, s storage.Store) {
	session := func(id string, created, exp time.Time) storage.Session {
		sess := newSession(id, "c1", created)
		sess.ExpiresAt = exp
		return sess
	}
	token := func(id, sid string, exp time.Time) storage.Token {
		tok := newToken(id, sid, t0)
		tok.ExpiresAt = exp
		return tok
	}
	update(t, s, func(ctx context.Context, w storage.Writer) error {
		return errorsJoin(
			w.CreateSession(ctx, session("s1", t0, at(time.Hour))), // expired, all tokens expired: removed
			w.CreateToken(ctx, token("a1", "s1", at(time.Hour))),
			w.CreateToken(ctx, token("a2", "s1", at(2*time.Hour))),
			w.AppendEvent(ctx, newEvent("s1", "1")),
			w.AppendEvent(ctx, newEvent("s1", "2")),
			w.CreateSession(ctx, session("s10", at(time.Second), at(time.Hour))), // expired, one live token: kept
			w.CreateToken(ctx, token("b1", "s10", at(time.Hour))),
			w.CreateToken(ctx, token("b2", "s10", at(20*time.Hour))),
			w.CreateSession(ctx, session("s2", at(2*time.Second), at(24*time.Hour))), // live
			w.CreateToken(ctx, token("c1", "s2", at(30*time.Minute))),
			w.CreateToken(ctx, token("c2", "s2", at(20*time.Hour))),
			w.AppendEvent(ctx, newEvent("s2", "1")),
			w.CreateSession(ctx, session("s3", at(3*time.Second), at(10*time.Hour))), // expires exactly at now: removed
			w.AppendEvent(ctx, newEvent("s3", "1")),
			w.CreateToken(ctx, token("free", "", at(time.Hour))),
			w.UseJTI(ctx, "j-old", at(time.Hour), t0),
			w.UseJTI(ctx, "j-edge", at(10*time.Hour), t0),
			w.UseJTI(ctx, "j-new", at(11*time.Hour), t0),
		)
	})
}

// testDeleteExpired removes expired records in three rounds.
func testDeleteExpired(t *testing.T, s storage.Store) {
	seedExpiry(t, s)
	now := at(10 * time.Hour)
	// s1 + a1 + a2 + 2 events, b1, c1, s3 + 1 event, free, j-old, j-edge.
	deleteExpired(t, s, now, 12)
	for _, id := range []string{"a1", "a2", "b1", "c1", "free"} {
		gone(t, s, "token", id)
	}
	gone(t, s, "session", "s1")
	gone(t, s, "session", "s3")
	equal(t, "events of removed s1", len(get(t, "ListEvents", func(ctx context.Context) ([]storage.Event, error) {
		return s.ListEvents(ctx, "s1")
	})), 0)
	equal(t, "s10 tokens", tokenIDs(t, s, "s10"), []string{"b2"})
	equal(t, "s2 tokens", tokenIDs(t, s, "s2"), []string{"c2"})
	equal(t, "s2 events", len(get(t, "ListEvents", func(ctx context.Context) ([]storage.Event, error) {
		return s.ListEvents(ctx, "s2")
	})), 1)
	equal(t, "sessions left", sessionIDs(t, s, storage.SessionFilter{}), []string{"s2", "s10"})
	for _, key := range []string{"j-old", "j-edge"} {
		must(t, "removed "+key+" usable again before its old expiry", probeJTI(t, s, key, at(time.Minute), t0))
	}
	isErr(t, "live j-new", probeJTI(t, s, "j-new", at(12*time.Hour), now), storage.ErrAlreadyExists)

	deleteExpired(t, s, now, 0)
	deleteExpired(t, s, at(21*time.Hour), 4) // b2, c2, s10, j-new
	gone(t, s, "session", "s10")
	equal(t, "s2 kept", sessionIDs(t, s, storage.SessionFilter{}), []string{"s2"})
	deleteExpired(t, s, at(25*time.Hour), 2) // s2 + its event
	equal(t, "sessions at the end", sessionIDs(t, s, storage.SessionFilter{}), []string{})
}

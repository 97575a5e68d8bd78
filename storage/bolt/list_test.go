package bolt

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// TestListSessionsScanMatchesIndex checks that the unbounded listing (a
// scan of the records, sorted) returns exactly what walking the creation
// index returns: the same sessions, newest first, ties by id descending.
func TestListSessionsScanMatchesIndex(t *testing.T) {
	ctx := context.Background()
	s := openT(t)
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	const n = 500
	put(t, s, func(ctx context.Context, w storage.Writer) error {
		for i := range n {
			status := storage.SessionActive
			if i%7 == 0 {
				status = storage.SessionTerminated
			}
			sess := storage.Session{ID: fmt.Sprintf("ses_%03d", (i*37)%n), ClientID: fmt.Sprint("c", i%3), Status: status,
				CreatedAt: t0.Add(time.Duration(i%50) * time.Second), ExpiresAt: t0.Add(time.Hour)} // many equal times
			if err := w.CreateSession(ctx, sess); err != nil {
				return err
			}
			tok := storage.Token{ID: fmt.Sprint("tok", i), SessionID: sess.ID, IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			if err := w.CreateToken(ctx, tok); err != nil {
				return err
			}
			if err := w.AppendEvent(ctx, storage.Event{SessionID: sess.ID, At: t0, Type: "token"}); err != nil {
				return err
			}
		}
		return nil
	})
	for _, status := range []string{"", storage.SessionActive, storage.SessionTerminated} {
		scan, err1 := s.ListSessions(ctx, storage.SessionFilter{Status: status})
		walk, err2 := s.ListSessions(ctx, storage.SessionFilter{Status: status, Limit: n + 1})
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if len(scan) == 0 || !reflect.DeepEqual(scan, walk) {
			t.Errorf("status %q: scan gives %d sessions, index walk %d, or a different order", status, len(scan), len(walk))
		}
	}
}

func TestIsSessionKey(t *testing.T) {
	cases := []struct {
		k    []byte
		want bool
	}{
		{sessionKey("ses_1"), true},
		{sessionKey(""), true},
		{sessionPrefix("ses_1", tagToken), false},
		{append(sessionPrefix("ses_1", tagEvent), 0, 0, 0, 0, 0, 0, 0, 1), false},
		{append(sessionPrefix("s", tagToken), tagSession), false},
		{nil, false},
		{[]byte{0x80}, false},
	}
	for _, tc := range cases {
		if got := isSessionKey(tc.k); got != tc.want {
			t.Errorf("isSessionKey(%x) = %v", tc.k, got)
		}
	}
}

package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// calls invokes every Store method once with ctx and returns their errors
// by name.
func calls(ctx context.Context, s storage.Store, fn func(storage.Writer) error) map[string]error {
	errs := map[string]error{}
	call := func(name string, err error) { errs[name] = err }
	_, err := s.GetClient(ctx, "c1")
	call("GetClient", err)
	_, err = s.ListClients(ctx)
	call("ListClients", err)
	_, err = s.GetResource(ctx, "aud")
	call("GetResource", err)
	_, err = s.ListResources(ctx)
	call("ListResources", err)
	_, err = s.GetIssuer(ctx, "https://iss")
	call("GetIssuer", err)
	_, err = s.ListIssuers(ctx)
	call("ListIssuers", err)
	_, err = s.GetSession(ctx, "s1")
	call("GetSession", err)
	_, err = s.ListSessions(ctx, storage.SessionFilter{})
	call("ListSessions", err)
	_, err = s.GetToken(ctx, "t1")
	call("GetToken", err)
	_, err = s.ListSessionTokens(ctx, "s1")
	call("ListSessionTokens", err)
	_, err = s.ListEvents(ctx, "s1")
	call("ListEvents", err)
	_, err = s.ListKeys(ctx)
	call("ListKeys", err)
	_, err = s.ListAudit(ctx, storage.AuditFilter{})
	call("ListAudit", err)
	call("Update", s.Update(ctx, fn))
	_, err = s.DeleteExpired(ctx, at(1000*time.Hour))
	call("DeleteExpired", err)
	return errs
}

// seedOne stores a client, a session with an expired token, and an event.
func seedOne(t *testing.T, s storage.Store) {
	t.Helper()
	update(t, s, func(ctx context.Context, w storage.Writer) error {
		return errorsJoin(w.PutClient(ctx, newClient("c1")), w.CreateSession(ctx, newSession("s1", "c1", t0)),
			w.CreateToken(ctx, newToken("t1", "s1", t0)), w.AppendEvent(ctx, newEvent("s1", "seed")))
	})
}

// testClosed checks that every call on a closed store fails with
// storage.ErrUnavailable, and that Close is idempotent.
func testClosed(t *testing.T, s storage.Store) {
	seedOne(t, s)
	must(t, "Close", s.Close())
	called := false
	errs := calls(t.Context(), s, func(w storage.Writer) error {
		called = true
		return w.PutClient(t.Context(), newClient("c2"))
	})
	for name, err := range errs {
		isErr(t, name+" after Close", err, storage.ErrUnavailable)
	}
	if called {
		t.Error("Update ran fn on a closed store")
	}
	must(t, "second Close", s.Close())
}

// testCancelledContext checks that a cancelled ctx fails every call and
// writes nothing.
func testCancelledContext(t *testing.T, s storage.Store) {
	seedOne(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	errs := calls(ctx, s, func(w storage.Writer) error { return w.PutClient(ctx, newClient("c2")) })
	for name, err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled ctx: err = %v, want errors.Is context.Canceled", name, err)
		}
	}
	_, err := s.GetClient(t.Context(), "c2")
	isErr(t, "client written under a cancelled ctx", err, storage.ErrNotFound)
	tok := get(t, "GetToken", func(ctx context.Context) (storage.Token, error) { return s.GetToken(ctx, "t1") })
	equal(t, "expired token kept by a cancelled DeleteExpired", tok, newToken("t1", "s1", t0))
}

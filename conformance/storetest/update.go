package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// snapshot is everything a store holds that the suite can list.
type snapshot struct {
	Clients   []storage.Client
	Resources []storage.Resource
	Issuers   []storage.Issuer
	Sessions  []storage.Session
	Tokens    map[string][]storage.Token
	Events    map[string][]storage.Event
	Keys      []storage.Key
	Audit     []storage.AuditRecord
}

// takeSnapshot lists every record, with the tokens and events of sids.
func takeSnapshot(t *testing.T, s storage.Store, sids ...string) snapshot {
	t.Helper()
	snap := snapshot{
		Clients:   get(t, "ListClients", s.ListClients),
		Resources: get(t, "ListResources", s.ListResources),
		Issuers:   get(t, "ListIssuers", s.ListIssuers),
		Sessions: get(t, "ListSessions", func(ctx context.Context) ([]storage.Session, error) {
			return s.ListSessions(ctx, storage.SessionFilter{})
		}),
		Tokens: map[string][]storage.Token{},
		Events: map[string][]storage.Event{},
		Keys:   get(t, "ListKeys", s.ListKeys),
		Audit: get(t, "ListAudit", func(ctx context.Context) ([]storage.AuditRecord, error) {
			return s.ListAudit(ctx, storage.AuditFilter{})
		}),
	}
	for _, sid := range sids {
		snap.Tokens[sid] = get(t, "ListSessionTokens", func(ctx context.Context) ([]storage.Token, error) {
			return s.ListSessionTokens(ctx, sid)
		})
		snap.Events[sid] = get(t, "ListEvents", func(ctx context.Context) ([]storage.Event, error) {
			return s.ListEvents(ctx, sid)
		})
	}
	return snap
}

// steps runs each write in turn and stops at the first error, which it
// reports with %v so that it cannot match a sentinel the caller expects.
func steps(ctx context.Context, w storage.Writer, ops ...func(ctx context.Context, w storage.Writer) error) error {
	for i, op := range ops {
		if err := op(ctx, w); err != nil {
			return fmt.Errorf("step %d failed unexpectedly: %v", i, err)
		}
	}
	return nil
}

// writeEverything changes every kind of record, given seeded c0, s1 and t1.
func writeEverything(ctx context.Context, w storage.Writer) error {
	s1 := newSession("s1", "c1", t0)
	s1.Status = storage.SessionTerminated
	t1 := newToken("t1", "s1", t0)
	t1.RevokedAt = at(time.Hour)
	return steps(ctx, w,
		func(ctx context.Context, w storage.Writer) error { return w.PutClient(ctx, newClient("c1")) },
		func(ctx context.Context, w storage.Writer) error { return w.DeleteClient(ctx, "c0") },
		func(ctx context.Context, w storage.Writer) error { return w.PutResource(ctx, newResource("aud")) },
		func(ctx context.Context, w storage.Writer) error { return w.PutIssuer(ctx, newIssuer("https://iss")) },
		func(ctx context.Context, w storage.Writer) error {
			return w.CreateSession(ctx, newSession("s2", "c1", t0))
		},
		func(ctx context.Context, w storage.Writer) error { return w.CreateToken(ctx, newToken("t2", "s2", t0)) },
		func(ctx context.Context, w storage.Writer) error { return w.PutSession(ctx, s1) },
		func(ctx context.Context, w storage.Writer) error { return w.PutToken(ctx, t1) },
		func(ctx context.Context, w storage.Writer) error {
			return w.AppendEvent(ctx, newEvent("s1", "aborted"))
		},
		func(ctx context.Context, w storage.Writer) error { return w.AppendAudit(ctx, newAudit("c1", "s1", t0)) },
		func(ctx context.Context, w storage.Writer) error { return w.PutKey(ctx, newKey("k1", t0)) },
		func(ctx context.Context, w storage.Writer) error { return w.UseJTI(ctx, "j1", at(time.Hour), t0) },
	)
}

// testUpdateAbort checks that an Update whose fn fails writes nothing.
func testUpdateAbort(t *testing.T, s storage.Store) {
	update(t, s, func(ctx context.Context, w storage.Writer) error {
		return steps(ctx, w,
			func(ctx context.Context, w storage.Writer) error { return w.PutClient(ctx, newClient("c0")) },
			func(ctx context.Context, w storage.Writer) error {
				return w.CreateSession(ctx, newSession("s1", "c1", t0))
			},
			func(ctx context.Context, w storage.Writer) error { return w.CreateToken(ctx, newToken("t1", "s1", t0)) },
			func(ctx context.Context, w storage.Writer) error { return w.AppendEvent(ctx, newEvent("s1", "seed")) },
			func(ctx context.Context, w storage.Writer) error { return w.AppendAudit(ctx, newAudit("c0", "s1", t0)) },
			func(ctx context.Context, w storage.Writer) error { return w.PutKey(ctx, newKey("k0", t0)) },
		)
	})
	before := takeSnapshot(t, s, "s1", "s2")
	tests := []struct {
		name string
		fn   func(ctx context.Context, w storage.Writer) error
		want error
	}{
		{"fn fails after writing every kind", func(ctx context.Context, w storage.Writer) error {
			if err := writeEverything(ctx, w); err != nil {
				return err
			}
			return errBoom
		}, errBoom},
		{"fn returns a failed write", func(ctx context.Context, w storage.Writer) error {
			if err := writeEverything(ctx, w); err != nil {
				return err
			}
			return w.CreateToken(ctx, newToken("t3", "no-such-session", t0))
		}, storage.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Update(t.Context(), func(w storage.Writer) error { return tt.fn(t.Context(), w) })
			isErr(t, "Update", err, tt.want)
			if errors.Is(err, storage.ErrUnavailable) {
				t.Errorf("Update: fn's error %v reported as storage.ErrUnavailable", err)
			}
			equal(t, "store after aborted Update", takeSnapshot(t, s, "s1", "s2"), before)
		})
	}
	update(t, s, func(ctx context.Context, w storage.Writer) error { return w.UseJTI(ctx, "j1", at(time.Hour), t0) })
}

// testUpdateOwnWrites checks that reads through a Writer see its earlier writes.
func testUpdateOwnWrites(t *testing.T, s storage.Store) {
	update(t, s, func(ctx context.Context, w storage.Writer) error {
		return errorsJoin(w.PutClient(ctx, newClient("c0")), w.CreateSession(ctx, newSession("s1", "c1", t0)),
			w.CreateToken(ctx, newToken("t1", "s1", t0)))
	})
	update(t, s, func(ctx context.Context, w storage.Writer) error {
		if err := writeEverything(ctx, w); err != nil {
			return err
		}
		return ownWritesVisible(ctx, w)
	})
	err := s.Update(t.Context(), func(w storage.Writer) error { return w.UseJTI(t.Context(), "j1", at(time.Hour), t0) })
	isErr(t, "UseJTI after commit", err, storage.ErrAlreadyExists)
	_, err = s.GetClient(t.Context(), "c0")
	isErr(t, "GetClient of deleted client", err, storage.ErrNotFound)
}

// ownWritesVisible reads back what writeEverything wrote, on the same Writer.
func ownWritesVisible(ctx context.Context, w storage.Writer) error {
	var errs []error
	check := func(what string, got, want any, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", what, err))
			return
		}
		errs = append(errs, diff(what, got, want))
	}
	cs, err := w.ListClients(ctx)
	check("ListClients", ids(cs, func(c storage.Client) string { return c.ID }), []string{"c1"}, err)
	_, err = w.GetClient(ctx, "c0")
	errs = append(errs, wantIs("GetClient of deleted client", err, storage.ErrNotFound))
	ss, err := w.ListSessions(ctx, storage.SessionFilter{Status: storage.SessionTerminated})
	check("ListSessions terminated", ids(ss, func(s storage.Session) string { return s.ID }), []string{"s1"}, err)
	ss, err = w.ListSessions(ctx, storage.SessionFilter{})
	check("ListSessions", len(ss), 2, err)
	ts, err := w.ListSessionTokens(ctx, "s2")
	check("ListSessionTokens", ids(ts, func(t storage.Token) string { return t.ID }), []string{"t2"}, err)
	tok, err := w.GetToken(ctx, "t1")
	check("revoked token", tok.RevokedAt, at(time.Hour), err)
	evs, err := w.ListEvents(ctx, "s1")
	check("ListEvents", len(evs), 1, err)
	recs, err := w.ListAudit(ctx, storage.AuditFilter{})
	check("ListAudit", len(recs), 1, err)
	keys, err := w.ListKeys(ctx)
	check("ListKeys", len(keys), 1, err)
	r, err := w.GetResource(ctx, "aud")
	check("GetResource", r, newResource("aud"), err)
	i, err := w.GetIssuer(ctx, "https://iss")
	check("GetIssuer", i, newIssuer("https://iss"), err)
	errs = append(errs, wantIs("second UseJTI", w.UseJTI(ctx, "j1", at(time.Hour), t0), storage.ErrAlreadyExists))
	return errors.Join(errs...)
}

// wantIs returns an error unless err matches target.
func wantIs(what string, err, target error) error {
	if !errors.Is(err, target) {
		return fmt.Errorf("%s: err = %v, want errors.Is %v", what, err, target)
	}
	return nil
}

// testUpdateConcurrent runs read-modify-write Updates from many goroutines
// and checks that none of their writes is lost.
func testUpdateConcurrent(t *testing.T, s storage.Store) {
	const n = 50
	seed := newSession("s1", "c1", t0)
	seed.Challenges = 0
	update(t, s, func(ctx context.Context, w storage.Writer) error { return w.CreateSession(ctx, seed) })
	ctx := t.Context()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := s.GetSession(ctx, "s1"); err != nil {
				errs <- err
				return
			}
			errs <- s.Update(ctx, func(w storage.Writer) error { return bump(ctx, w, i) })
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, "concurrent Update", err)
	}
	sess := get(t, "GetSession", func(ctx context.Context) (storage.Session, error) { return s.GetSession(ctx, "s1") })
	equal(t, "Challenges after concurrent increments", sess.Challenges, n)
	evs := get(t, "ListEvents", func(ctx context.Context) ([]storage.Event, error) { return s.ListEvents(ctx, "s1") })
	var details []string
	for i, e := range evs {
		equal(t, "event Seq", e.Seq, uint64(i+1))
		details = append(details, e.Detail)
	}
	var want []string
	for i := range n {
		want = append(want, strconv.Itoa(i))
	}
	slices.Sort(details)
	slices.Sort(want)
	equal(t, "event details", details, want)
	toks := get(t, "ListSessionTokens", func(ctx context.Context) ([]storage.Token, error) {
		return s.ListSessionTokens(ctx, "s1")
	})
	equal(t, "tokens", len(toks), n)
	recs := get(t, "ListAudit", func(ctx context.Context) ([]storage.AuditRecord, error) {
		return s.ListAudit(ctx, storage.AuditFilter{})
	})
	equal(t, "audit records", len(recs), n)
	checkIncreasing(t, recs)
}

// bump is one concurrent writer's read-modify-write.
func bump(ctx context.Context, w storage.Writer, i int) error {
	sess, err := w.GetSession(ctx, "s1")
	if err != nil {
		return err
	}
	sess.Challenges++
	rec := newAudit("c1", "s1", t0)
	rec.Detail = strconv.Itoa(i)
	return errorsJoin(
		w.PutSession(ctx, sess),
		w.AppendEvent(ctx, newEvent("s1", strconv.Itoa(i))),
		w.CreateToken(ctx, newToken("t"+strconv.Itoa(i), "s1", t0)),
		w.AppendAudit(ctx, rec),
	)
}

// checkIncreasing reports audit records whose Seq does not increase.
func checkIncreasing(t *testing.T, recs []storage.AuditRecord) {
	t.Helper()
	for i := 1; i < len(recs); i++ {
		if recs[i].Seq <= recs[i-1].Seq {
			t.Errorf("audit Seq not increasing: %d then %d", recs[i-1].Seq, recs[i].Seq)
		}
	}
}

// testUseJTIConcurrent records one identifier from many goroutines at once:
// exactly one may succeed.
func testUseJTIConcurrent(t *testing.T, s storage.Store) {
	const n = 50
	ctx := t.Context()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			errs <- s.Update(ctx, func(w storage.Writer) error { return w.UseJTI(ctx, "jti-1", at(time.Minute), t0) })
		})
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, storage.ErrAlreadyExists):
			t.Errorf("UseJTI: %v, want nil or ErrAlreadyExists", err)
		}
	}
	equal(t, "successful UseJTI calls", ok, 1)
}

package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// sessionIDs lists sessions matching f.
func sessionIDs(t *testing.T, s storage.Store, f storage.SessionFilter) []string {
	t.Helper()
	ss := get(t, "ListSessions", func(ctx context.Context) ([]storage.Session, error) { return s.ListSessions(ctx, f) })
	return ids(ss, func(s storage.Session) string { return s.ID })
}

// testListSessions checks the filters and the newest-first order, also
// after PutSession changes the fields they depend on.
func testListSessions(t *testing.T, s storage.Store) {
	terminated := newSession("c", "c1", at(2*time.Hour))
	terminated.Status = storage.SessionTerminated
	update(t, s, func(ctx context.Context, w storage.Writer) error {
		return errorsJoin(
			w.CreateSession(ctx, newSession("a", "c1", t0)),
			w.CreateSession(ctx, newSession("b", "c2", at(time.Hour))),
			w.CreateSession(ctx, terminated),
			w.CreateSession(ctx, newSession("d", "c1", at(3*time.Hour))),
		)
	})
	tests := []struct {
		name string
		f    storage.SessionFilter
		want []string
	}{
		{"all", storage.SessionFilter{}, []string{"d", "c", "b", "a"}},
		{"client", storage.SessionFilter{ClientID: "c1"}, []string{"d", "c", "a"}},
		{"status", storage.SessionFilter{Status: storage.SessionActive}, []string{"d", "b", "a"}},
		{"client and status", storage.SessionFilter{ClientID: "c1", Status: storage.SessionActive}, []string{"d", "a"}},
		{"limit", storage.SessionFilter{Limit: 2}, []string{"d", "c"}},
		{"client and limit", storage.SessionFilter{ClientID: "c1", Limit: 1}, []string{"d"}},
		{"status and limit", storage.SessionFilter{Status: storage.SessionActive, Limit: 2}, []string{"d", "b"}},
		{"unknown client", storage.SessionFilter{ClientID: "c"}, []string{}},
		{"unknown status", storage.SessionFilter{Status: "paused"}, []string{}},
		{"created from is inclusive", storage.SessionFilter{CreatedFrom: at(time.Hour)}, []string{"d", "c", "b"}},
		{"created to is inclusive", storage.SessionFilter{CreatedTo: at(2 * time.Hour)}, []string{"c", "b", "a"}},
		{"created range", storage.SessionFilter{CreatedFrom: at(time.Hour), CreatedTo: at(2 * time.Hour)}, []string{"c", "b"}},
		{"one instant, to the nanosecond", storage.SessionFilter{CreatedFrom: t0, CreatedTo: t0}, []string{"a"}},
		{"range between sessions",
			storage.SessionFilter{CreatedFrom: at(time.Hour + time.Nanosecond), CreatedTo: at(2*time.Hour - time.Nanosecond)}, []string{}},
		{"to a nanosecond before the first", storage.SessionFilter{CreatedTo: at(-time.Nanosecond)}, []string{}},
		{"from a nanosecond after the last", storage.SessionFilter{CreatedFrom: at(3*time.Hour + time.Nanosecond)}, []string{}},
		{"range wider than every time", storage.SessionFilter{CreatedFrom: time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC),
			CreatedTo: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}, []string{"d", "c", "b", "a"}},
		{"client and range", storage.SessionFilter{ClientID: "c1", CreatedFrom: t0, CreatedTo: at(2 * time.Hour)}, []string{"c", "a"}},
		{"client, status and to", storage.SessionFilter{ClientID: "c1", Status: storage.SessionActive,
			CreatedTo: at(3*time.Hour - time.Nanosecond)}, []string{"a"}},
		{"status and from", storage.SessionFilter{Status: storage.SessionActive, CreatedFrom: at(time.Minute)}, []string{"d", "b"}},
		{"from and limit keeps the newest", storage.SessionFilter{CreatedFrom: t0, Limit: 2}, []string{"d", "c"}},
		{"to and limit", storage.SessionFilter{CreatedTo: at(2 * time.Hour), Limit: 2}, []string{"c", "b"}},
		{"client, to and limit", storage.SessionFilter{ClientID: "c1", CreatedTo: at(2 * time.Hour), Limit: 1}, []string{"c"}},
		{"unknown client and range", storage.SessionFilter{ClientID: "c", CreatedFrom: t0}, []string{}},
	}
	for _, tt := range tests {
		equal(t, tt.name, sessionIDs(t, s, tt.f), tt.want)
	}

	moved := newSession("a", "c2", at(4*time.Hour))
	moved.Status = storage.SessionTerminated
	update(t, s, func(ctx context.Context, w storage.Writer) error { return w.PutSession(ctx, moved) })
	equal(t, "old client after move", sessionIDs(t, s, storage.SessionFilter{ClientID: "c1"}), []string{"d", "c"})
	equal(t, "new client after move", sessionIDs(t, s, storage.SessionFilter{ClientID: "c2"}), []string{"a", "b"})
	equal(t, "all after move", sessionIDs(t, s, storage.SessionFilter{}), []string{"a", "d", "c", "b"})
	equal(t, "range after move", sessionIDs(t, s, storage.SessionFilter{CreatedFrom: at(3*time.Hour + time.Nanosecond)}), []string{"a"})
	equal(t, "old range after move", sessionIDs(t, s, storage.SessionFilter{CreatedTo: at(time.Hour)}), []string{"b"})
	equal(t, "new client's range after move",
		sessionIDs(t, s, storage.SessionFilter{ClientID: "c2", CreatedFrom: at(2 * time.Hour)}), []string{"a"})
	equal(t, "terminated after move",
		sessionIDs(t, s, storage.SessionFilter{Status: storage.SessionTerminated}), []string{"a", "c"})
}

// tokenIDs lists the tokens of session sid.
func tokenIDs(t *testing.T, s storage.Store, sid string) []string {
	t.Helper()
	ts := get(t, "ListSessionTokens", func(ctx context.Context) ([]storage.Token, error) {
		return s.ListSessionTokens(ctx, sid)
	})
	return ids(ts, func(t storage.Token) string { return t.ID })
}

// testListSessionTokens checks the oldest-first order per session, with
// session IDs that are prefixes of each other, also after PutToken changes
// a token's issue time or session.
func testListSessionTokens(t *testing.T, s storage.Store) {
	seedSessions(t, s, "s1", "s10")
	update(t, s, func(ctx context.Context, w storage.Writer) error {
		return errorsJoin(
			w.CreateToken(ctx, newToken("t-late", "s1", at(2*time.Minute))),
			w.CreateToken(ctx, newToken("t-early", "s1", t0)),
			w.CreateToken(ctx, newToken("t-mid", "s1", at(time.Minute))),
			w.CreateToken(ctx, newToken("t-other", "s10", at(-time.Minute))),
		)
	})
	equal(t, "s1", tokenIDs(t, s, "s1"), []string{"t-early", "t-mid", "t-late"})
	equal(t, "s10", tokenIDs(t, s, "s10"), []string{"t-other"})
	equal(t, "prefix of a session ID", tokenIDs(t, s, "s"), []string{})
	equal(t, "unknown session", tokenIDs(t, s, "nope"), []string{})

	update(t, s, func(ctx context.Context, w storage.Writer) error {
		return errorsJoin(
			w.PutToken(ctx, newToken("t-late", "s1", at(-time.Hour))),
			w.PutToken(ctx, newToken("t-mid", "s10", at(time.Minute))),
		)
	})
	equal(t, "s1 after PutToken", tokenIDs(t, s, "s1"), []string{"t-late", "t-early"})
	equal(t, "s10 after PutToken", tokenIDs(t, s, "s10"), []string{"t-other", "t-mid"})
}

// testEventSeq checks that Seq is assigned per session, from 1, in append
// order, ignoring the Seq the caller passes.
func testEventSeq(t *testing.T, s storage.Store) {
	seedSessions(t, s, "s1", "s10")
	appendEvents := func(evs ...storage.Event) {
		t.Helper()
		update(t, s, func(ctx context.Context, w storage.Writer) error {
			for _, e := range evs {
				if err := w.AppendEvent(ctx, e); err != nil {
					return err
				}
			}
			return nil
		})
	}
	first := newEvent("s1", "a")
	first.Seq = 99
	appendEvents(first)
	appendEvents(newEvent("s10", "x"))
	appendEvents(newEvent("s1", "b"), newEvent("s1", "c"))
	appendEvents(newEvent("s10", "y"))
	appendEvents(newEvent("s1", "d"))

	type seqDetail struct {
		Seq    uint64
		Detail string
	}
	list := func(sid string) []seqDetail {
		evs := get(t, "ListEvents", func(ctx context.Context) ([]storage.Event, error) { return s.ListEvents(ctx, sid) })
		out := []seqDetail{}
		for _, e := range evs {
			out = append(out, seqDetail{e.Seq, e.Detail})
		}
		return out
	}
	equal(t, "s1", list("s1"), []seqDetail{{1, "a"}, {2, "b"}, {3, "c"}, {4, "d"}})
	equal(t, "s10", list("s10"), []seqDetail{{1, "x"}, {2, "y"}})
	equal(t, "unknown session", list("s"), []seqDetail{})
}

// testAudit checks audit Seq and every filter.
func testAudit(t *testing.T, s storage.Store) {
	rec := func(detail, client, sid string, when time.Time) storage.AuditRecord {
		r := newAudit(client, sid, when)
		r.Detail = detail
		return r
	}
	write := func(recs ...storage.AuditRecord) {
		t.Helper()
		update(t, s, func(ctx context.Context, w storage.Writer) error {
			for _, r := range recs {
				if err := w.AppendAudit(ctx, r); err != nil {
					return err
				}
			}
			return nil
		})
	}
	write(rec("1", "c1", "s1", t0), rec("2", "c2", "s2", at(time.Minute)), rec("3", "c1", "s2", at(2*time.Minute)))
	write(rec("4", "c1", "s1", at(3*time.Minute)), rec("5", "c2", "", at(4*time.Minute)),
		rec("6", "c2", "s1", at(5*time.Minute)))

	all := get(t, "ListAudit", func(ctx context.Context) ([]storage.AuditRecord, error) {
		return s.ListAudit(ctx, storage.AuditFilter{})
	})
	checkIncreasing(t, all)
	seq := map[string]uint64{}
	for _, r := range all {
		seq[r.Detail] = r.Seq
	}
	tests := []struct {
		name string
		f    storage.AuditFilter
		want []string
	}{
		{"all", storage.AuditFilter{}, []string{"1", "2", "3", "4", "5", "6"}},
		{"client", storage.AuditFilter{ClientID: "c1"}, []string{"1", "3", "4"}},
		{"session", storage.AuditFilter{SessionID: "s2"}, []string{"2", "3"}},
		{"client and session", storage.AuditFilter{ClientID: "c1", SessionID: "s1"}, []string{"1", "4"}},
		{"since is inclusive", storage.AuditFilter{Since: at(2 * time.Minute)}, []string{"3", "4", "5", "6"}},
		{"since and client", storage.AuditFilter{ClientID: "c2", Since: at(time.Minute)}, []string{"2", "5", "6"}},
		{"since and session", storage.AuditFilter{SessionID: "s1", Since: at(time.Minute)}, []string{"4", "6"}},
		{"limit keeps the oldest", storage.AuditFilter{Limit: 2}, []string{"1", "2"}},
		{"client and limit", storage.AuditFilter{ClientID: "c1", Limit: 2}, []string{"1", "3"}},
		{"newest first", storage.AuditFilter{Newest: true}, []string{"6", "5", "4", "3", "2", "1"}},
		{"newest and limit keeps the newest", storage.AuditFilter{Newest: true, Limit: 2}, []string{"6", "5"}},
		{"newest, client and limit", storage.AuditFilter{ClientID: "c1", Newest: true, Limit: 2}, []string{"4", "3"}},
		{"newest, session and since", storage.AuditFilter{SessionID: "s1", Since: at(time.Minute), Newest: true}, []string{"6", "4"}},
		{"since after everything", storage.AuditFilter{Since: at(time.Hour)}, []string{}},
		{"unknown session", storage.AuditFilter{SessionID: "s"}, []string{}},
	}
	for _, tt := range tests {
		got := get(t, "ListAudit", func(ctx context.Context) ([]storage.AuditRecord, error) { return s.ListAudit(ctx, tt.f) })
		equal(t, tt.name, ids(got, func(r storage.AuditRecord) string { return r.Detail }), tt.want)
		for _, r := range got {
			equal(t, tt.name+": Seq of "+r.Detail, r.Seq, seq[r.Detail])
		}
	}
}

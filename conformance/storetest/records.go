package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// testRoundTrip writes one record of every kind and reads it back, both
// inside the writing Update and afterwards from the store.
func testRoundTrip(t *testing.T, s storage.Store) {
	replacedClient := newClient("c-replaced")
	replacedClient.Scopes, replacedClient.Schedule, replacedClient.JWKS = []string{"admin"}, nil, nil
	replacedSession := newSession("s-replaced", "c2", at(time.Hour))
	replacedSession.Status, replacedSession.Facts = storage.SessionTerminated, nil
	replacedToken := newToken("tok-replaced", "s-rt", at(time.Minute))
	replacedToken.Scopes, replacedToken.RevokedAt = []string{"write"}, time.Time{}
	wantEvent := newEvent("s-ev", "first")
	wantEvent.Seq = 1
	wantAudit := newAudit("c1", "s1", t0)
	wantAudit.Seq = 1

	tests := []struct {
		name  string
		write func(ctx context.Context, w storage.Writer) error
		read  func(ctx context.Context, r storage.Reader) (any, error)
		want  any
	}{
		{
			name:  "client",
			write: func(ctx context.Context, w storage.Writer) error { return w.PutClient(ctx, newClient("c1")) },
			read:  func(ctx context.Context, r storage.Reader) (any, error) { return r.GetClient(ctx, "c1") },
			want:  newClient("c1"),
		},
		{
			name: "client replaced",
			write: func(ctx context.Context, w storage.Writer) error {
				return errorsJoin(w.PutClient(ctx, newClient("c-replaced")), w.PutClient(ctx, replacedClient))
			},
			read: func(ctx context.Context, r storage.Reader) (any, error) { return r.GetClient(ctx, "c-replaced") },
			want: replacedClient,
		},
		{
			name: "resource",
			write: func(ctx context.Context, w storage.Writer) error {
				return w.PutResource(ctx, newResource("https://api"))
			},
			read: func(ctx context.Context, r storage.Reader) (any, error) { return r.GetResource(ctx, "https://api") },
			want: newResource("https://api"),
		},
		{
			name:  "issuer",
			write: func(ctx context.Context, w storage.Writer) error { return w.PutIssuer(ctx, newIssuer("https://iss")) },
			read:  func(ctx context.Context, r storage.Reader) (any, error) { return r.GetIssuer(ctx, "https://iss") },
			want:  newIssuer("https://iss"),
		},
		{
			name: "session",
			write: func(ctx context.Context, w storage.Writer) error {
				return w.CreateSession(ctx, newSession("s-rt", "c1", t0))
			},
			read: func(ctx context.Context, r storage.Reader) (any, error) { return r.GetSession(ctx, "s-rt") },
			want: newSession("s-rt", "c1", t0),
		},
		{
			name: "session replaced",
			write: func(ctx context.Context, w storage.Writer) error {
				return errorsJoin(w.CreateSession(ctx, newSession("s-replaced", "c1", t0)), w.PutSession(ctx, replacedSession))
			},
			read: func(ctx context.Context, r storage.Reader) (any, error) { return r.GetSession(ctx, "s-replaced") },
			want: replacedSession,
		},
		{
			name: "token",
			write: func(ctx context.Context, w storage.Writer) error {
				return w.CreateToken(ctx, newToken("tok-1", "s-rt", t0))
			},
			read: func(ctx context.Context, r storage.Reader) (any, error) { return r.GetToken(ctx, "tok-1") },
			want: newToken("tok-1", "s-rt", t0),
		},
		{
			name: "token without session",
			write: func(ctx context.Context, w storage.Writer) error {
				return w.CreateToken(ctx, newToken("tok-free", "", t0))
			},
			read: func(ctx context.Context, r storage.Reader) (any, error) { return r.GetToken(ctx, "tok-free") },
			want: newToken("tok-free", "", t0),
		},
		{
			name: "token replaced",
			write: func(ctx context.Context, w storage.Writer) error {
				return errorsJoin(w.CreateToken(ctx, newToken("tok-replaced", "s-rt", t0)), w.PutToken(ctx, replacedToken))
			},
			read: func(ctx context.Context, r storage.Reader) (any, error) { return r.GetToken(ctx, "tok-replaced") },
			want: replacedToken,
		},
		{
			name: "event",
			write: func(ctx context.Context, w storage.Writer) error {
				return errorsJoin(w.CreateSession(ctx, newSession("s-ev", "c1", t0)), w.AppendEvent(ctx, newEvent("s-ev", "first")))
			},
			read: func(ctx context.Context, r storage.Reader) (any, error) { return r.ListEvents(ctx, "s-ev") },
			want: []storage.Event{wantEvent},
		},
		{
			name:  "key",
			write: func(ctx context.Context, w storage.Writer) error { return w.PutKey(ctx, newKey("k1", t0)) },
			read:  func(ctx context.Context, r storage.Reader) (any, error) { return r.ListKeys(ctx) },
			want:  []storage.Key{newKey("k1", t0)},
		},
		{
			name:  "audit",
			write: func(ctx context.Context, w storage.Writer) error { return w.AppendAudit(ctx, newAudit("c1", "s1", t0)) },
			read: func(ctx context.Context, r storage.Reader) (any, error) {
				return r.ListAudit(ctx, storage.AuditFilter{})
			},
			want: []storage.AuditRecord{wantAudit},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			update(t, s, func(ctx context.Context, w storage.Writer) error {
				if err := tt.write(ctx, w); err != nil {
					return err
				}
				got, err := tt.read(ctx, w)
				if err != nil {
					return fmt.Errorf("read inside Update: %v", err)
				}
				return diff("read inside Update", got, tt.want)
			})
			got := get(t, "read", func(ctx context.Context) (any, error) { return tt.read(ctx, s) })
			equal(t, "read after Update", got, tt.want)
		})
	}
}

// errorsJoin returns the first non-nil error, so a fixture's first failing
// step is the one reported.
func errorsJoin(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// testListOrder checks the order of the keyed lists.
func testListOrder(t *testing.T, s storage.Store) {
	update(t, s, func(ctx context.Context, w storage.Writer) error {
		for _, id := range []string{"c3", "c1", "c2"} {
			err := errorsJoin(w.PutClient(ctx, newClient(id)), w.PutResource(ctx, newResource("aud-"+id)),
				w.PutIssuer(ctx, newIssuer("https://"+id)))
			if err != nil {
				return err
			}
		}
		return errorsJoin(w.PutKey(ctx, newKey("k-b", t0)), w.PutKey(ctx, newKey("k-a", at(time.Hour))),
			w.PutKey(ctx, newKey("k-c", at(-time.Hour))))
	})
	clients := get(t, "ListClients", s.ListClients)
	equal(t, "ListClients", ids(clients, func(c storage.Client) string { return c.ID }), []string{"c1", "c2", "c3"})
	resources := get(t, "ListResources", s.ListResources)
	equal(t, "ListResources", ids(resources, func(r storage.Resource) string { return r.Audience }),
		[]string{"aud-c1", "aud-c2", "aud-c3"})
	issuers := get(t, "ListIssuers", s.ListIssuers)
	equal(t, "ListIssuers", ids(issuers, func(i storage.Issuer) string { return i.Issuer }),
		[]string{"https://c1", "https://c2", "https://c3"})
	keys := get(t, "ListKeys", s.ListKeys)
	equal(t, "ListKeys oldest first", ids(keys, func(k storage.Key) string { return k.ID }), []string{"k-c", "k-b", "k-a"})
}

// ids maps records to their IDs.
func ids[T any](recs []T, id func(T) string) []string {
	out := []string{}
	for _, r := range recs {
		out = append(out, id(r))
	}
	return out
}

// testNotFound checks every operation that must report storage.ErrNotFound.
func testNotFound(t *testing.T, s storage.Store) {
	seedSessions(t, s, "s1")
	update(t, s, func(ctx context.Context, w storage.Writer) error { return w.CreateToken(ctx, newToken("t1", "s1", t0)) })
	tests := []struct {
		name string
		op   func(ctx context.Context, w storage.Writer) error
	}{
		{"GetClient", func(ctx context.Context, w storage.Writer) error { _, err := w.GetClient(ctx, "nope"); return err }},
		{"GetResource", func(ctx context.Context, w storage.Writer) error { _, err := w.GetResource(ctx, "nope"); return err }},
		{"GetIssuer", func(ctx context.Context, w storage.Writer) error { _, err := w.GetIssuer(ctx, "nope"); return err }},
		{"GetSession", func(ctx context.Context, w storage.Writer) error { _, err := w.GetSession(ctx, "nope"); return err }},
		{"GetToken", func(ctx context.Context, w storage.Writer) error { _, err := w.GetToken(ctx, "nope"); return err }},
		{"DeleteClient", func(ctx context.Context, w storage.Writer) error { return w.DeleteClient(ctx, "nope") }},
		{"DeleteResource", func(ctx context.Context, w storage.Writer) error { return w.DeleteResource(ctx, "nope") }},
		{"DeleteIssuer", func(ctx context.Context, w storage.Writer) error { return w.DeleteIssuer(ctx, "nope") }},
		{"PutSession", func(ctx context.Context, w storage.Writer) error {
			return w.PutSession(ctx, newSession("nope", "c1", t0))
		}},
		{"PutToken", func(ctx context.Context, w storage.Writer) error { return w.PutToken(ctx, newToken("nope", "s1", t0)) }},
		{"CreateToken unknown session", func(ctx context.Context, w storage.Writer) error {
			return w.CreateToken(ctx, newToken("t2", "nope", t0))
		}},
		{"PutToken to unknown session", func(ctx context.Context, w storage.Writer) error {
			return w.PutToken(ctx, newToken("t1", "nope", t0))
		}},
		{"AppendEvent unknown session", func(ctx context.Context, w storage.Writer) error {
			return w.AppendEvent(ctx, newEvent("nope", "x"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Update(t.Context(), func(w storage.Writer) error { return tt.op(t.Context(), w) })
			isErr(t, tt.name, err, storage.ErrNotFound)
		})
	}
	for name, read := range map[string]func(ctx context.Context) error{
		"GetClient":  func(ctx context.Context) error { _, err := s.GetClient(ctx, "nope"); return err },
		"GetSession": func(ctx context.Context) error { _, err := s.GetSession(ctx, "nope"); return err },
		"GetToken":   func(ctx context.Context) error { _, err := s.GetToken(ctx, "nope"); return err },
	} {
		isErr(t, "store "+name, read(t.Context()), storage.ErrNotFound)
	}
	tok := get(t, "GetToken", func(ctx context.Context) (storage.Token, error) { return s.GetToken(ctx, "t1") })
	equal(t, "token after refused move", tok.SessionID, "s1")
}

// testAlreadyExists checks every operation that must report storage.ErrAlreadyExists.
func testAlreadyExists(t *testing.T, s storage.Store) {
	seedSessions(t, s, "s1")
	update(t, s, func(ctx context.Context, w storage.Writer) error { return w.CreateToken(ctx, newToken("t1", "s1", t0)) })
	tests := []struct {
		name string
		op   func(ctx context.Context, w storage.Writer) error
	}{
		{"CreateSession", func(ctx context.Context, w storage.Writer) error {
			return w.CreateSession(ctx, newSession("s1", "c2", t0))
		}},
		{"CreateSession twice in one Update", func(ctx context.Context, w storage.Writer) error {
			if err := w.CreateSession(ctx, newSession("s2", "c1", t0)); err != nil {
				return fmt.Errorf("first CreateSession: %v", err) // %v: must not match the sentinel
			}
			return w.CreateSession(ctx, newSession("s2", "c1", t0))
		}},
		{"CreateToken", func(ctx context.Context, w storage.Writer) error { return w.CreateToken(ctx, newToken("t1", "s1", t0)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Update(t.Context(), func(w storage.Writer) error { return tt.op(t.Context(), w) })
			isErr(t, tt.name, err, storage.ErrAlreadyExists)
		})
	}
	sess := get(t, "GetSession", func(ctx context.Context) (storage.Session, error) { return s.GetSession(ctx, "s1") })
	equal(t, "session unchanged by refused create", sess, newSession("s1", "c1", t0))
}

// testDelete removes clients, resources and issuers and recreates them.
func testDelete(t *testing.T, s storage.Store) {
	write := func(ctx context.Context, w storage.Writer) error {
		return errorsJoin(w.PutClient(ctx, newClient("c1")), w.PutResource(ctx, newResource("aud")),
			w.PutIssuer(ctx, newIssuer("https://iss")))
	}
	update(t, s, write)
	update(t, s, func(ctx context.Context, w storage.Writer) error {
		return errorsJoin(w.DeleteClient(ctx, "c1"), w.DeleteResource(ctx, "aud"), w.DeleteIssuer(ctx, "https://iss"))
	})
	_, err := s.GetClient(t.Context(), "c1")
	isErr(t, "GetClient after delete", err, storage.ErrNotFound)
	_, err = s.GetResource(t.Context(), "aud")
	isErr(t, "GetResource after delete", err, storage.ErrNotFound)
	_, err = s.GetIssuer(t.Context(), "https://iss")
	isErr(t, "GetIssuer after delete", err, storage.ErrNotFound)
	equal(t, "ListClients after delete", len(get(t, "ListClients", s.ListClients)), 0)
	equal(t, "ListResources after delete", len(get(t, "ListResources", s.ListResources)), 0)
	equal(t, "ListIssuers after delete", len(get(t, "ListIssuers", s.ListIssuers)), 0)
	update(t, s, write)
	equal(t, "client recreated", get(t, "GetClient", func(ctx context.Context) (storage.Client, error) {
		return s.GetClient(ctx, "c1")
	}), newClient("c1"))
}

// testEmptyKeyRefused checks that no record can be stored under an empty key.
func testEmptyKeyRefused(t *testing.T, s storage.Store) {
	tests := []struct {
		name string
		op   func(ctx context.Context, w storage.Writer) error
	}{
		{"PutClient", func(ctx context.Context, w storage.Writer) error { return w.PutClient(ctx, storage.Client{}) }},
		{"PutResource", func(ctx context.Context, w storage.Writer) error { return w.PutResource(ctx, storage.Resource{}) }},
		{"PutIssuer", func(ctx context.Context, w storage.Writer) error { return w.PutIssuer(ctx, storage.Issuer{}) }},
		{"CreateSession", func(ctx context.Context, w storage.Writer) error { return w.CreateSession(ctx, storage.Session{}) }},
		{"CreateToken", func(ctx context.Context, w storage.Writer) error { return w.CreateToken(ctx, storage.Token{}) }},
		{"PutKey", func(ctx context.Context, w storage.Writer) error { return w.PutKey(ctx, storage.Key{}) }},
		{"UseJTI", func(ctx context.Context, w storage.Writer) error { return w.UseJTI(ctx, "", at(time.Hour), t0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Update(t.Context(), func(w storage.Writer) error { return tt.op(t.Context(), w) }); err == nil {
				t.Errorf("%s with an empty key succeeded", tt.name)
			}
		})
	}
	equal(t, "clients", len(get(t, "ListClients", s.ListClients)), 0)
}

package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// copyCase checks that one record kind is copied in and out: mutating the
// value passed to a write, or a value returned by a read, through its
// slices, maps and pointers never changes what the store holds.
type copyCase[T any] struct {
	fixture func(id string) T
	write   func(ctx context.Context, w storage.Writer, v T) error
	read    func(ctx context.Context, r storage.Reader, id string) (T, error)
	mutate  func(v T) // changes memory that v shares through slices and pointers
}

func (c copyCase[T]) run(t *testing.T, s storage.Store) {
	in := c.fixture("copy-1")
	update(t, s, func(ctx context.Context, w storage.Writer) error { return c.write(ctx, w, in) })
	c.mutate(in)
	got := get(t, "read", func(ctx context.Context) (T, error) { return c.read(ctx, s, "copy-1") })
	equal(t, "after mutating the written value", got, c.fixture("copy-1"))
	c.mutate(got)
	got = get(t, "read", func(ctx context.Context) (T, error) { return c.read(ctx, s, "copy-1") })
	equal(t, "after mutating a returned value", got, c.fixture("copy-1"))

	update(t, s, func(ctx context.Context, w storage.Writer) error {
		in := c.fixture("copy-2")
		if err := c.write(ctx, w, in); err != nil {
			return err
		}
		c.mutate(in)
		v, err := c.read(ctx, w, "copy-2")
		if err != nil {
			return fmt.Errorf("read inside Update: %v", err)
		}
		if err := diff("inside Update, after mutating the written value", v, c.fixture("copy-2")); err != nil {
			return err
		}
		c.mutate(v)
		v, err = c.read(ctx, w, "copy-2")
		if err != nil {
			return fmt.Errorf("read inside Update: %v", err)
		}
		return diff("inside Update, after mutating a returned value", v, c.fixture("copy-2"))
	})
	got = get(t, "read", func(ctx context.Context) (T, error) { return c.read(ctx, s, "copy-2") })
	equal(t, "after an Update that mutated its values", got, c.fixture("copy-2"))
}

// find returns the element of recs whose id is id.
func find[T any](recs []T, err error, id string, idOf func(T) string) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	for _, r := range recs {
		if idOf(r) == id {
			return r, nil
		}
	}
	return zero, fmt.Errorf("%q not listed: %w", id, storage.ErrNotFound)
}

func testReturnsCopies(t *testing.T, s storage.Store) {
	seedSessions(t, s, "s1", "copy-1", "copy-2")
	tests := []struct {
		name string
		run  func(t *testing.T, s storage.Store)
	}{
		{"client", clientCopies(func(ctx context.Context, r storage.Reader, id string) (storage.Client, error) {
			return r.GetClient(ctx, id)
		}).run},
		{"listed client", clientCopies(func(ctx context.Context, r storage.Reader, id string) (storage.Client, error) {
			cs, err := r.ListClients(ctx)
			return find(cs, err, id, func(c storage.Client) string { return c.ID })
		}).run},
		{"issuer", copyCase[storage.Issuer]{
			fixture: newIssuer,
			write:   func(ctx context.Context, w storage.Writer, v storage.Issuer) error { return w.PutIssuer(ctx, v) },
			read: func(ctx context.Context, r storage.Reader, id string) (storage.Issuer, error) {
				is, err := r.ListIssuers(ctx)
				return find(is, err, id, func(i storage.Issuer) string { return i.Issuer })
			},
			mutate: func(v storage.Issuer) {
				v.JWKS[1], v.Algorithms[0], v.Subjects[0].ClientID, v.Scopes[0], v.Audiences[0] = 'X', "x", "x", "x", "x"
			},
		}.run},
		{"session", sessionCopies("get-", func(ctx context.Context, r storage.Reader, id string) (storage.Session, error) {
			return r.GetSession(ctx, id)
		}).run},
		{"listed session", sessionCopies("list-", func(ctx context.Context, r storage.Reader, id string) (storage.Session, error) {
			ss, err := r.ListSessions(ctx, storage.SessionFilter{ClientID: "c-copy"})
			return find(ss, err, id, func(s storage.Session) string { return s.ID })
		}).run},
		{"token", tokenCopies("get-", func(ctx context.Context, r storage.Reader, id string) (storage.Token, error) {
			return r.GetToken(ctx, id)
		}).run},
		{"listed token", tokenCopies("list-", func(ctx context.Context, r storage.Reader, id string) (storage.Token, error) {
			ts, err := r.ListSessionTokens(ctx, "s1")
			return find(ts, err, id, func(t storage.Token) string { return t.ID })
		}).run},
		{"events", copyCase[[]storage.Event]{
			fixture: func(id string) []storage.Event {
				e := newEvent(id, "copied")
				e.Seq = 1
				return []storage.Event{e}
			},
			write: func(ctx context.Context, w storage.Writer, v []storage.Event) error { return w.AppendEvent(ctx, v[0]) },
			read: func(ctx context.Context, r storage.Reader, id string) ([]storage.Event, error) {
				return r.ListEvents(ctx, id)
			},
			mutate: func(v []storage.Event) { v[0].Reasons[0].Code, v[0].Detail = "x", "x" },
		}.run},
		{"key", copyCase[storage.Key]{
			fixture: func(id string) storage.Key { return newKey(id, t0) },
			write:   func(ctx context.Context, w storage.Writer, v storage.Key) error { return w.PutKey(ctx, v) },
			read: func(ctx context.Context, r storage.Reader, id string) (storage.Key, error) {
				ks, err := r.ListKeys(ctx)
				return find(ks, err, id, func(k storage.Key) string { return k.ID })
			},
			mutate: func(v storage.Key) { v.Private[0], v.Public[0] = 'x', 'x' },
		}.run},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, s) })
	}
}

func clientCopies(read func(ctx context.Context, r storage.Reader, id string) (storage.Client, error)) copyCase[storage.Client] {
	return copyCase[storage.Client]{
		fixture: newClient,
		write:   func(ctx context.Context, w storage.Writer, v storage.Client) error { return w.PutClient(ctx, v) },
		read:    read,
		mutate: func(v storage.Client) {
			v.JWKS[2] = 'X'
			v.GrantTypes[0], v.Scopes[0], v.Audiences[0], v.Introspect[0] = "x", "x", "x", "x"
			v.MayAct[0], v.Networks[0], v.Purposes[0], v.Schedule.Days = "x", "x", "x", "x"
			v.AssertionCompat.MaxLifetime = storage.Duration(time.Hour)
		},
	}
}

func sessionCopies(prefix string, read func(ctx context.Context, r storage.Reader, id string) (storage.Session, error)) copyCase[storage.Session] {
	return copyCase[storage.Session]{
		fixture: func(id string) storage.Session { return newSession(prefix+id, "c-copy", t0) },
		write:   func(ctx context.Context, w storage.Writer, v storage.Session) error { return w.CreateSession(ctx, v) },
		read: func(ctx context.Context, r storage.Reader, id string) (storage.Session, error) {
			return read(ctx, r, prefix+id)
		},
		mutate: func(v storage.Session) { v.Facts[0].Code = "x" },
	}
}

func tokenCopies(prefix string, read func(ctx context.Context, r storage.Reader, id string) (storage.Token, error)) copyCase[storage.Token] {
	return copyCase[storage.Token]{
		fixture: func(id string) storage.Token { return newToken(prefix+id, "s1", t0) },
		write:   func(ctx context.Context, w storage.Writer, v storage.Token) error { return w.CreateToken(ctx, v) },
		read: func(ctx context.Context, r storage.Reader, id string) (storage.Token, error) {
			return read(ctx, r, prefix+id)
		},
		mutate: func(v storage.Token) { v.Scopes[0], v.Audiences[0], v.Actors[0], v.MayAct[0] = "x", "x", "x", "x" },
	}
}

package memory

import (
	"slices"

	"github.com/vigil-auth/vigil/storage"
)

// layer is one record kind seen through a transaction: committed values in
// base and the transaction's pending writes in over. A nil over means no
// writes yet; reads never allocate it.
type layer[V any] struct {
	base map[string]V
	over map[string]pending[V]
}

// pending is a buffered write: a new value, or a deletion.
type pending[V any] struct {
	v       V
	deleted bool
}

func (l *layer[V]) get(k string) (V, bool) {
	if p, ok := l.over[k]; ok {
		return p.v, !p.deleted
	}
	v, ok := l.base[k]
	return v, ok
}

func (l *layer[V]) put(k string, v V) { l.set(k, pending[V]{v: v}) }

func (l *layer[V]) del(k string) { l.set(k, pending[V]{deleted: true}) }

func (l *layer[V]) set(k string, p pending[V]) {
	if l.over == nil {
		l.over = map[string]pending[V]{}
	}
	l.over[k] = p
}

// each calls fn for every live record, committed or pending, in no order.
func (l *layer[V]) each(fn func(k string, v V)) {
	for k, v := range l.base {
		if _, ok := l.over[k]; !ok {
			fn(k, v)
		}
	}
	for k, p := range l.over {
		if !p.deleted {
			fn(k, p.v)
		}
	}
}

// values returns every live record with clone applied, ordered by key.
func values[V any](l *layer[V], clone func(V) V) []V {
	keys := make([]string, 0, len(l.base)+len(l.over))
	l.each(func(k string, _ V) { keys = append(keys, k) })
	slices.Sort(keys)
	out := make([]V, 0, len(keys))
	for _, k := range keys {
		v, _ := l.get(k)
		out = append(out, clone(v))
	}
	return out
}

// commit applies the pending writes to base.
func (l *layer[V]) commit() {
	for k, p := range l.over {
		if p.deleted {
			delete(l.base, k)
		} else {
			l.base[k] = p.v
		}
	}
}

// cloneSlice returns a copy of s that shares no memory with it. Empty slices
// come back nil, as they do from a backend that serializes records.
func cloneSlice[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

func cloneResource(r storage.Resource) storage.Resource { return r }

func cloneEvent(e storage.Event) storage.Event {
	e.Reasons = cloneSlice(e.Reasons)
	return e
}

func cloneKey(k storage.Key) storage.Key {
	k.Private = cloneSlice(k.Private)
	k.Public = cloneSlice(k.Public)
	return k
}

func cloneInitialToken(t storage.InitialAccessToken) storage.InitialAccessToken {
	t.Kinds = cloneSlice(t.Kinds)
	t.GrantTypes = cloneSlice(t.GrantTypes)
	t.Scopes = cloneSlice(t.Scopes)
	t.Audiences = cloneSlice(t.Audiences)
	t.AuthMethods = cloneSlice(t.AuthMethods)
	return t
}

func cloneRegistration(r storage.Registration) storage.Registration {
	r.Metadata = cloneSlice(r.Metadata)
	return r
}

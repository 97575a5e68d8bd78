package admin

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/storage"
)

// kind describes a record type served with plain CRUD (resources and
// trusted issuers): keyed by one string field, validated whole.
type kind[T any] struct {
	name   string // "resource"
	plural string // "resources", the list member and path segment
	param  string // the key's JSON name and query parameter: "audience"
	key    func(T) string
	setKey func(*T, string)
	times  func(*T) (created, updated *time.Time)
	// source addresses the record's Source, which the admin API clears:
	// a record it writes is its own, not the configuration file's.
	source func(*T) *string
	valid  func(T) error
	// taken reports a registered record other than key whose key has the
	// same canonical form (storage.ResourceTaken, storage.IssuerTaken).
	taken func(context.Context, storage.Reader, string) error
	get   func(storage.Reader, context.Context, string) (T, error)
	list  func(storage.Reader, context.Context) ([]T, error)
	put   func(storage.Writer, context.Context, T) error
	del   func(storage.Writer, context.Context, string) error
}

func resourceKind() kind[storage.Resource] {
	return kind[storage.Resource]{
		name: "resource", plural: "resources", param: "audience",
		key:    func(r storage.Resource) string { return r.Audience },
		setKey: func(r *storage.Resource, k string) { r.Audience = k },
		times:  func(r *storage.Resource) (*time.Time, *time.Time) { return &r.CreatedAt, &r.UpdatedAt },
		source: func(r *storage.Resource) *string { return &r.Source },
		valid:  storage.Resource.Validate,
		taken:  storage.ResourceTaken,
		get:    storage.Reader.GetResource,
		list:   storage.Reader.ListResources,
		put:    storage.Writer.PutResource,
		del:    storage.Writer.DeleteResource,
	}
}

func issuerKind() kind[storage.Issuer] {
	return kind[storage.Issuer]{
		name: "issuer", plural: "issuers", param: "issuer",
		key:    func(i storage.Issuer) string { return i.Issuer },
		setKey: func(i *storage.Issuer, k string) { i.Issuer = k },
		times:  func(i *storage.Issuer) (*time.Time, *time.Time) { return &i.CreatedAt, &i.UpdatedAt },
		source: func(i *storage.Issuer) *string { return &i.Source },
		valid:  storage.Issuer.Validate,
		taken:  storage.IssuerTaken,
		get:    storage.Reader.GetIssuer,
		list:   storage.Reader.ListIssuers,
		put:    storage.Writer.PutIssuer,
		del:    storage.Writer.DeleteIssuer,
	}
}

// collection serves /admin/{plural}: GET lists, POST creates; with
// ?{param}=KEY, GET, PUT and DELETE address that record.
func collection[T any](a *API, k kind[T]) methods {
	byQuery := func(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			key, ok := r.URL.Query()[k.param]
			if !ok {
				a.fail(w, r, badRequest("%s needs ?%s= to name the %s", r.Method, k.param, k.name))
				return
			}
			h(w, r, key[0])
		}
	}
	return methods{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request) {
			if key, ok := r.URL.Query()[k.param]; ok {
				getRecord(a, k, w, r, key[0])
				return
			}
			listRecords(a, k, w, r)
		},
		http.MethodPost:   func(w http.ResponseWriter, r *http.Request) { createRecord(a, k, w, r) },
		http.MethodPut:    byQuery(func(w http.ResponseWriter, r *http.Request, key string) { putRecord(a, k, w, r, key) }),
		http.MethodDelete: byQuery(func(w http.ResponseWriter, r *http.Request, key string) { deleteRecord(a, k, w, r, key) }),
	}
}

// item serves /admin/{plural}/{key}.
func item[T any](a *API, k kind[T]) methods {
	return methods{
		http.MethodGet:    func(w http.ResponseWriter, r *http.Request) { getRecord(a, k, w, r, web.Var(r, "key")) },
		http.MethodPut:    func(w http.ResponseWriter, r *http.Request) { putRecord(a, k, w, r, web.Var(r, "key")) },
		http.MethodDelete: func(w http.ResponseWriter, r *http.Request) { deleteRecord(a, k, w, r, web.Var(r, "key")) },
	}
}

func listRecords[T any](a *API, k kind[T], w http.ResponseWriter, r *http.Request) {
	recs, err := k.list(a.d.Store, r.Context())
	if err != nil {
		a.fail(w, r, storeErr(err, k.plural))
		return
	}
	if recs == nil {
		recs = []T{}
	}
	writeJSON(w, http.StatusOK, map[string]any{k.plural: recs})
}

func getRecord[T any](a *API, k kind[T], w http.ResponseWriter, r *http.Request, key string) {
	rec, err := k.get(a.d.Store, r.Context(), key)
	if err != nil {
		a.fail(w, r, storeErr(err, k.name+" "+key))
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

// decodeRecord reads a record body; server-managed timestamps and source
// are ignored.
func decodeRecord[T any](k kind[T], w http.ResponseWriter, r *http.Request) (T, error) {
	var rec T
	if err := decodeBody(w, r, &rec); err != nil {
		return rec, err
	}
	c, u := k.times(&rec)
	*c, *u = time.Time{}, time.Time{}
	*k.source(&rec) = ""
	return rec, nil
}

func createRecord[T any](a *API, k kind[T], w http.ResponseWriter, r *http.Request) {
	rec, err := decodeRecord(k, w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := k.valid(rec); err != nil {
		a.fail(w, r, invalid(k.name, err))
		return
	}
	key := k.key(rec)
	c, u := k.times(&rec)
	now := a.d.Now()
	*c, *u = now, now
	err = a.d.Store.Update(r.Context(), func(wr storage.Writer) error {
		if _, err := k.get(wr, r.Context(), key); err == nil {
			return storage.ErrAlreadyExists
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if err := k.taken(r.Context(), wr, key); err != nil {
			return err
		}
		if err := k.put(wr, r.Context(), rec); err != nil {
			return err
		}
		return a.auditIn(r.Context(), wr, storage.AuditRecord{Outcome: "created", Detail: k.name + " " + key})
	})
	if err != nil {
		a.fail(w, r, storeErr(err, k.name+" "+key))
		return
	}
	a.d.Log.InfoContext(r.Context(), "admin: "+k.name+" created", k.param, key)
	w.Header().Set("Location", "/admin/"+k.plural+"?"+url.Values{k.param: {key}}.Encode())
	writeJSON(w, http.StatusCreated, rec)
}

// putRecord replaces an existing record whole.
func putRecord[T any](a *API, k kind[T], w http.ResponseWriter, r *http.Request, key string) {
	rec, err := decodeRecord(k, w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if got := k.key(rec); got != "" && got != key {
		a.fail(w, r, badRequest("%s %q in the body does not match %q; it cannot change", k.param, got, key))
		return
	}
	k.setKey(&rec, key)
	if err := k.valid(rec); err != nil {
		a.fail(w, r, invalid(k.name, err))
		return
	}
	err = a.d.Store.Update(r.Context(), func(wr storage.Writer) error {
		prev, err := k.get(wr, r.Context(), key)
		if err != nil {
			return err
		}
		pc, _ := k.times(&prev)
		c, u := k.times(&rec)
		*c, *u = *pc, a.d.Now()
		if err := k.put(wr, r.Context(), rec); err != nil {
			return err
		}
		return a.auditIn(r.Context(), wr, storage.AuditRecord{Outcome: "updated", Detail: k.name + " " + key})
	})
	if err != nil {
		a.fail(w, r, storeErr(err, k.name+" "+key))
		return
	}
	a.d.Log.InfoContext(r.Context(), "admin: "+k.name+" updated", k.param, key)
	writeJSON(w, http.StatusOK, rec)
}

func deleteRecord[T any](a *API, k kind[T], w http.ResponseWriter, r *http.Request, key string) {
	err := a.d.Store.Update(r.Context(), func(wr storage.Writer) error {
		if err := k.del(wr, r.Context(), key); err != nil {
			return err
		}
		return a.auditIn(r.Context(), wr, storage.AuditRecord{Outcome: "deleted", Detail: k.name + " " + key})
	})
	if err != nil {
		a.fail(w, r, storeErr(err, k.name+" "+key))
		return
	}
	a.d.Log.InfoContext(r.Context(), "admin: "+k.name+" deleted", k.param, key)
	w.WriteHeader(http.StatusNoContent)
}

package admin

import (
	"net/http"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// KeyOutput describes a signing key without any key material.
type KeyOutput struct {
	ID           string    `json:"kid"`
	Alg          string    `json:"alg"`
	Active       bool      `json:"active"`
	CreatedAt    time.Time `json:"created_at"`
	RetiredAt    time.Time `json:"retired_at,omitzero"`
	PublishUntil time.Time `json:"publish_until,omitzero"`
}

func (a *API) keyList(w http.ResponseWriter, r *http.Request, status int) {
	ks, err := a.d.Store.ListKeys(r.Context())
	if err != nil {
		a.fail(w, r, storeErr(err, "keys"))
		return
	}
	out := make([]KeyOutput, 0, len(ks))
	for _, k := range ks {
		out = append(out, KeyOutput{ID: k.ID, Alg: k.Alg, Active: k.RetiredAt.IsZero(),
			CreatedAt: k.CreatedAt, RetiredAt: k.RetiredAt, PublishUntil: k.PublishUntil})
	}
	writeJSON(w, status, map[string]any{"keys": out})
}

// listKeys answers GET /admin/keys, oldest first.
func (a *API) listKeys(w http.ResponseWriter, r *http.Request) {
	if a.d.Keys == nil {
		a.fail(w, r, notFound("key management is not available"))
		return
	}
	a.keyList(w, r, http.StatusOK)
}

// rotateKeys answers POST /admin/keys/rotate: a new active key signs from
// now on; the old one stays published until its tokens expire.
func (a *API) rotateKeys(w http.ResponseWriter, r *http.Request) {
	if a.d.Keys == nil {
		a.fail(w, r, notFound("key management is not available"))
		return
	}
	ctx := r.Context()
	if err := a.d.Keys.Rotate(ctx); err != nil {
		a.fail(w, r, storeErr(err, "keys"))
		return
	}
	err := a.d.Store.Update(ctx, func(wr storage.Writer) error {
		return a.auditIn(ctx, wr, storage.AuditRecord{Outcome: "key_rotated", Detail: "signing key"})
	})
	if err != nil {
		a.fail(w, r, storeErr(err, "keys"))
		return
	}
	a.d.Log.InfoContext(ctx, "admin: signing key rotated")
	a.keyList(w, r, http.StatusOK)
}

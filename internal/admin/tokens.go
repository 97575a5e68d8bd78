package admin

import (
	"net/http"

	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/storage"
)

// revokeToken answers POST /admin/tokens/{id}/revoke: the token with that
// id (the base64url SHA-256 of its value, as session details list it) is
// revoked with every token derived from it, durably, before the answer.
// Revoking a revoked token succeeds.
func (a *API) revokeToken(w http.ResponseWriter, r *http.Request) {
	if a.d.Tokens == nil {
		a.fail(w, r, notFound("token revocation is not enabled"))
		return
	}
	id := web.Var(r, "id")
	ctx := r.Context()
	t, err := a.d.Store.GetToken(ctx, id)
	if err != nil {
		a.fail(w, r, storeErr(err, "token "+id))
		return
	}
	if err := a.d.Tokens.RevokeToken(ctx, id); err != nil {
		a.fail(w, r, storeErr(err, "token "+id))
		return
	}
	err = a.d.Store.Update(ctx, func(wr storage.Writer) error {
		return a.auditIn(ctx, wr, storage.AuditRecord{ClientID: t.ClientID, SessionID: t.SessionID,
			Outcome: "revoked", Detail: t.Kind + " " + id})
	})
	if err != nil {
		a.fail(w, r, storeErr(err, "token "+id))
		return
	}
	a.d.Log.InfoContext(ctx, "admin: token revoked", "session", t.SessionID, "client_id", t.ClientID)
	writeJSON(w, http.StatusOK, map[string]any{"revoked": id, "sid": t.SessionID})
}

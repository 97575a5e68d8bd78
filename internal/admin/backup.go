package admin

import (
	"io"
	"net/http"
	"strconv"

	"github.com/vigil-auth/vigil/storage"
)

// Backuper writes a consistent copy of the whole database while the server
// runs. storage/bolt implements it.
type Backuper interface {
	Backup(w io.Writer) (int64, error)
}

// backup serves POST /admin/backup: the database file, consistent as of
// one commit, as application/octet-stream. It holds every registration,
// hashed secret and encrypted signing key, so it takes the admin role
// (POST), and the copy must be kept like the data directory itself.
func (a *API) backup(w http.ResponseWriter, r *http.Request) {
	b, ok := a.d.Store.(Backuper)
	if !ok {
		a.fail(w, r, notFound("this storage backend has no online backup; use its own tools"))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "no-store")
	n, err := b.Backup(w)
	if err != nil {
		a.d.Log.ErrorContext(r.Context(), "admin: backup failed", "bytes", n, "err", err)
		if n == 0 {
			a.fail(w, r, storeErr(err, "database"))
		}
		return
	}
	a.d.Log.InfoContext(r.Context(), "admin: backup written", "bytes", strconv.FormatInt(n, 10))
	_ = a.d.Store.Update(r.Context(), func(wr storage.Writer) error {
		return a.auditIn(r.Context(), wr, storage.AuditRecord{Outcome: "backup", Detail: "database backup, " + strconv.FormatInt(n, 10) + " bytes"})
	})
}

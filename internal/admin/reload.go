package admin

import (
	"context"
	"errors"
	"net/http"

	"github.com/vigil-auth/vigil/internal/config"
)

// ErrInvalidConfig marks a reload refused because the configuration file
// does not load or validate; nothing was applied.
var ErrInvalidConfig = errors.New("invalid configuration")

// Reloader re-reads the configuration file and applies it all or nothing
// (POST /admin/reload, and SIGHUP). An error wrapping ErrInvalidConfig
// means the file was refused and nothing changed.
type Reloader interface {
	Reload(ctx context.Context) (ReloadOutput, error)
}

// ReloadOutput is the answer of POST /admin/reload.
type ReloadOutput struct {
	config.Result
	// TerminatedSessions are the sessions of disabled clients, ended.
	TerminatedSessions []string `json:"terminated_sessions"`
	// RestartRequired names the settings (and "policy") whose new values
	// in the file take effect only when the server restarts.
	RestartRequired []string `json:"restart_required"`
}

// reload answers POST /admin/reload: 200 with what changed, 400 when the
// file is refused (nothing applied), 404 when the server runs without a
// configuration file.
func (a *API) reload(w http.ResponseWriter, r *http.Request) {
	if a.d.Reload == nil {
		a.fail(w, r, notFound("the server runs without a configuration file; there is nothing to reload"))
		return
	}
	out, err := a.d.Reload.Reload(r.Context())
	switch {
	case errors.Is(err, ErrInvalidConfig):
		a.fail(w, r, invalid("configuration refused, nothing applied", err))
		return
	case err != nil:
		a.fail(w, r, storeErr(err, "configuration"))
		return
	}
	writeJSON(w, http.StatusOK, out.orEmpty())
}

// orEmpty answers every list as a JSON array, never null.
func (o ReloadOutput) orEmpty() ReloadOutput {
	for _, l := range []*[]string{&o.Disabled, &o.Removed, &o.TerminatedSessions, &o.RestartRequired} {
		if *l == nil {
			*l = []string{}
		}
	}
	return o
}

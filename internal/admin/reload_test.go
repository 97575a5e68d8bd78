package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigil-auth/vigil/internal/admin"
	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/storage/memory"
)

type fakeReloader struct {
	out   admin.ReloadOutput
	err   error
	calls int
}

func (f *fakeReloader) Reload(context.Context) (admin.ReloadOutput, error) {
	f.calls++
	return f.out, f.err
}

func TestReload(t *testing.T) {
	fr := &fakeReloader{}
	mount := func(rl admin.Reloader) *httptest.Server {
		d := admin.Deps{Store: memory.New()}
		if rl != nil {
			d.Reload = rl
		}
		r := web.NewRouter()
		admin.New(adminToken, d).Mount(r)
		srv := httptest.NewServer(r)
		t.Cleanup(srv.Close)
		return srv
	}
	post := func(srv *httptest.Server, auth string) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+"/admin/reload", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		b.Write(readAll(t, resp))
		return resp.StatusCode, b.String()
	}
	srv := mount(fr)
	fr.out = admin.ReloadOutput{Result: config.Result{Changed: 2, Disabled: []string{"gone"}, Removed: []string{"resource r"}},
		TerminatedSessions: []string{"ses_1"}, RestartRequired: []string{"listen"}}
	code, body := post(srv, "Bearer "+adminToken)
	if code != http.StatusOK || !strings.Contains(body, `"disabled_clients":["gone"]`) || !strings.Contains(body, `"terminated_sessions":["ses_1"]`) ||
		!strings.Contains(body, `"restart_required":["listen"]`) || !strings.Contains(body, `"changed":2`) {
		t.Fatalf("reload = %d %s", code, body)
	}
	fr.err = fmt.Errorf("vigil.yaml: line 3: clients[0]: %w", admin.ErrInvalidConfig)
	if code, body := post(srv, "Bearer "+adminToken); code != http.StatusBadRequest || !strings.Contains(body, "line 3") || !strings.Contains(body, "nothing applied") {
		t.Fatalf("refused reload = %d %s", code, body)
	}
	calls := fr.calls
	if code, _ := post(srv, ""); code != http.StatusUnauthorized || fr.calls != calls {
		t.Fatalf("reload without the admin token = %d (calls %d)", code, fr.calls)
	}
	if code, _ := post(mount(nil), "Bearer "+adminToken); code != http.StatusNotFound {
		t.Fatalf("reload without a configuration file = %d", code)
	}
}

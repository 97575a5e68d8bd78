package config_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/memory"
)

const fullFile = `
clients:
  - {id: keep, kind: agent, secret: keep-secret-0001}
  - {id: gone, kind: agent, secret: gone-secret-0002}
resources:
  - {audience: https://keep.example, sensitivity: 1}
  - {audience: https://gone.example, sensitivity: 2}
trusted_issuers:
  - issuer: https://ci.example
    jwks_uri: https://ci.example/jwks
    audience: vigil
    subjects: [{subject: "repo:*", client_id: keep}]
`

const shrunkFile = `
clients:
  - {id: keep, kind: agent, secret: keep-secret-0001}
resources:
  - {audience: https://keep.example, sensitivity: 1}
`

func parse(t *testing.T, s string) *config.File {
	t.Helper()
	f, err := config.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestReconcileRetiresWhatTheFileNoLongerDeclares: a client removed from
// the file is disabled, a resource or issuer deleted; records made through
// the admin API stay; declaring the client again enables it.
func TestReconcileRetiresWhatTheFileNoLongerDeclares(t *testing.T) {
	ctx := t.Context()
	store, h := memory.New(), hasher(t)
	if _, err := parse(t, fullFile).Reconcile(ctx, store, h, t0); err != nil {
		t.Fatal(err)
	}
	err := store.Update(ctx, func(w storage.Writer) error {
		return errors.Join(
			w.PutClient(ctx, storage.Client{ID: "by-admin", Kind: storage.KindService, SecretHash: h.Hash("by-admin-secret-1")}),
			w.PutResource(ctx, storage.Resource{Audience: "https://admin.example", Sensitivity: 1}))
	})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := store.GetClient(ctx, "gone")
	if c.Source != storage.SourceConfig || c.Disabled {
		t.Fatalf("declared client = %+v", c)
	}

	res, err := parse(t, shrunkFile).Reconcile(ctx, store, h, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Disabled, []string{"gone"}) || !slices.Equal(res.Removed, []string{"resource https://gone.example", "trusted issuer https://ci.example"}) || res.Changed != 3 {
		t.Fatalf("result = %+v", res)
	}
	if c, _ := store.GetClient(ctx, "gone"); !c.Disabled || !c.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("removed client = %+v, want disabled", c)
	}
	if _, err := store.GetResource(ctx, "https://gone.example"); err == nil {
		t.Error("removed resource still stored")
	}
	if _, err := store.GetIssuer(ctx, "https://ci.example"); err == nil {
		t.Error("removed trusted issuer still stored")
	}
	if c, err := store.GetClient(ctx, "by-admin"); err != nil || c.Disabled {
		t.Errorf("admin-made client touched: %+v %v", c, err)
	}
	if _, err := store.GetResource(ctx, "https://admin.example"); err != nil {
		t.Errorf("admin-made resource touched: %v", err)
	}
	if c, _ := store.GetClient(ctx, "keep"); c.Disabled {
		t.Error("declared client disabled")
	}
	audit, _ := store.ListAudit(ctx, storage.AuditFilter{ClientID: "gone", Newest: true, Limit: 1})
	if len(audit) != 1 || audit[0].Outcome != "disabled" {
		t.Errorf("audit of the disabled client = %+v", audit)
	}

	if res, err := parse(t, shrunkFile).Reconcile(ctx, store, h, t0.Add(2*time.Hour)); err != nil || res.Changed != 0 {
		t.Fatalf("second apply of the same file = %+v, %v; want no change", res, err)
	}
	if _, err := parse(t, fullFile).Reconcile(ctx, store, h, t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if c, _ := store.GetClient(ctx, "gone"); c.Disabled {
		t.Error("declaring the client again did not enable it")
	}
}

// TestReconcileAllOrNothing: an invalid file changes nothing, not even the
// records it would retire.
func TestReconcileAllOrNothing(t *testing.T) {
	ctx := t.Context()
	store, h := memory.New(), hasher(t)
	if _, err := parse(t, fullFile).Reconcile(ctx, store, h, t0); err != nil {
		t.Fatal(err)
	}
	bad := parse(t, "clients:\n  - {id: keep, kind: robot, secret: keep-secret-0001}\n")
	if _, err := bad.Reconcile(ctx, store, h, t0.Add(time.Hour)); err == nil {
		t.Fatal("an invalid file was applied")
	}
	for _, id := range []string{"keep", "gone"} {
		if c, err := store.GetClient(ctx, id); err != nil || c.Disabled || c.Kind != storage.KindAgent {
			t.Errorf("client %s after a refused file: %+v %v", id, c, err)
		}
	}
	if rs, _ := store.ListResources(ctx); len(rs) != 2 {
		t.Errorf("resources after a refused file: %d", len(rs))
	}
}

func TestFileCannotSetSource(t *testing.T) {
	if _, err := config.Parse([]byte("clients:\n  - {id: a, kind: agent, secret: aaaaaaaaaa, source: config}\n")); err == nil {
		t.Fatal("a file set source")
	}
}

package main

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

func TestCLIAudit(t *testing.T) {
	srv, store := adminServer(t)
	env := map[string]string{"VIGIL_ADDR": srv.URL, "VIGIL_ADMIN_TOKEN": testAdminToken}
	ctx := t.Context()
	err := store.Update(ctx, func(w storage.Writer) error {
		for _, r := range []storage.AuditRecord{
			{At: t0, Type: "issue", ClientID: "agent-1", SessionID: "ses_a", Outcome: "issued", Detail: "grant=client_credentials"},
			{At: t0.Add(time.Minute), Type: "refuse", ClientID: "agent-2", SessionID: "ses_b", Outcome: "refused", Reason: "invalid_scope: nope"},
			{At: t0.Add(2 * time.Minute), Type: "terminate", ClientID: "agent-1", SessionID: "ses_a", Outcome: "terminated"},
		} {
			if err := w.AppendAudit(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out := mustVigil(t, env, "audit", "--client", "agent-1")
	for _, want := range []string{"SEQ", "2026-03-17T10:00:00Z", "issue", "grant=client_credentials", "terminated"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit --client lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "agent-2") {
		t.Errorf("audit --client agent-1 shows another client:\n%s", out)
	}
	newest := mustVigil(t, env, "audit", "--limit", "2")
	if strings.Count(newest, "ses_") != 2 || !strings.Contains(newest, "terminated") || strings.Contains(newest, "grant=client_credentials") ||
		strings.Index(newest, "terminated") > strings.Index(newest, "refused") {
		t.Errorf("audit --limit 2 does not show the two newest, newest first:\n%s", newest)
	}
	if oldest := mustVigil(t, env, "audit", "--limit", "1", "--oldest"); !strings.Contains(oldest, "grant=client_credentials") {
		t.Errorf("audit --oldest --limit 1 does not show the oldest:\n%s", oldest)
	}
	if out := mustVigil(t, env, "audit", "--sid", "ses_b", "--json"); !strings.Contains(out, `"reason": "invalid_scope: nope"`) {
		t.Errorf("audit --sid --json =\n%s", out)
	}
	if out := mustVigil(t, env, "audit", "--since", "2026-03-17T10:01:30Z", "--limit", "5"); strings.Count(out, "ses_") != 1 {
		t.Errorf("audit --since =\n%s", out)
	}
	if _, _, err := vigil(t, env, "audit", "--since", "someday"); err == nil || !strings.Contains(err.Error(), "since") {
		t.Errorf("bad --since: %v", err)
	}
}

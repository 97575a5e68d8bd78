package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/admin"
	"github.com/vigil-auth/vigil/internal/secret"
	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/memory"
)

// signaler records the signals it receives and answers with a decision.
type signaler struct{ got []string }

func (s *signaler) Signal(_ context.Context, sid, clientID string, sig risk.Signal) (map[string]risk.Decision, error) {
	s.got = append(s.got, sid+"|"+clientID+"|"+sig.Type+"|"+sig.Level)
	return map[string]risk.Decision{"ses_1": {Action: risk.Terminate, Level: risk.LevelCritical, Score: 100}}, nil
}

func TestCLISignal(t *testing.T) {
	store := memory.New()
	h, _ := secret.NewHasher(bytes.Repeat([]byte("k"), 32))
	sig := &signaler{}
	r := web.NewRouter()
	admin.New(testAdminToken, admin.Deps{Store: store, Hasher: h, Sessions: terminator{store}, Signals: sig,
		Now: func() time.Time { return t0 }}).Mount(r)
	srv := httptest.NewServer(r)
	defer srv.Close()
	env := map[string]string{"VIGIL_ADDR": srv.URL, "VIGIL_ADMIN_TOKEN": testAdminToken}

	out := mustVigil(t, env, "signal", "send", "--client", "ticket-agent", "--type", "risk-level-change", "--level", "high")
	if !strings.Contains(out, `"terminate"`) || len(sig.got) != 1 || sig.got[0] != "|ticket-agent|risk-level-change|high" {
		t.Fatalf("out %s, got %v", out, sig.got)
	}
	if _, _, err := vigil(t, env, "signal", "send", "--type", "credential-change"); err == nil {
		t.Fatal("a signal about nobody was accepted")
	}
	audit, _ := store.ListAudit(context.Background(), storage.AuditFilter{})
	if len(audit) == 0 {
		t.Fatal("signal not audited")
	}
}

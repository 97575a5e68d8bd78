package protocol

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// admin calls Vigil's admin API (in-process only: it needs the admin token).
func (tg *target) admin(t *testing.T, method, path string, body any) result {
	t.Helper()
	if tg.srv == nil {
		t.Skip("uses Vigil's admin API: in-process Vigil only")
	}
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, tg.url+path, strings.NewReader(string(b)))
	req.Header.Set("Authorization", "Bearer conf-admin-token")
	req.Header.Set("Content-Type", "application/json")
	return tg.do(t, req)
}

// Vigil extension: CAEP-shaped security signals reach every decision.
func TestSignals(t *testing.T) {
	tests := []struct {
		name      string
		signal    map[string]any
		bySession bool
		inactive  bool
	}{
		{"session-revoked ends the session", map[string]any{"type": "session-revoked"}, true, true},
		{"credential-change about the client ends its sessions", map[string]any{"type": "credential-change"}, false, true},
		{"risk-level-change low keeps the session", map[string]any{"type": "risk-level-change", "level": "low"}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := newTarget(t)
			at := tg.cc(t, "conf-agent", "audience", "https://rs1.example").str("access_token")
			sid := tg.introspect(t, "conf-rs1", at).str("sid")
			if tt.bySession {
				tt.signal["sid"] = sid
			} else {
				tt.signal["client_id"] = "conf-agent"
			}
			r := tg.admin(t, http.MethodPost, "/admin/signals", tt.signal)
			if r.status != 200 {
				t.Fatalf("signal: %d %s", r.status, r.raw)
			}
			sessions, _ := r.body["sessions"].(map[string]any)
			if _, ok := sessions[sid]; !ok {
				t.Fatalf("answer does not name the session: %s", r.raw)
			}
			in := tg.introspect(t, "conf-rs1", at)
			if tt.inactive {
				wantInactive(t, in)
			} else if in.body["active"] != true {
				t.Fatalf("token inactive after a low signal: %s", in.raw)
			}
		})
	}
	tg := newTarget(t)
	for _, bad := range []map[string]any{
		{"type": "credential-change"},
		{"type": "risk-level-change", "client_id": "conf-agent", "level": "extreme"},
		{"type": "nonsense", "client_id": "conf-agent"},
		{"type": "session-revoked", "sid": "x", "client_id": "conf-agent"},
	} {
		if r := tg.admin(t, http.MethodPost, "/admin/signals", bad); r.status != 400 {
			t.Errorf("%v: %d %s", bad, r.status, r.raw)
		}
	}
	if r := tg.admin(t, http.MethodPost, "/admin/signals", map[string]any{"type": "session-revoked", "sid": "ses_nope"}); r.status != 404 {
		t.Errorf("unknown session: %d %s", r.status, r.raw)
	}
}

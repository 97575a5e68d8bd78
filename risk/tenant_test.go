package risk_test

import (
	"testing"
	"time"

	"github.com/vigil-auth/vigil/risk"
)

// TestNewTenantsAcrossSessions checks the client-wide side of tenant.novel:
// the tenants a client met for the first time in the last hours and days,
// against how many its history says it meets. One new tenant is
// onboarding; several in short sessions, or one more every session, add
// up, and a tenant met in a session that looked clean carries the evidence
// once the count is unlikely.
func TestNewTenantsAcrossSessions(t *testing.T) {
	billing := func(tenant string) call {
		return call{op: risk.OpExchange, aud: "billing", sens: 2, tool: "invoices.list", tenant: tenant, scopes: []string{"billing.read"}}
	}
	ledger := call{op: risk.OpExchange, aud: "directory", sens: 2, tool: "directory.get", tenant: "t-own", resTen: "t-own", scopes: []string{"billing.read"}}
	type sess struct {
		after time.Duration // before the session opens
		calls []call
	}
	every := func(after time.Duration, tenants ...string) []sess {
		var out []sess
		for _, tn := range tenants {
			out = append(out, sess{after, []call{billing("t-acme"), billing(tn)}})
		}
		return out
	}
	tests := []struct {
		name     string
		train    []call
		sessions []sess // the last call of the last session is judged
		min, max int
	}{
		// three short sessions in a quarter of an hour, each reading a
		// tenant never served: the hour's count speaks, not only the days'
		{name: "split over short sessions", sessions: every(5*time.Minute, "t-1", "t-2", "t-3"), min: 25, max: 40},
		// one new tenant, then served every session: onboarding
		{name: "one new tenant, served again", sessions: every(12*time.Hour, "t-1", "t-1", "t-1", "t-1"), min: 0, max: 0},
		{name: "one new tenant", sessions: every(12*time.Hour, "t-1"), min: 10, max: 12},
		// one more tenant each session for days, then the first of them
		// again: it is one of the several
		{name: "a tenant met in a clean session, read again", sessions: every(12*time.Hour, "t-1", "t-2", "t-3", "t-4", "t-1"), min: 15, max: 40},
		// two new tenants in one session are stepped up; the client
		// passes the challenge with its key, so they are its own doing
		// and its next session on one of them carries nothing
		{name: "tenants met in a session the client proved", sessions: []sess{
			{12 * time.Hour, []call{billing("t-acme"), billing("t-1"), billing("t-2"), {op: risk.OpRevalidate, passed: true}, billing("t-2")}},
			{12 * time.Hour, []call{billing("t-acme"), billing("t-1")}}}, min: 0, max: 0},
		// a single-tenant resource's declared tenant is named by its
		// audience: the client does not serve it on shared resources
		{name: "declared tenant read on a shared resource", train: []call{ledger},
			sessions: []sess{{12 * time.Hour, []call{ledger, billing("t-acme"), billing("t-own")}}}, min: 10, max: 12},
		{name: "declared tenant on its own resource", train: []call{ledger},
			sessions: []sess{{12 * time.Hour, []call{billing("t-acme"), ledger}}}, min: 0, max: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.train("agent", agent, "10.1.4.21", append(append(routine[:2:2], billing("t-acme")), tt.train...), 20)
			var d risk.Decision
			for _, s := range tt.sessions {
				f.at = f.at.Add(s.after)
				d = last(f.session("agent", agent, "10.1.4.21", s.calls))
			}
			t.Logf("%s = %d, %s", risk.DetTenantNovel, points(d, risk.DetTenantNovel), d.Action)
			if got := points(d, risk.DetTenantNovel); got < tt.min || got > tt.max {
				t.Errorf("%s = %d, want %d..%d; %s %v", risk.DetTenantNovel, got, tt.min, tt.max, d.Action, d.Reasons)
			}
		})
	}
}

// TestTenantFanout checks vol.fanout: a session reaching many more of the
// client's tenants than its sessions ever do, each of them served before,
// so no novelty speaks for them.
func TestTenantFanout(t *testing.T) {
	billing := func(tenant string) call {
		return call{op: risk.OpExchange, aud: "billing", sens: 2, tool: "invoices.list", tenant: tenant, scopes: []string{"billing.read"}}
	}
	tenants := []string{"a", "b", "c", "d", "e"}
	f := newFixture(t)
	for i := range 20 { // one tenant a session, in turn
		f.session("agent", agent, "10.1.4.21", append(routine[:2:2], billing(tenants[i%len(tenants)])))
		f.at = f.at.Add(12 * time.Hour)
	}
	var probe []call
	for _, tn := range tenants {
		probe = append(probe, billing(tn))
	}
	sid, _ := f.open("agent", agent, "10.1.4.21")
	d := last(f.do(sid, "agent", agent, "10.1.4.21", probe))
	if got := points(d, risk.DetFanout); got < 4 || got > 10 || points(d, risk.DetTenantNovel) != 0 {
		t.Errorf("%s = %d, want 4..10 and no tenant novelty; %v", risk.DetFanout, got, d.Reasons)
	}
}

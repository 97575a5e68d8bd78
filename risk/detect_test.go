package risk_test

import (
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/risk"
)

// TestDetectors trains a routine client, runs one probe session and checks
// the points one detector gives on the probe's last call.
func TestDetectors(t *testing.T) {
	vault := call{op: risk.OpExchange, aud: "vault", sens: 4, tactic: "credential_access", tool: "vault.read", scopes: []string{"secrets.read"}}
	finance := call{op: risk.OpExchange, aud: "finance", sens: 3, tactic: "collection", tool: "finance.get", scopes: []string{"finance.read"}}
	directory := call{op: risk.OpExchange, aud: "directory", sens: 1, tactic: "discovery", tool: "directory.lookup", scopes: []string{"tickets.read"}}
	billingSend := call{op: risk.OpExchange, aud: "billing", sens: 2, tactic: "exfiltration", tool: "invoices.list", scopes: []string{"billing.read"}}
	billing := func(tenant string) call {
		return call{op: risk.OpExchange, aud: "billing", sens: 2, tool: "invoices.list", tenant: tenant, scopes: []string{"billing.read"}, after: time.Second}
	}
	tests := []struct {
		name      string
		trainWith []call // extra calls in every training session
		probeIP   string
		probe     []call
		code      string
		min, max  int
	}{
		{name: "origin change outside declared networks", probe: append(routine[:1:1], call{op: risk.OpIntrospect, aud: "tickets", sens: 1, tool: "tickets.get", ip: "203.0.113.9"}),
			code: risk.DetOriginChange, min: 30, max: 30},
		{name: "origin change inside declared networks", probe: append(routine[:1:1], call{op: risk.OpIntrospect, aud: "tickets", sens: 1, tool: "tickets.get", ip: "10.1.9.9"}),
			code: risk.DetOriginChange, min: 8, max: 8},
		{name: "no origin change from the same network", probe: routine, code: risk.DetOriginChange, min: 0, max: 0},
		{name: "new network outside declared networks", probeIP: "198.51.100.7", probe: routine[:1], code: risk.DetNewNetwork, min: 25, max: 25},
		{name: "new subnet inside declared networks", probeIP: "10.1.77.3", probe: routine[:1], code: risk.DetNewNetwork, min: 1, max: 1},
		{name: "known network", probe: routine[:1], code: risk.DetNewNetwork, min: 0, max: 0},
		{name: "parallel use from two networks", probe: append(routine[:1:1], call{op: risk.OpIntrospect, aud: "tickets", sens: 1, tool: "tickets.get", ip: "203.0.113.9", after: 5 * time.Second}),
			code: risk.DetParallelUse, min: 20, max: 20},
		{name: "no parallel use minutes apart", probe: append(routine[:1:1], call{op: risk.OpIntrospect, aud: "tickets", sens: 1, tool: "tickets.get", ip: "203.0.113.9", after: 10 * time.Minute}),
			code: risk.DetParallelUse, min: 0, max: 0},
		// a sensitive tier adds to a new audience's novelty (6 at tier 3,
		// 10 at tier 4) when it is reached with tools the client never
		// used: new work, not its own work on another instance
		{name: "novel sensitive resource", probe: append(routine[:2:2], vault), code: risk.DetNovelResource, min: 25, max: 25},
		{name: "novel tier 3 resource", probe: append(routine[:2:2], finance), code: risk.DetNovelResource, min: 23, max: 23},
		{name: "novel tier 3 resource with new tools", trainWith: []call{finance},
			probe: append(routine[:2:2], call{op: risk.OpExchange, aud: "directory", sens: 3, tool: "directory.lookup", scopes: []string{"kb.read"}}),
			code:  risk.DetNovelResource, min: 20, max: 20},
		{name: "novel tier 3 resource with the client's own tools", trainWith: []call{finance},
			probe: append(routine[:2:2], call{op: risk.OpExchange, aud: "directory", sens: 3, tool: "finance.get", scopes: []string{"kb.read"}}),
			code:  risk.DetNovelResource, min: 14, max: 14},
		{name: "familiar sensitive resource", trainWith: []call{vault}, probe: append(routine[:2:2], vault), code: risk.DetNovelResource, min: 0, max: 0},
		{name: "novel routine resource is cheap", probe: []call{{op: risk.OpExchange, aud: "directory", sens: 1, tool: "tickets.get", scopes: []string{"tickets.read"}}},
			code: risk.DetNovelResource, min: 6, max: 6},
		{name: "tier jump to secrets", probe: append(routine[:2:2], vault), code: risk.DetTierJump, min: 15, max: 15},
		{name: "no tier jump within the usual tiers", trainWith: []call{vault}, probe: append(routine[:2:2], vault), code: risk.DetTierJump, min: 0, max: 0},
		{name: "novel tenant", trainWith: []call{billing("t-acme")}, probe: []call{billing("t-acme"), billing("t-new")}, code: risk.DetTenantNovel, min: 10, max: 10},
		{name: "declared tenant is not novel", probe: []call{{op: risk.OpExchange, aud: "billing", sens: 2, tenant: "t-own", resTen: "t-own", tool: "invoices.list"}},
			code: risk.DetTenantNovel, min: 0, max: 0},
		{name: "rate spike", probe: repeatCall(call{op: risk.OpExchange, aud: "tickets", sens: 1, tool: "tickets.get", scopes: []string{"tickets.read"}, after: time.Second}, 40),
			code: risk.DetRateSpike, min: 6, max: 20},
		{name: "tool never used", probe: []call{{op: risk.OpExchange, aud: "tickets", sens: 1, tool: "tickets.delete_all", scopes: []string{"tickets.read"}}},
			code: risk.DetRareTransition, min: 5, max: 5},
		{name: "known tools in an unseen order", trainWith: []call{kbRead}, probe: []call{routine[0], kbRead}, code: risk.DetRareTransition, min: 2, max: 2},
		{name: "several tactics, one new", trainWith: []call{finance}, probe: []call{finance, vault}, code: risk.DetMultiTactic, min: 5, max: 5},
		{name: "several tactics, one new through a routine audience never used", trainWith: []call{finance, billingSend},
			probe: []call{directory, finance, billingSend}, code: risk.DetMultiTactic, min: 3, max: 4},
		{name: "several tactics, one new through a routine audience it uses", trainWith: []call{finance, billingSend, directory},
			probe: []call{directory, finance, billingSend}, code: risk.DetMultiTactic, min: 0, max: 0},
		// the order of a sensitive read and a send is vouched for by the
		// flows the client's clean sessions showed: this data through
		// this channel, not any data through any channel
		{name: "sensitive data sent through a channel never used for it", trainWith: []call{finance, billingSend, vault},
			probe: []call{vault, billingSend}, code: risk.DetMultiTactic, min: 17, max: 20},
		{name: "sensitive data sent as the client's sessions do", trainWith: []call{finance, billingSend, vault},
			probe: []call{finance, billingSend}, code: risk.DetMultiTactic, min: 0, max: 0},
		// a verb class that exports, deletes, spends or administers, never
		// used by the client above routine data (Laplace over its sessions)
		{name: "first export above routine data", trainWith: []call{billing("t-acme")},
			probe: []call{billing("t-acme"), {op: risk.OpExchange, aud: "billing", sens: 2, tool: "invoices.list", tenant: "t-acme", scopes: []string{"billing.export"}}},
			code:  risk.DetNovelResource, min: 12, max: 15},
		{name: "export the client's sessions make", trainWith: []call{billing("t-acme"), {op: risk.OpExchange, aud: "billing", sens: 2, tool: "invoices.export", tenant: "t-acme", scopes: []string{"billing.read"}}},
			probe: []call{billing("t-acme"), {op: risk.OpExchange, aud: "billing", sens: 2, tool: "invoices.export", tenant: "t-acme", scopes: []string{"billing.read"}}},
			code:  risk.DetNovelResource, min: 0, max: 0},
		{name: "export of routine data is not a new class", trainWith: []call{billing("t-acme")},
			probe: []call{{op: risk.OpExchange, aud: "tickets", sens: 1, tool: "tickets.export", scopes: []string{"tickets.read"}}},
			code:  risk.DetNovelResource, min: 0, max: 0},
		{name: "unusual delegation depth", probe: []call{{op: risk.OpExchange, aud: "tickets", sens: 1, tool: "tickets.get", scopes: []string{"tickets.read"},
			actors: []string{"sub-b", "sub-a"}, caller: "sub-b", profile: &agent}}, code: risk.DetUnusualChain, min: 25, max: 25},
		// a pair never seen: the principal's history says how often it
		// meets a new actor (Good-Turing), and a sensitive tier adds what
		// the principal's own sessions say of it
		{name: "new delegation pair on routine work", probe: []call{{op: risk.OpExchange, aud: "tickets", sens: 1, tool: "tickets.get", scopes: []string{"tickets.read"},
			actors: []string{"helper"}, caller: "helper", profile: &agent}}, code: risk.DetUnusualChain, min: 17, max: 17},
		{name: "new delegation pair writing", probe: []call{{op: risk.OpExchange, aud: "tickets", sens: 1, tool: "tickets.update", scopes: []string{"tickets.read"},
			actors: []string{"helper"}, caller: "helper", profile: &agent}}, code: risk.DetUnusualChain, min: 20, max: 20},
		{name: "new delegation pair on sensitive work", probe: []call{{op: risk.OpExchange, aud: "finance", sens: 3, tactic: "collection", tool: "finance.get", scopes: []string{"finance.read"},
			actors: []string{"helper"}, caller: "helper", profile: &agent}}, code: risk.DetUnusualChain, min: 23, max: 23},
		{name: "upstream risk level high", probe: []call{{op: risk.OpSignal, signal: &risk.Signal{Type: risk.SignalRiskLevelChange, Level: "high"}}},
			code: risk.DetExternalSignal, min: 30, max: 30},
		{name: "upstream risk level low", probe: []call{{op: risk.OpSignal, signal: &risk.Signal{Type: risk.SignalRiskLevelChange, Level: "low"}}},
			code: risk.DetExternalSignal, min: 3, max: 3},
		{name: "unregistered audience is an escalation fact", probe: []call{{op: risk.OpExchange, aud: "iam", sens: 4, tool: "iam.keys", scopes: []string{"iam.write"}}},
			code: risk.FactEscalationAttempt, min: 25, max: 25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.train("agent", agent, "10.1.4.21", append(append([]call{}, routine...), tt.trainWith...), 20)
			ip := tt.probeIP
			if ip == "" {
				ip = "10.1.4.21"
			}
			sid, _ := f.open("agent", agent, ip)
			d := last(f.do(sid, "agent", agent, ip, tt.probe))
			if got := points(d, tt.code); got < tt.min || got > tt.max {
				t.Errorf("%s = %d, want %d..%d; reasons %v", tt.code, got, tt.min, tt.max, d.Reasons)
			}
		})
	}
}

func repeatCall(c call, n int) []call {
	out := make([]call, n)
	for i := range out {
		out[i] = c
	}
	return out
}

var kbRead = call{op: risk.OpExchange, aud: "kb", sens: 1, tool: "kb.read_article", scopes: []string{"kb.read"}}

// TestRareTransition checks what seq.rare_transition says of a step between
// two tools: an order never seen between tools the client knows speaks as
// a novelty, weighed by how often the client meets new orders and by how
// many chances the tool it leaves had to show what follows it.
func TestRareTransition(t *testing.T) {
	finance := func(i int) call {
		return call{op: risk.OpExchange, aud: "finance", sens: 3, tool: "finance.t" + strconv.Itoa(i), scopes: []string{"finance.read"}}
	}
	fixed := []call{finance(0), finance(1), finance(2), finance(3)}
	// an agent combining ten tools anew in every session (never starting
	// with the ninth), and a step between two of them it never made
	var walks [][]call
	seen := map[[2]int]bool{}
	for i := range 20 {
		var w []call
		prev := -1
		for j := range 5 {
			k := (i*7 + j*(i%5+2)) % 9
			if j > 0 {
				k = (k + i + j) % 10
			}
			w = append(w, finance(k))
			seen[[2]int{prev, k}] = true
			prev = k
		}
		walks = append(walks, w)
	}
	var unseen []call
	for a := range 9 {
		if !seen[[2]int{a, 9}] && seen[[2]int{-1, a}] {
			unseen = []call{finance(a), finance(9)}
			break
		}
	}
	if unseen == nil {
		t.Fatal("no unseen step in the walks")
	}
	tests := []struct {
		name     string
		train    [][]call
		probe    []call
		min, max int
	}{
		{name: "a fixed sequence in a new order", train: [][]call{fixed}, probe: []call{fixed[0], fixed[2]}, min: 5, max: 5},
		{name: "a step from a tool used in two sessions says little", train: [][]call{fixed, fixed, fixed, fixed, fixed, fixed, fixed, fixed, fixed, append(fixed[:4:4], finance(5))},
			probe: []call{finance(5), fixed[1]}, min: 2, max: 3},
		{name: "a client that keeps combining its tools anew", train: walks, probe: unseen, min: 0, max: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			for i := range 20 {
				f.train("fin", agent, "10.1.4.21", tt.train[i%len(tt.train)], 1)
			}
			sid, _ := f.open("fin", agent, "10.1.4.21")
			ds := f.do(sid, "fin", agent, "10.1.4.21", tt.probe)
			got := 0
			for _, d := range ds {
				got = max(got, points(d, risk.DetRareTransition))
			}
			if got < tt.min || got > tt.max {
				t.Errorf("%s = %d, want %d..%d; reasons %v", risk.DetRareTransition, got, tt.min, tt.max, last(ds).Reasons)
			}
		})
	}
}

// TestOffSchedule checks the declared schedule, its slack, and the learned
// hour-of-week profile.
func TestOffSchedule(t *testing.T) {
	job := agent
	job.Kind = "job"
	job.Schedule = &risk.Schedule{Days: 0b0111110, Start: 60, End: 120} // Mon-Fri 01:00-02:00 UTC
	tests := []struct {
		name string
		prof risk.ClientProfile
		at   time.Time
		want int
	}{
		{name: "inside the declared window", prof: job, at: time.Date(2026, 3, 19, 1, 30, 0, 0, time.UTC), want: 0},
		{name: "just after the window", prof: job, at: time.Date(2026, 3, 19, 2, 20, 0, 0, time.UTC), want: 3},
		{name: "saturday afternoon", prof: job, at: time.Date(2026, 3, 21, 14, 0, 0, 0, time.UTC), want: 25},
		{name: "learned: an hour the client never starts at", prof: agent, at: time.Date(2026, 3, 19, 3, 0, 0, 0, time.UTC), want: 4},
		{name: "learned: its usual hour", prof: agent, at: time.Date(2026, 3, 19, 10, 0, 0, 0, time.UTC), want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.at = time.Date(2026, 2, 20, 10, 0, 0, 0, time.UTC)
			for range 20 { // daily at 10:00 or 01:30 for the job
				start := f.at
				if tt.prof.Schedule != nil {
					f.at = f.at.Add(-8*time.Hour - 30*time.Minute)
				}
				f.session("c", tt.prof, "10.1.4.21", routine[:1])
				f.at = start.Add(24 * time.Hour)
			}
			f.at = tt.at
			_, d := f.open("c", tt.prof, "10.1.4.21")
			if got := points(d, risk.DetOffSchedule); got != tt.want {
				t.Errorf("%s = %d, want %d; reasons %v", risk.DetOffSchedule, got, tt.want, d.Reasons)
			}
		})
	}
}

func TestScheduleOutside(t *testing.T) {
	night := risk.Schedule{Start: 22 * 60, End: 2 * 60} // every day 22:00-02:00, wrapping midnight
	tests := []struct {
		name string
		at   time.Time
		want time.Duration
	}{
		{name: "before midnight", at: time.Date(2026, 3, 18, 23, 0, 0, 0, time.UTC), want: 0},
		{name: "after midnight", at: time.Date(2026, 3, 19, 1, 59, 0, 0, time.UTC), want: 0},
		{name: "morning", at: time.Date(2026, 3, 19, 3, 0, 0, 0, time.UTC), want: time.Hour},
		{name: "evening", at: time.Date(2026, 3, 19, 21, 30, 0, 0, time.UTC), want: 30 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := night.Outside(tt.at); got != tt.want {
				t.Errorf("Outside = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestLearningMode checks that a client with no history is judged on its
// declared data: its first sessions of registered, routine work stay at no
// risk, while a declared-network violation still counts in full.
func TestLearningMode(t *testing.T) {
	f := newFixture(t)
	for i := range 3 {
		for _, d := range f.session("fresh", agent, "10.1.4.21", routine) {
			if d.Action != risk.Allow || d.Score >= 15 {
				t.Fatalf("session %d: %s score %d %v", i, d.Action, d.Score, d.Reasons)
			}
		}
	}
	_, d := f.open("fresh", agent, "198.51.100.7")
	if got := points(d, risk.DetNewNetwork); got != 25 {
		t.Errorf("declared-network violation in learning mode = %d, want 25", got)
	}
}

// TestPeersDiscountNewNetwork checks that a network other clients use
// normally counts less as new.
func TestPeersDiscountNewNetwork(t *testing.T) {
	open := agent
	open.Networks = nil
	f := newFixture(t)
	f.train("a", open, "10.1.4.21", routine, 12)
	_, alone := f.open("a", open, "172.16.5.5")
	f2 := newFixture(t)
	f2.train("a", open, "10.1.4.21", routine, 12)
	f2.train("b", open, "172.16.5.6", routine, 2)
	f2.train("c", open, "172.16.5.7", routine, 2)
	_, shared := f2.open("a", open, "172.16.5.5")
	if a, s := points(alone, risk.DetNewNetwork), points(shared, risk.DetNewNetwork); a < 5 || s >= a {
		t.Errorf("new network alone %d, shared with peers %d; want at least 5 and less", a, s)
	}
}

func TestIPv6Networks(t *testing.T) {
	p := agent
	p.Networks = []netip.Prefix{netip.MustParsePrefix("2001:db8::/32")}
	f := newFixture(t)
	f.train("v6", p, "2001:db8:1::5", routine, 12)
	_, in := f.open("v6", p, "2001:db8:1::9")
	_, out := f.open("v6", p, "2001:dead::1")
	if points(in, risk.DetNewNetwork) != 0 || points(out, risk.DetNewNetwork) != 25 {
		t.Errorf("inside %v / outside %v", in.Reasons, out.Reasons)
	}
}

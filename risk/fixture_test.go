package risk_test

import (
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/risk"
)

// t0 is a Wednesday, 10:00 UTC.
var t0 = time.Date(2026, 3, 18, 10, 0, 0, 0, time.UTC)

// call is one event of a test session, after the opening token request.
type call struct {
	op      risk.Op
	aud     string
	sens    int
	tactic  string
	tenant  string
	resTen  string // the resource's declared tenant
	tool    string
	scopes  []string
	ip      string
	actors  []string
	facts   []string
	signal  *risk.Signal
	passed  bool
	after   time.Duration // delay after the previous call; default 2s
	caller  string
	profile *risk.ClientProfile // the actor's profile
}

// fixture drives an engine through whole sessions on a virtual clock.
type fixture struct {
	t   *testing.T
	eng *risk.Engine
	at  time.Time
	n   int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, risk.DefaultPolicy())
}

func newFixtureWith(t *testing.T, p risk.Policy) *fixture {
	t.Helper()
	eng, err := risk.New(p)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, eng: eng, at: t0.Add(-30 * 24 * time.Hour)}
}

// agent is a routine ticket agent: tickets and kb (tier 1) are its usual
// work; vault (tier 4) and finance (tier 3) are registered but unused.
var agent = risk.ClientProfile{
	Kind:      "agent",
	Scopes:    []string{"tickets.read", "kb.read", "secrets.read", "finance.read", "billing.read", "billing.export"},
	Audiences: []string{"tickets", "kb", "vault", "finance", "billing", "directory"},
	Networks:  []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")},
}

var routine = []call{
	{op: risk.OpExchange, aud: "tickets", sens: 1, tool: "tickets.get", scopes: []string{"tickets.read"}},
	{op: risk.OpIntrospect, aud: "tickets", sens: 1, tool: "tickets.get"},
	{op: risk.OpExchange, aud: "kb", sens: 1, tool: "kb.search", scopes: []string{"kb.read"}},
	{op: risk.OpIntrospect, aud: "kb", sens: 1, tool: "kb.search"},
}

// open starts a session with a token request at the fixture's clock and
// returns its id and decision.
func (f *fixture) open(client string, prof risk.ClientProfile, ip string) (string, risk.Decision) {
	f.n++
	sid := client + "-" + strconv.Itoa(f.n)
	d := f.eng.Observe(risk.Event{Op: risk.OpToken, At: f.at, SessionID: sid, ClientID: client, Client: prof,
		IP: netip.MustParseAddr(ip)})
	return sid, d
}

// do runs calls on session sid and returns their decisions.
func (f *fixture) do(sid, client string, prof risk.ClientProfile, ip string, calls []call) []risk.Decision {
	var out []risk.Decision
	for _, c := range calls {
		f.at = f.at.Add(orDefault(c.after, 2*time.Second))
		out = append(out, f.eng.Observe(f.event(sid, client, prof, ip, c)))
	}
	return out
}

func (f *fixture) event(sid, client string, prof risk.ClientProfile, ip string, c call) risk.Event {
	if c.ip != "" {
		ip = c.ip
	}
	ev := risk.Event{Op: c.op, At: f.at, SessionID: sid, ClientID: client, Client: prof, Audience: c.aud,
		Resource: risk.ResourceProfile{Sensitivity: c.sens, Tactic: c.tactic, Tenant: c.resTen}, Scopes: c.scopes,
		Tool: c.tool, Tenant: c.tenant, Actors: c.actors, Facts: c.facts, Signal: c.signal, Passed: c.passed, Caller: c.caller}
	if ip != "" {
		ev.IP = netip.MustParseAddr(ip)
	}
	if c.profile != nil {
		ev.ActorProfile = *c.profile
	}
	return ev
}

// session runs a whole session: token, calls, revoke. It returns the
// decisions of the calls.
func (f *fixture) session(client string, prof risk.ClientProfile, ip string, calls []call) []risk.Decision {
	sid, _ := f.open(client, prof, ip)
	out := f.do(sid, client, prof, ip, calls)
	f.at = f.at.Add(2 * time.Second)
	f.eng.Observe(risk.Event{Op: risk.OpRevoke, At: f.at, SessionID: sid, ClientID: client, Client: prof})
	return out
}

// train runs n clean sessions every 12 hours and leaves the clock 12 hours
// after the last.
func (f *fixture) train(client string, prof risk.ClientProfile, ip string, calls []call, n int) {
	f.t.Helper()
	for range n {
		for i, d := range f.session(client, prof, ip, calls) {
			if d.Action != risk.Allow {
				f.t.Fatalf("training call %d: %s (score %d, %v)", i, d.Action, d.Score, d.Reasons)
			}
		}
		f.at = f.at.Add(12 * time.Hour)
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// points returns the points of reason code in d, 0 if absent.
func points(d risk.Decision, code string) int {
	for _, r := range d.Reasons {
		if r.Code == code {
			return r.Points
		}
	}
	return 0
}

func last(ds []risk.Decision) risk.Decision { return ds[len(ds)-1] }

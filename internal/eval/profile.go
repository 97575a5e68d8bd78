package eval

import (
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Client kinds a population holds.
const (
	KindAgent    = "agent"
	KindService  = "service"
	KindWorkload = "workload"
	KindJob      = "job"
)

// Kinds lists the client kinds in the order the generator cycles through them.
var Kinds = []string{KindAgent, KindService, KindWorkload, KindJob}

// call is one tool call: a token exchange for the tool's audience and
// scope, for a tenant.
type call struct {
	res    *resource
	tool   tool
	tenant string
	// by is the actor making a delegated call (RFC 8693 actor_token) from
	// byIP; empty when the session's own client calls.
	by, byIP string
}

// profile is one generated client: its registration and the parameters of
// its behaviour.
type profile struct {
	id, kind string
	loc      *time.Location
	sched    *jSchedule
	days     [7]bool // local weekdays it works
	winFrom  int     // minutes of the local day its work starts (agents, scheduled services)
	winTo    int
	runs     []int         // jobs: minutes of the local day of each run
	every    time.Duration // services and workloads: spacing of sessions
	phase    float64       // services and workloads: where in each beat their sessions fall, 0..1
	perDay   int           // agents: sessions per working day
	nets     []netip.Prefix
	hosts    []netip.Addr   // the addresses it usually runs from
	spare    []netip.Prefix // declared networks it never used
	uses     []*resource    // resources it works with
	extra    []*resource    // registered, never used
	tenants  []string
	flows    [][]call // session plans it picks from
	pace     [2]time.Duration
	long     bool // long sessions kept alive by refresh (workloads)
	dpop     bool
	inspect  float64 // share of calls a resource server introspects
	jitter   time.Duration
	mayAct   []string
	history  time.Duration // how long before the scored window its history starts
	monthEnd float64       // volume factor on the last two days of a month (1: none)
	// actors are clients named in may_act: the first acts for p in its
	// sessions, any other never has.
	actors []*profile
	// side is a network p uses only for routine work, with the calls it
	// makes there (tier creep).
	side     netip.Prefix
	sideFlow []call
}

// newProfile draws a client of kind from the organisation.
func (g *gen) newProfile(kind string) *profile {
	r, o := g.r, g.o
	p := &profile{kind: kind, inspect: 0.3 + 0.5*r.Float64(), monthEnd: 1,
		history: time.Duration(r.between(21, 35)) * 24 * time.Hour}
	tz := pick(r, zones)
	p.loc, _ = time.LoadLocation(tz)
	p.id = o.unique(func() string { return g.clientName(kind) })
	nSites := 1
	if r.chance(0.3) {
		nSites = 2
	}
	homes := sample(r, o.sites, nSites+1)
	declare := map[string]float64{KindAgent: 0.45, KindService: 0.75, KindWorkload: 0.85, KindJob: 0.7}[kind]
	if r.chance(declare) {
		p.nets = homes
		p.spare = homes[nSites:]
	}
	homes = homes[:nSites]
	nHosts := map[string]int{KindAgent: r.between(1, 3), KindService: r.between(1, 3), KindWorkload: r.between(2, 5), KindJob: 1}[kind]
	for i := range nHosts {
		p.hosts = append(p.hosts, host(r, homes[i%len(homes)]))
	}
	p.dpop = r.chance(0.2)
	p.phase = r.Float64()
	p.tenants = sample(r, o.tenants, r.between(1, 4))
	switch kind {
	case KindAgent:
		g.agent(p)
	case KindService:
		g.service(p)
	case KindWorkload:
		g.workload(p)
	case KindJob:
		g.job(p)
	}
	if r.chance(0.35) { // registered for more than it uses
		if extra := o.resourcesWhere(func(x *resource) bool { return !slices.Contains(p.uses, x) && x.tier >= 3 }); len(extra) > 0 {
			p.extra = append(p.extra, pick(r, extra))
		}
	}
	return p
}

func (g *gen) clientName(kind string) string {
	r := g.r
	switch kind {
	case KindAgent:
		return fmt.Sprintf("%s-%s-%d", pick(r, purposes), pick(r, []string{"agent", "assistant", "copilot", "bot"}), r.IntN(20))
	case KindService:
		return fmt.Sprintf("%s-%s", pick(r, purposes), pick(r, roles))
	case KindWorkload:
		return fmt.Sprintf("%s-%s-%s", pick(r, regions), pick(r, roles), pick(r, []string{"pod", "task", "fn", "vm"}))
	}
	return fmt.Sprintf("%s-%s-%s", pick(r, purposes), pick(r, []string{"nightly", "hourly", "daily", "batch", "cron"}), pick(r, roles))
}

// useSome picks the resources p works with: n of the tiers in want.
func (g *gen) useSome(p *profile, n int, ok func(*resource) bool) {
	cands := g.o.resourcesWhere(func(x *resource) bool { return ok(x) && !slices.Contains(p.uses, x) })
	p.uses = append(p.uses, sample(g.r, cands, n)...)
}

func plain(x *resource) bool { return !x.dom.egress && !x.dom.paid }

func (g *gen) agent(p *profile) {
	r := g.r
	p.pace = [2]time.Duration{3 * time.Second, 40 * time.Second}
	p.jitter = 0
	p.days = weekdays(r.chance(0.15))
	p.winFrom = r.between(7*60, 10*60)
	p.winTo = r.between(16*60, 19*60)
	p.perDay = r.between(1, 3)
	g.useSome(p, r.between(2, 4), func(x *resource) bool { return plain(x) && x.tier <= 2 })
	if r.chance(0.5) {
		g.useSome(p, 1, func(x *resource) bool { return plain(x) && x.tier == 3 })
	}
	if r.chance(0.5) {
		g.useSome(p, 1, func(x *resource) bool { return x.dom.paid })
	}
	if r.chance(0.3) {
		g.useSome(p, 1, func(x *resource) bool { return x.dom.egress })
	}
	if r.chance(0.4) {
		p.sched = &jSchedule{Days: p.daysSpec(), Hours: hhmm(p.winFrom-60) + "-" + hhmm(p.winTo+60), TZ: p.loc.String()}
	}
	for range r.between(3, 6) {
		p.flows = append(p.flows, g.walk(p, r.between(3, 8)))
	}
}

func (g *gen) service(p *profile) {
	r := g.r
	p.pace = [2]time.Duration{time.Second, 6 * time.Second}
	p.jitter = 10 * time.Minute
	p.every = time.Duration(pick(r, []int{6, 8, 12, 24})) * time.Hour
	p.days = weekdays(true)
	g.useSome(p, r.between(1, 3), func(x *resource) bool { return plain(x) && x.tier <= 3 })
	if r.chance(0.4) {
		g.useSome(p, 1, func(x *resource) bool { return x.dom.egress })
	}
	if r.chance(0.4) {
		p.monthEnd = 2 + r.Float64()
	}
	for range r.between(2, 3) {
		p.flows = append(p.flows, g.walk(p, r.between(3, 7)))
	}
}

func (g *gen) workload(p *profile) {
	r := g.r
	p.pace = [2]time.Duration{20 * time.Second, 3 * time.Minute}
	p.jitter = 5 * time.Minute
	p.every = time.Duration(pick(r, []int{12, 24})) * time.Hour
	p.days = weekdays(true)
	p.long = true
	g.useSome(p, r.between(1, 3), func(x *resource) bool { return plain(x) && x.tier <= 2 })
	for range 2 {
		p.flows = append(p.flows, g.walk(p, r.between(2, 4)))
	}
}

func (g *gen) job(p *profile) {
	r := g.r
	p.pace = [2]time.Duration{time.Second, 4 * time.Second}
	p.jitter = 3 * time.Minute
	p.days = weekdays(r.chance(0.6))
	first := r.between(60, 20*60)
	p.runs = []int{first}
	if r.chance(0.3) && first < 14*60 {
		p.runs = append(p.runs, first+r.between(4, 8)*60)
	}
	last := p.runs[len(p.runs)-1]
	p.sched = &jSchedule{Days: p.daysSpec(), Hours: hhmm(first-r.between(20, 90)) + "-" + hhmm(last+r.between(40, 120)), TZ: p.loc.String()}
	g.useSome(p, r.between(1, 2), func(x *resource) bool { return plain(x) && x.tier >= 2 })
	if r.chance(0.5) {
		g.useSome(p, 1, func(x *resource) bool { return x.dom.egress || (plain(x) && x.tier == 2) })
	}
	if r.chance(0.5) {
		p.monthEnd = 2 + r.Float64()
	}
	p.flows = [][]call{g.batch(p, r.between(4, 12))}
}

// walk is a session plan for p: a random walk of n calls over the tools of
// the resources it uses, preferring reads and staying on a resource a while.
func (g *gen) walk(p *profile, n int) []call {
	r := g.r
	res := pick(r, p.uses)
	var out []call
	for range n {
		if r.chance(0.35) {
			res = pick(r, p.uses)
		}
		out = append(out, g.callOn(p, res, r.chance(0.75)))
	}
	return out
}

// batch is a job's run: reads over its tenants, then writes or sends.
func (g *gen) batch(p *profile, n int) []call {
	src := p.uses[0]
	var out []call
	for i := range n {
		c := g.callOn(p, src, true)
		c.tenant = tenantFor(src, p.tenants[i%len(p.tenants)])
		out = append(out, c)
	}
	for _, dst := range p.uses[1:] {
		out = append(out, g.callOn(p, dst, false))
	}
	return out
}

// callOn is a call to res: a read when read is true and the resource has
// reads, else one of its writes or sends.
func (g *gen) callOn(p *profile, res *resource, read bool) call {
	r := g.r
	tools := res.toolsOf(kRead, kPaid)
	if !read {
		if w := res.toolsOf(kWrite, kSend); len(w) > 0 {
			tools = w
		}
	}
	if len(tools) == 0 {
		tools = res.tools
	}
	return call{res: res, tool: pick(r, tools), tenant: tenantFor(res, pick(r, p.tenants))}
}

func tenantFor(res *resource, t string) string {
	if res.tenant != "" {
		return res.tenant
	}
	if res.tier == 1 {
		return ""
	}
	return t
}

func weekdays(all bool) [7]bool {
	var d [7]bool
	for i := range d {
		d[i] = all || (i != int(time.Saturday) && i != int(time.Sunday))
	}
	return d
}

func (p *profile) daysSpec() string {
	if p.days[time.Saturday] {
		return "Mon-Sun"
	}
	return "Mon-Fri"
}

func hhmm(m int) string {
	m = max(0, min(m, 23*60+59))
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}

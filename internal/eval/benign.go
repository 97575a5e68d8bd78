package eval

import (
	"slices"
	"time"

	"github.com/vigil-auth/vigil/internal/replay"
)

// Behaviour is a benign situation a client's scored sessions exercise.
type Behaviour struct {
	Name string
	fits func(p *profile) bool
	// build plans the case into d and returns its description.
	build func(g *gen, p *profile, d *draft) string
}

// Behaviours lists the benign situations, each a parametrised twist on a
// client's routine.
var Behaviours = []Behaviour{
	{Name: "routine", fits: anyClient, build: routine},
	{Name: "dst-change", fits: func(p *profile) bool { return p.sched != nil && hasDST(p.loc) }, build: dstChange},
	{Name: "month-end-peak", fits: func(p *profile) bool { return p.monthEnd > 1 }, build: monthEndPeak},
	{Name: "backfill", fits: kinds(KindJob, KindService), build: backfill},
	{Name: "failover", fits: func(p *profile) bool { return len(p.spare) > 0 }, build: failover},
	{Name: "new-replicas", fits: func(p *profile) bool { return len(p.nets) > 0 && p.kind != KindJob }, build: newReplicas},
	{Name: "new-client", fits: anyClient, build: newClient},
	{Name: "new-resource", fits: kinds(KindAgent, KindService, KindWorkload), build: newResource},
	{Name: "exploratory", fits: kinds(KindAgent), build: exploratory},
	{Name: "tenant-onboarding", fits: func(p *profile) bool { return multiTenant(p) }, build: tenantOnboarding},
	{Name: "low-signal", fits: anyClient, build: lowSignal},
	{Name: "return-after-leave", fits: kinds(KindAgent, KindJob), build: returnAfterLeave},
	{Name: "delegation", fits: kinds(KindAgent, KindService, KindWorkload), build: delegation},
}

func anyClient(*profile) bool { return true }

func kinds(ks ...string) func(*profile) bool {
	return func(p *profile) bool { return slices.Contains(ks, p.kind) }
}

func multiTenant(p *profile) bool {
	for _, res := range p.uses {
		if res.tenant == "" && res.tier >= 2 && plain(res) {
			return true
		}
	}
	return false
}

// benign generates p's benign case with behaviour b.
func (g *gen) benign(p *profile, b Behaviour, prefix string) (Case, error) {
	d := draft{id: prefix + "-" + b.Name, label: replay.LabelBenign, tags: []string{"generated", p.kind, b.Name}, p: p, jitter: p.jitter}
	d.desc = b.build(g, p, &d)
	c, err := g.finish(d)
	c.Behaviour = b.Name
	return c, err
}

// plainPlan fills d with p's history and a day or so of its sessions.
func (g *gen) plainPlan(p *profile, d *draft, base time.Time) plan {
	pl := g.planAt(p, base, 30*time.Hour, 4)
	d.hist = g.sessions(p, pl.hist)
	d.scored = g.owned(p, pl.scored)
	return pl
}

func routine(g *gen, p *profile, d *draft) string {
	g.plainPlan(p, d, g.someDay())
	return describe("a", p.kind, "goes on with its usual work after", weeks(p.history), "of history")
}

func weeks(d time.Duration) string {
	return itoa(int(d/(24*time.Hour))) + " days"
}

// hasDST reports whether loc changes its offset during the scenario year.
func hasDST(loc *time.Location) bool { return len(dstDays(loc)) > 0 }

// dstDays lists the days of 2026 on which loc's UTC offset changes.
func dstDays(loc *time.Location) []time.Time {
	var out []time.Time
	d := time.Date(2026, 1, 1, 12, 0, 0, 0, loc)
	_, prev := d.Zone()
	for range 365 {
		next := d.AddDate(0, 0, 1)
		if _, off := next.Zone(); off != prev {
			out = append(out, time.Date(next.Year(), next.Month(), next.Day(), 0, 0, 0, 0, loc))
			prev = off
		}
		d = next
	}
	return out
}

func dstChange(g *gen, p *profile, d *draft) string {
	day := pick(g.r, dstDays(p.loc)).AddDate(0, 0, -1)
	pl := g.planAt(p, day, 72*time.Hour, 6)
	d.hist = g.sessions(p, pl.hist)
	d.scored = g.owned(p, pl.scored)
	return describe("a", p.kind, "scheduled in", p.loc.String(), "keeps its local hours across a daylight-saving change")
}

func monthEndPeak(g *gen, p *profile, d *draft) string {
	p.history = max(p.history, 33*24*time.Hour)
	day := g.someDay()
	first := time.Date(day.Year(), day.Month()+1, 1, 0, 0, 0, 0, p.loc)
	g.plainPlan(p, d, first.AddDate(0, 0, -2))
	return describe("a", p.kind, "does two to three times its usual volume on the last days of the month, as it did last month")
}

func backfill(g *gen, p *profile, d *draft) string {
	pl := g.planAt(p, g.someDay(), 30*time.Hour, 3)
	cut := pl.w.Add(-time.Duration(g.r.between(1, 3)) * 24 * time.Hour)
	var kept, missed []slot
	for _, s := range pl.hist {
		if s.at.Before(cut) {
			kept = append(kept, s)
		} else {
			missed = append(missed, s)
		}
	}
	d.hist = g.sessions(p, kept)
	missed = missed[:min(len(missed), 5)]
	t := pl.w
	var scored []slot
	for _, m := range missed {
		scored = append(scored, slot{at: t, ip: m.ip, flow: m.flow, scale: m.scale})
		t = t.Add(g.r.dur(2*time.Minute, 8*time.Minute))
	}
	for _, s := range pl.scored {
		if s.at.After(t) {
			scored = append(scored, s)
		}
	}
	d.scored = g.owned(p, scored)
	return describe("after an outage a", p.kind, "runs the", itoa(len(missed)), "sessions it missed back to back, then its usual ones")
}

func failover(g *gen, p *profile, d *draft) string {
	pl := g.planAt(p, g.someDay(), 30*time.Hour, 4)
	d.hist = g.sessions(p, pl.hist)
	ip := host(g.r, p.spare[0])
	for i := range pl.scored {
		pl.scored[i].ip = ip
	}
	d.scored = g.owned(p, pl.scored)
	return describe("a", p.kind, "fails over to a declared network it never used before,", p.spare[0].String())
}

func newReplicas(g *gen, p *profile, d *draft) string {
	pl := g.planAt(p, g.someDay(), 30*time.Hour, 4)
	d.hist = g.sessions(p, pl.hist)
	for i := range pl.scored {
		pl.scored[i].ip = host(g.r, pick(g.r, p.nets))
	}
	d.scored = g.owned(p, pl.scored)
	return describe("a", p.kind, "scales out: new instances run from fresh addresses in its declared networks")
}

func newClient(g *gen, p *profile, d *draft) string {
	p.history = time.Duration(g.r.between(0, 3)) * 24 * time.Hour
	p.extra = nil
	g.plainPlan(p, d, g.someDay())
	return describe("a", p.kind, "registered", weeks(p.history), "ago does its declared work")
}

func newResource(g *gen, p *profile, d *draft) string {
	cands := g.o.resourcesWhere(func(x *resource) bool {
		return plain(x) && x.tier <= 2 && !slices.Contains(p.uses, x) && !slices.Contains(p.extra, x)
	})
	res := pick(g.r, cands)
	p.extra = append(p.extra, res)
	pl := g.planAt(p, g.someDay(), 30*time.Hour, 4)
	d.hist = g.sessions(p, pl.hist)
	for i := range pl.scored {
		var flow []call
		for k, c := range pl.scored[i].flow {
			flow = append(flow, c)
			if k%2 == 1 {
				flow = append(flow, g.callOn(p, res, g.r.chance(0.7)))
			}
		}
		pl.scored[i].flow = flow
	}
	d.scored = g.owned(p, pl.scored)
	return describe("a", p.kind, "starts using", res.aud, "(tier", itoa(res.tier)+"), registered for it but never called before")
}

func exploratory(g *gen, p *profile, d *draft) string {
	cands := g.o.resourcesWhere(func(x *resource) bool { return plain(x) && x.tier == 1 && !slices.Contains(p.uses, x) })
	news := sample(g.r, cands, g.r.between(2, 3))
	p.extra = append(p.extra, news...)
	pl := g.planAt(p, g.someDay(), 30*time.Hour, 3)
	d.hist = g.sessions(p, pl.hist)
	var flow []call
	for _, res := range news {
		for _, t := range res.tools {
			flow = append(flow, call{res: res, tool: t})
		}
	}
	pl.scored[0].flow = append(slices.Clone(pl.scored[0].flow), flow...)
	d.scored = g.owned(p, pl.scored)
	return describe("an agent tries", itoa(len(flow)), "low-sensitivity tools it is registered for but never used")
}

func tenantOnboarding(g *gen, p *profile, d *draft) string {
	var fresh []string
	for _, t := range g.o.tenants {
		if !slices.Contains(p.tenants, t) {
			fresh = append(fresh, t)
		}
	}
	t := pick(g.r, fresh)
	pl := g.planAt(p, g.someDay(), 30*time.Hour, 4)
	d.hist = g.sessions(p, pl.hist)
	for i := range pl.scored {
		flow := slices.Clone(pl.scored[i].flow)
		for k := range flow {
			if flow[k].tenant != "" && flow[k].res.tenant == "" && g.r.chance(0.5) {
				flow[k].tenant = t
			}
		}
		pl.scored[i].flow = flow
	}
	d.scored = g.owned(p, pl.scored)
	return describe("a", p.kind, "starts serving a new tenant,", t, "on the resources it already uses")
}

func lowSignal(g *gen, p *profile, d *draft) string {
	g.plainPlan(p, d, g.someDay())
	first := d.scored[0]
	at := first.at.Add(500 * time.Millisecond)
	d.scored = append(d.scored, tstep{at: at, s: jStep{Op: "signal", Session: first.s.Session,
		Signal: &jSignal{Type: "risk-level-change", Level: "low"}}})
	return describe("an upstream provider reports low risk for a", p.kind, "that then goes on with its usual work")
}

func returnAfterLeave(g *gen, p *profile, d *draft) string {
	gap := time.Duration(g.r.between(10, 20)) * 24 * time.Hour
	pl := g.planAt(p, g.someDay(), 30*time.Hour, 3)
	var kept []slot
	for _, s := range pl.hist {
		if s.at.Before(pl.w.Add(-gap)) {
			kept = append(kept, s)
		}
	}
	if len(kept) == 0 {
		kept = pl.hist
	}
	d.hist = g.sessions(p, kept)
	d.scored = g.owned(p, pl.scored)
	return describe("a", p.kind, "idle for", weeks(gap), "resumes its usual work")
}

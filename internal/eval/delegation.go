package eval

import (
	"slices"
	"time"
)

// delegate gives p an agent that acts on its behalf (RFC 8693 delegation:
// p's registration names it in may_act): about every other routine call
// of p's sessions is made by the agent, from the agent's own host.
func (g *gen) delegate(p *profile) *profile {
	a := g.newProfile(KindAgent)
	p.mayAct = append(p.mayAct, a.id)
	p.actors = append(p.actors, a)
	ip := pick(g.r, a.hosts).String()
	for i, f := range p.flows {
		f = slices.Clone(f)
		for k := range f {
			if f[k].res.tier <= 2 && f[k].tool.kind != kDelete && k%2 == 0 {
				f[k].by, f[k].byIP = a.id, ip
				a.register(f[k].res)
			}
		}
		p.flows[i] = f
	}
	return a
}

// register adds res to p's registration (an actor must hold the scopes it
// acts with).
func (p *profile) register(res *resource) {
	if !slices.Contains(p.uses, res) && !slices.Contains(p.extra, res) {
		p.extra = append(p.extra, res)
	}
}

// actorClients registers p's actors in d.
func actorClients(p *profile, d *draft) {
	if d.clients == nil {
		d.clients = map[string]jClient{}
	}
	for _, a := range p.actors {
		d.clients[a.id] = a.registration()
	}
}

func delegation(g *gen, p *profile, d *draft) string {
	a := g.delegate(p)
	g.plainPlan(p, d, g.someDay())
	actorClients(p, d)
	return describe("an agent,", a.id+",", "does part of a", p.kind+"'s", "routine work on its behalf, as it has for weeks")
}

// useSensitiveItself has p read a sensitive resource itself in some of its
// sessions, then gives it a delegate for its routine calls.
func useSensitiveItself(g *gen, p *profile) {
	var sens *resource
	for _, x := range p.uses {
		if x.tier >= 3 && plain(x) {
			sens = x
		}
	}
	if sens == nil {
		sens = pick(g.r, g.o.resourcesWhere(func(x *resource) bool { return x.tier == 3 && plain(x) }))
		p.uses = append(p.uses, sens)
		for i := range p.flows {
			if i%2 == 0 {
				p.flows[i] = append(slices.Clone(p.flows[i]), g.callOn(p, sens, true))
			}
		}
	}
	a := g.delegate(p)
	if g.r.chance(0.7) { // a general-purpose agent, registered for what its principal reads
		a.register(sens)
	}
}

func confusedDeputy(g *gen, p *profile, d *draft, pl plan) string {
	a := p.actors[0]
	var sens *resource
	for _, x := range p.uses {
		if x.tier >= 3 && plain(x) {
			sens = x
		}
	}
	s := pl.scored[0]
	o := g.actor(p, s.at, s.ip, "s1")
	o.owner = true
	o.token()
	for _, c := range s.flow {
		if c.by != "" {
			o.call(c, false)
		}
	}
	at := g.actor(p, o.t, s.ip, "s1")
	ip := pick(g.r, a.hosts).String()
	for range g.r.between(2, 4) {
		c := g.callOn(p, sens, g.r.chance(0.7))
		c.by, c.byIP = a.id, ip
		at.call(c, true)
	}
	d.scored = append(d.scored, o.out...)
	d.scored = append(d.scored, at.out...)
	actorClients(p, d)
	return describe("an agent acting for a", p.kind, "is steered into", sens.aud+",", "which the", p.kind, "reads itself but never through it")
}

func delegationAbuse(g *gen, p *profile, d *draft, pl plan) string {
	b := g.newProfile(KindAgent)
	p.mayAct = append(p.mayAct, b.id)
	p.actors = append(p.actors, b)
	s := pl.scored[0]
	o := g.actor(p, s.at, s.ip, "s1")
	o.owner = true
	o.token()
	at := g.actor(p, o.t, s.ip, "s1")
	ip := pick(g.r, b.hosts).String()
	if g.r.chance(0.5) {
		ip = foreignAddr(g.r).String()
	}
	for _, c := range append(slices.Clone(s.flow), objective(g, p)...) {
		c.by, c.byIP = b.id, ip
		b.register(c.res)
		at.call(c, harms(c))
	}
	d.scored = append(d.scored, o.out...)
	d.scored = append(d.scored, at.out...)
	actorClients(p, d)
	return describe("an agent named in a", p.kind+"'s", "may_act but never used,", b.id+",", "takes over its work and reaches its most sensitive calls")
}

// poison has the client's recent history reach a sensitive resource it is
// registered for, a little at a time: the attacker grooming the baseline.
func poison(g *gen, p *profile, hist []slot) []slot {
	var res *resource
	for _, x := range p.extra {
		if res == nil || x.tier > res.tier {
			res = x
		}
	}
	from := len(hist) * 3 / 5
	for i := from; i < len(hist); i++ {
		if (i-from)%2 == 0 {
			hist[i].flow = append(slices.Clone(hist[i].flow), call{res: res, tool: res.toolsOf(kRead)[0], tenant: tenantFor(res, p.tenants[0])})
		}
	}
	return hist
}

func poisoned(g *gen, p *profile, d *draft, pl plan) string {
	var res *resource
	for _, x := range p.extra {
		if res == nil || x.tier > res.tier {
			res = x
		}
	}
	s := pl.scored[0]
	a := g.actor(p, s.at, s.ip, "x1")
	a.token()
	a.routine(s.flow)
	tools := res.toolsOf(kExport, kRead)
	n := g.r.between(5, 12)
	for i := range n {
		a.call(call{res: res, tool: tools[0], tenant: tenantFor(res, pick(g.r, g.o.tenants))}, i >= 1)
		if len(tools) > 1 && g.r.chance(0.5) {
			tools = tools[1:]
		}
	}
	d.scored = append(d.scored, a.out...)
	return describe("after weeks of one quiet read of", res.aud, "every other session, a", p.kind, "reads it in bulk")
}

// sideNetwork gives p a second network it uses only for routine, tier-1
// work (declared when p declares its networks).
func sideNetwork(g *gen, p *profile) {
	var side []*resource
	for _, x := range p.uses {
		if x.tier == 1 && plain(x) {
			side = append(side, x)
		}
	}
	if len(side) == 0 {
		x := pick(g.r, g.o.resourcesWhere(func(x *resource) bool { return x.tier == 1 && plain(x) }))
		p.uses = append(p.uses, x)
		side = append(side, x)
	}
	site := g.o.site()
	if len(p.nets) > 0 {
		p.nets = append(p.nets, site)
	}
	p.side, p.sideFlow = site, []call{g.callOn(p, side[0], true), g.callOn(p, pick(g.r, side), true)}
}

// sideSessions moves about a third of the history to the side network,
// doing only routine work there.
func sideSessions(g *gen, p *profile, hist []slot) []slot {
	ip := host(g.r, p.side)
	for i := range hist {
		if i%3 == 1 {
			hist[i].ip, hist[i].flow, hist[i].own = ip, p.sideFlow, true
		}
	}
	return hist
}

func tierCreep(g *gen, p *profile, d *draft, pl plan) string {
	a := g.actor(p, pl.w.Add(g.r.dur(time.Hour, 5*time.Hour)), host(g.r, p.side), "x1")
	a.token()
	a.calls(p.sideFlow)
	a.calls(objective(g, p))
	d.scored = append(d.scored, a.out...)
	return describe("from", p.side.String()+",", "a network a", p.kind, "uses only for routine reads, its key reaches its most sensitive calls")
}

// otherResourceServer registers p for one more resource with a resource
// server, whose server will be handed p's tokens for another audience.
func otherResourceServer(g *gen, p *profile) {
	cands := g.o.resourcesWhere(func(x *resource) bool {
		return x.rs != "" && !slices.Contains(p.uses, x) && !slices.Contains(p.extra, x)
	})
	p.extra = append(p.extra, pick(g.r, cands))
}

func tokenReplayRS(g *gen, p *profile, d *draft, pl plan) string {
	var other *resource
	for _, x := range p.extra {
		if x.rs != "" {
			other = x
		}
	}
	last := g.lead(p, d, pl)
	o := g.actor(p, last.at, pick(g.r, p.hosts), "s1")
	o.owner = true
	c := targets(g, p)[0]
	for _, t := range targets(g, p) {
		if t.res != other {
			c = t
			break
		}
	}
	o.wait(time.Second, 5*time.Second)
	o.add(jStep{Op: "exchange", Scope: c.tool.scope, Audience: c.res.aud, Tool: c.tool.name, Tenant: c.tenant})
	a := g.actor(p, o.t.Add(g.r.dur(5*time.Second, 2*time.Minute)), foreignAddr(g.r), "s1")
	a.add(jStep{Op: "introspect", RS: other.rs, Tool: pick(g.r, other.tools).name, Harmful: true})
	d.scored = append(d.scored, o.out...)
	d.scored = append(d.scored, a.out...)
	return describe("a token a", p.kind, "obtained for", c.res.aud, "is presented by a thief to", other.aud)
}

func challengeExport(g *gen, p *profile, d *draft, pl plan) string {
	var sens, out *resource
	for _, x := range p.uses {
		switch {
		case x.dom.egress:
			out = x
		case x.tier >= 3 && plain(x):
			sens = x
		}
	}
	a := g.actor(p, pl.w.Add(g.r.dur(time.Hour, 4*time.Hour)), foreignAddr(g.r), "x1")
	a.token()
	a.call(g.callOn(p, sens, true), true)
	for range g.r.between(2, 3) {
		a.call(g.callOn(p, out, false), true)
	}
	d.scored = append(d.scored, a.out...)
	return describe("from a new network, a", p.kind+"'s", "key reads", sens.aud, "and, challenged or not, sends through", out.aud, "which it knows")
}

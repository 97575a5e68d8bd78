package eval

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/internal/replay"
)

// Tactic is a parametrised attack on a client.
type Tactic struct {
	Name string
	// Class is the kind of weakness the tactic probes.
	Class string
	fits  func(p *profile) bool
	// prepare changes the client before its history is planned (for
	// example, registers it for a resource the attack needs).
	prepare func(g *gen, p *profile)
	// history may change the history sessions (baseline poisoning).
	history func(g *gen, p *profile, hist []slot) []slot
	// build adds the attack's steps to d and returns its description.
	build func(g *gen, p *profile, d *draft, pl plan) string
}

// Tactics lists the attacks the generator injects.
var Tactics = []Tactic{
	{Name: "stolen-credential", Class: "stolen credentials used from a new network", fits: hasTarget, build: stolenCredential},
	{Name: "network-violation", Class: "declared networks", fits: func(p *profile) bool { return len(p.nets) > 0 && hasTarget(p) }, build: networkViolation},
	{Name: "pivot", Class: "novelty weighed by impact", fits: anyClient, prepare: registerSensitive(3), build: pivot},
	{Name: "immature-pivot", Class: "maturity counted in sessions", fits: anyClient, prepare: immature, build: pivot},
	{Name: "parallel-use", Class: "token replay in parallel", fits: hasTarget, build: parallelUse},
	{Name: "refresh-theft", Class: "refresh token theft", fits: hasTarget, build: refreshTheft},
	{Name: "volume-spike", Class: "per-session volume at normal pace", fits: func(p *profile) bool { return kinds(KindJob, KindService)(p) && everyFlowReaches(p, 2) }, build: volumeSpike},
	{Name: "destructive-burst", Class: "destructive actions", fits: anyClient, prepare: registerDeletes, build: destructiveBurst},
	{Name: "cost-loop", Class: "cost-bearing tools", fits: kinds(KindAgent, KindService), prepare: usePaid, build: costLoop},
	{Name: "exfil-order", Class: "sensitive read then familiar egress", fits: kinds(KindAgent, KindService, KindJob), prepare: separateEgress, build: exfilOrder},
	{Name: "upstream-signal", Class: "upstream signals", fits: hasTarget, build: upstreamSignal},
	{Name: "escalation", Class: "privilege escalation", fits: anyClient, build: escalation},
	{Name: "mimicry", Class: "mimicry of the owner", fits: hasTarget, build: mimicry},
	{Name: "off-schedule", Class: "declared schedule", fits: func(p *profile) bool { return p.kind == KindJob && hasTarget(p) }, build: offSchedule},
	{Name: "splitting", Class: "splitting across sessions", fits: multiTenant, build: splitting},
	{Name: "low-and-slow", Class: "low and slow accumulation", fits: multiTenant, build: lowAndSlow},
	{Name: "threshold-probing", Class: "threshold probing", fits: anyClient, prepare: registerSensitive(3), build: probing},
	{Name: "confused-deputy", Class: "delegation judged from one side", fits: kinds(KindService, KindAgent, KindWorkload), prepare: useSensitiveItself, build: confusedDeputy},
	{Name: "delegation-abuse", Class: "delegation judged from one side", fits: hasTarget, build: delegationAbuse},
	{Name: "baseline-poisoning", Class: "baseline poisoning", fits: anyClient, prepare: registerSensitive(3), history: poison, build: poisoned},
	{Name: "tier-creep", Class: "learned context vouching beyond its tier", fits: hasTarget, prepare: sideNetwork, history: sideSessions, build: tierCreep},
	{Name: "token-replay-rs", Class: "token presented at another resource server", fits: hasTarget, prepare: otherResourceServer, build: tokenReplayRS},
	{Name: "challenge-export", Class: "pending challenge then familiar egress", fits: kinds(KindAgent, KindService, KindJob), prepare: separateEgress, build: challengeExport},
}

// attack generates p's malicious case with tactic t.
func (g *gen) attack(p *profile, t Tactic, prefix string) (Case, error) {
	if t.prepare != nil {
		t.prepare(g, p)
	}
	d := draft{id: prefix + "-" + t.Name, label: replay.LabelMalicious, tags: []string{"generated", p.kind, t.Name}, p: p, jitter: p.jitter}
	pl := g.planAt(p, g.someDay(), 30*time.Hour, 2)
	if t.history != nil {
		pl.hist = t.history(g, p, pl.hist)
	}
	d.hist = g.sessions(p, pl.hist)
	d.desc = t.build(g, p, &d, pl)
	c, err := g.finish(d)
	c.Tactic = t.Name
	return c, err
}

// harms reports whether a call does damage in an attacker's hands: it
// reaches sensitive data, or writes, deletes, exports or sends beyond
// routine resources.
func harms(c call) bool {
	switch c.tool.kind {
	case kExport, kSend:
		return true
	case kWrite, kDelete:
		return c.res.tier >= 2
	}
	return c.res.tier >= 3
}

// targets lists the harmful calls p's registration allows, most damaging first.
func targets(g *gen, p *profile) []call {
	var out []call
	for _, res := range append(slices.Clone(p.uses), p.extra...) {
		for _, t := range res.tools {
			c := call{res: res, tool: t, tenant: tenantFor(res, pick(g.r, p.tenants))}
			if harms(c) {
				out = append(out, c)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b call) int { return weight(b) - weight(a) })
	return out
}

func weight(c call) int {
	w := c.res.tier * 10
	if c.tool.kind == kExport || c.tool.kind == kSend {
		w += 15
	}
	return w
}

func hasTarget(p *profile) bool {
	for _, res := range append(slices.Clone(p.uses), p.extra...) {
		for _, t := range res.tools {
			if harms(call{res: res, tool: t}) {
				return true
			}
		}
	}
	return false
}

// actor plays one party's steps in a scored session.
type actor struct {
	g       *gen
	p       *profile
	t       time.Time
	ip      string
	session string
	pace    [2]time.Duration
	out     []tstep
	// owner is true for the rightful client's steps in an attack case.
	owner bool
}

func (g *gen) actor(p *profile, at time.Time, ip netip.Addr, session string) *actor {
	return &actor{g: g, p: p, t: at, ip: ip.String(), session: session, pace: p.pace}
}

func (a *actor) add(j jStep) {
	if j.IP == "" {
		j.IP = a.ip
	}
	j.Session = a.session
	a.out = append(a.out, tstep{at: a.t, s: j, attacker: !a.owner})
}

func (a *actor) wait(lo, hi time.Duration) { a.t = a.t.Add(a.g.r.dur(lo, hi)) }

func (a *actor) token() {
	a.add(jStep{Op: "token", Client: a.p.id, Scope: strings.Join(a.p.registeredScopes(), " ")})
}

// call exchanges for c, harmful or not, after the actor's pace; a resource
// server introspects the result now and then.
func (a *actor) call(c call, harmful bool) {
	a.wait(a.pace[0], a.pace[1])
	a.add(jStep{Op: "exchange", Scope: c.tool.scope, Audience: c.res.aud, Tool: c.tool.name, Tenant: c.tenant,
		Actor: c.by, IP: c.byIP, Harmful: harmful})
	if c.res.rs != "" && a.g.r.chance(a.p.inspect) {
		a.wait(time.Second, time.Second)
		a.add(jStep{Op: "introspect", RS: c.res.rs, Tool: c.tool.name, Tenant: c.tenant, IP: c.byIP})
	}
}

// calls makes each call, harmful when it harms.
func (a *actor) calls(cs []call) {
	for _, c := range cs {
		a.call(c, harms(c))
	}
}

// routine makes calls the client itself makes in the same context (same
// host, same hours): nothing tells them from its own, so they are not
// marked harmful even when the attacker makes them.
func (a *actor) routine(cs []call) {
	for _, c := range cs {
		a.call(c, false)
	}
}

// objective is what an attacker holding p's credentials goes for: a few
// of its most damaging calls.
func objective(g *gen, p *profile) []call {
	ts := targets(g, p)
	top := ts[:min(len(ts), 3)]
	var out []call
	for range g.r.between(2, 5) {
		out = append(out, pick(g.r, top))
	}
	return out
}

// lead adds the owner's first scored session (without its closing
// revocation) and returns its last step.
func (g *gen) lead(p *profile, d *draft, pl plan) tstep {
	steps := label("s", 0, g.session(p, pl.scored[0]).steps)
	if steps[len(steps)-1].s.Op == "revoke" {
		steps = steps[:len(steps)-1]
	}
	d.scored = append(d.scored, steps...)
	return steps[len(steps)-1]
}

func stolenCredential(g *gen, p *profile, d *draft, pl plan) string {
	if g.r.chance(0.5) {
		g.lead(p, d, pl)
	}
	a := g.actor(p, pl.w.Add(g.r.dur(time.Hour, 6*time.Hour)), foreignAddr(g.r), "x1")
	a.token()
	a.calls(pick(g.r, p.flows))
	a.calls(objective(g, p))
	d.scored = append(d.scored, a.out...)
	return describe("stolen credentials of a", p.kind, "are used from a network it never used:", a.ip)
}

func networkViolation(g *gen, p *profile, d *draft, pl plan) string {
	ip := foreignAddr(g.r)
	if outside := slicesWhere(g.o.sites, func(n netip.Prefix) bool { return !slices.Contains(p.nets, n) }); len(outside) > 0 && g.r.chance(0.6) {
		ip = host(g.r, pick(g.r, outside))
	}
	g.lead(p, d, pl)
	a := g.actor(p, pl.w.Add(g.r.dur(20*time.Minute, 3*time.Hour)), ip, "x1")
	a.token()
	a.calls(objective(g, p))
	d.scored = append(d.scored, a.out...)
	return describe("a", p.kind, "key is used from", ip.String(), "outside its declared networks")
}

func slicesWhere[T any](xs []T, ok func(T) bool) []T {
	var out []T
	for _, x := range xs {
		if ok(x) {
			out = append(out, x)
		}
	}
	return out
}

// registerSensitive registers p for a resource of at least tier it never uses.
func registerSensitive(tier int) func(*gen, *profile) {
	return func(g *gen, p *profile) {
		for _, res := range p.extra {
			if res.tier >= tier {
				return
			}
		}
		cands := g.o.resourcesWhere(func(x *resource) bool { return x.tier >= tier && plain(x) && !slices.Contains(p.uses, x) })
		p.extra = append(p.extra, pick(g.r, cands))
	}
}

// immature leaves p with a handful of long sessions over its weeks of
// history and a secret store it is registered for.
func immature(g *gen, p *profile) {
	registerSensitive(4)(g, p)
	p.long = true
	p.pace = [2]time.Duration{30 * time.Second, 2 * time.Minute}
	p.every = time.Duration(g.r.between(3, 6)) * 24 * time.Hour
	p.kind = pick(g.r, []string{KindWorkload, KindService})
	p.days = weekdays(true)
	p.sched, p.runs = nil, nil
}

func pivot(g *gen, p *profile, d *draft, pl plan) string {
	last := g.lead(p, d, pl)
	var res *resource
	for _, x := range p.extra {
		if res == nil || x.tier > res.tier {
			res = x
		}
	}
	a := g.actor(p, last.at, netip.MustParseAddr(last.s.IP), "s1")
	reads := res.toolsOf(kRead, kExport)
	for range g.r.between(2, 4) {
		a.call(call{res: res, tool: pick(g.r, reads), tenant: tenantFor(res, pick(g.r, p.tenants))}, true)
	}
	d.scored = append(d.scored, a.out...)
	return describe("a", p.kind, "finishes its usual work and turns to", res.aud, "(tier", itoa(res.tier)+"), registered for but never used")
}

func parallelUse(g *gen, p *profile, d *draft, pl plan) string {
	owner := label("s", 0, g.session(p, pl.scored[0]).steps)
	d.scored = append(d.scored, owner...)
	a := g.actor(p, owner[0].at.Add(g.r.dur(20*time.Second, 2*time.Minute)), foreignAddr(g.r), "s1")
	a.pace = [2]time.Duration{2 * time.Second, 10 * time.Second}
	a.calls(objective(g, p))
	d.scored = append(d.scored, a.out...)
	return describe("the session token of a", p.kind, "is replayed from", a.ip, "while the client still uses it")
}

func refreshTheft(g *gen, p *profile, d *draft, pl plan) string {
	o := g.actor(p, pl.w, pick(g.r, p.hosts), "s1")
	o.owner = true
	o.token()
	o.routine(pick(g.r, p.flows)[:1])
	o.wait(6*time.Minute, 9*time.Minute)
	o.add(jStep{Op: "refresh"})
	a := g.actor(p, o.t.Add(g.r.dur(time.Minute, 20*time.Minute)), foreignAddr(g.r), "s1")
	a.pace = [2]time.Duration{2 * time.Second, 20 * time.Second}
	stale := g.r.chance(0.4)
	if stale {
		a.add(jStep{Op: "refresh", Reuse: true}) // an older, already rotated token
	} else {
		a.add(jStep{Op: "refresh"})
	}
	a.calls(objective(g, p))
	if !stale {
		o.t = a.t.Add(g.r.dur(time.Minute, 5*time.Minute))
		o.add(jStep{Op: "refresh", Reuse: true}) // the owner still holds the token the thief redeemed
		a.t = o.t
		a.calls(objective(g, p))
	}
	d.scored = append(d.scored, o.out...)
	d.scored = append(d.scored, a.out...)
	how := "redeems the current refresh token before the owner does"
	if stale {
		how = "presents an already rotated refresh token"
	}
	return describe("a thief of a", p.kind+"'s", "refresh token", how, "from", a.ip)
}

// everyFlowReaches reports whether each of p's sessions reaches a resource
// of at least tier, so that more of the same work can do harm.
func everyFlowReaches(p *profile, tier int) bool {
	for _, f := range p.flows {
		if !slices.ContainsFunc(f, func(c call) bool { return c.res.tier >= tier }) {
			return false
		}
	}
	return true
}

// usual is the most calls p makes in one session of its history.
func usual(p *profile) int {
	n := 0
	for _, f := range p.flows {
		n = max(n, len(f))
	}
	return int(float64(n)*p.monthEnd + 0.5)
}

func volumeSpike(g *gen, p *profile, d *draft, pl plan) string {
	s := pl.scored[0]
	a := g.actor(p, s.at, s.ip, "x1")
	a.token()
	n := usual(p)
	factor := g.r.between(12, 25)
	flow := scaled(s.flow, float64(factor*n)/float64(len(s.flow)))
	for i, c := range flow {
		a.call(c, i >= 3*n && c.res.tier >= 2)
	}
	d.scored = append(d.scored, a.out...)
	return describe("a", p.kind, "at its usual hour and pace makes", itoa(factor), "times its usual number of calls")
}

// registerDeletes makes sure p works with a resource that has a delete tool.
func registerDeletes(g *gen, p *profile) {
	for _, res := range p.uses {
		if len(res.toolsOf(kDelete)) > 0 && res.tier >= 2 {
			return
		}
	}
	cands := g.o.resourcesWhere(func(x *resource) bool { return len(x.toolsOf(kDelete)) > 0 && x.tier >= 2 && x.tier <= 3 })
	res := pick(g.r, cands)
	p.uses = append(p.uses, res)
	for i := range p.flows {
		p.flows[i] = append(slices.Clone(p.flows[i]), g.callOn(p, res, true))
	}
}

func destructiveBurst(g *gen, p *profile, d *draft, pl plan) string {
	var res *resource
	for _, x := range p.uses {
		if len(x.toolsOf(kDelete)) > 0 && x.tier >= 2 {
			res = x
		}
	}
	s := pl.scored[0]
	a := g.actor(p, s.at, s.ip, "x1")
	a.pace = [2]time.Duration{500 * time.Millisecond, 3 * time.Second}
	a.token()
	a.routine(s.flow[:min(len(s.flow), 2)])
	n := g.r.between(10, 40)
	del := res.toolsOf(kDelete)[0]
	for i := range n {
		a.call(call{res: res, tool: del, tenant: tenantFor(res, pick(g.r, p.tenants))}, i >= 1)
	}
	d.scored = append(d.scored, a.out...)
	return describe("a", p.kind, "deletes", itoa(n), "records on", res.aud, "in a burst")
}

// usePaid makes p call a paid tool now and then.
func usePaid(g *gen, p *profile) {
	var res *resource
	for _, x := range p.uses {
		if x.dom.paid {
			res = x
		}
	}
	if res == nil {
		res = pick(g.r, g.o.resourcesWhere(func(x *resource) bool { return x.dom.paid }))
		p.uses = append(p.uses, res)
		for i := range p.flows {
			if i%2 == 0 {
				p.flows[i] = append(slices.Clone(p.flows[i]), g.callOn(p, res, true))
			}
		}
	}
}

func costLoop(g *gen, p *profile, d *draft, pl plan) string {
	var res *resource
	for _, x := range p.uses {
		if x.dom.paid {
			res = x
		}
	}
	most := 0
	for _, f := range p.flows {
		n := 0
		for _, c := range f {
			if c.res == res {
				n++
			}
		}
		most = max(most, n)
	}
	most = max(1, int(float64(most)*p.monthEnd+0.5))
	s := pl.scored[0]
	a := g.actor(p, s.at, s.ip, "x1")
	a.token()
	a.routine(s.flow)
	a.pace = [2]time.Duration{time.Second, 4 * time.Second}
	n := g.r.between(40, 120)
	t := pick(g.r, res.toolsOf(kPaid))
	for i := range n {
		a.call(call{res: res, tool: t}, i >= 3*most)
	}
	d.scored = append(d.scored, a.out...)
	return describe("a", p.kind, "calls the paid tool", t.name, itoa(n), "times in a loop")
}

// separateEgress has p read a sensitive resource in some sessions and send
// through an egress channel in others, never both in one.
func separateEgress(g *gen, p *profile) {
	var sens, out *resource
	for _, x := range p.uses {
		switch {
		case x.dom.egress:
			out = x
		case x.tier >= 3 && plain(x):
			sens = x
		}
	}
	if sens == nil {
		sens = pick(g.r, g.o.resourcesWhere(func(x *resource) bool { return x.tier == 3 && plain(x) }))
		p.uses = append(p.uses, sens)
	}
	if out == nil {
		out = pick(g.r, g.o.resourcesWhere(func(x *resource) bool { return x.dom.egress }))
		p.uses = append(p.uses, out)
	}
	var routine []*resource
	for _, x := range p.uses {
		if x != sens && x != out {
			routine = append(routine, x)
		}
	}
	p.flows = nil
	for i := range 4 {
		var f []call
		if len(routine) > 0 {
			f = append(f, g.callOn(p, pick(g.r, routine), true))
		}
		for range g.r.between(1, 3) {
			if i%2 == 0 {
				f = append(f, g.callOn(p, sens, true))
			} else {
				f = append(f, g.callOn(p, out, false))
			}
		}
		p.flows = append(p.flows, f)
	}
}

func exfilOrder(g *gen, p *profile, d *draft, pl plan) string {
	var sens, out *resource
	for _, x := range p.uses {
		switch {
		case x.dom.egress:
			out = x
		case x.tier >= 3 && plain(x):
			sens = x
		}
	}
	s := pl.scored[0]
	a := g.actor(p, s.at, s.ip, "x1")
	a.token()
	for range g.r.between(2, 4) {
		a.call(g.callOn(p, sens, true), false) // reads it makes every week
	}
	for range g.r.between(2, 4) {
		a.call(g.callOn(p, out, false), true)
	}
	d.scored = append(d.scored, a.out...)
	return describe("a", p.kind, "reads", sens.aud, "and then sends through", out.aud+",", "each familiar, never in one session before")
}

func upstreamSignal(g *gen, p *profile, d *draft, pl plan) string {
	last := g.lead(p, d, pl)
	sig := pick(g.r, []jSignal{{Type: "risk-level-change", Level: "medium"}, {Type: "risk-level-change", Level: "medium"},
		{Type: "risk-level-change", Level: "high"}, {Type: "credential-change"}})
	a := g.actor(p, last.at.Add(time.Second), netip.MustParseAddr(last.s.IP), "s1")
	a.add(jStep{Op: "signal", Signal: &sig})
	a.calls(objective(g, p))
	d.scored = append(d.scored, a.out...)
	return describe("an upstream provider reports", strings.TrimSpace(sig.Type+" "+sig.Level), "for a", p.kind, "whose session then goes on to its most sensitive work")
}

func escalation(g *gen, p *profile, d *draft, pl plan) string {
	last := g.lead(p, d, pl)
	a := g.actor(p, last.at, netip.MustParseAddr(last.s.IP), "s1")
	res := pick(g.r, p.uses)
	scope := strings.SplitN(res.tools[0].scope, ".", 2)[0] + ".admin"
	a.wait(time.Second, 10*time.Second)
	a.add(jStep{Op: "exchange", Scope: scope, Audience: res.aud, Tool: res.tools[0].name, Harmful: true})
	if ts := targets(g, p); len(ts) > 0 {
		a.call(ts[0], true)
	}
	d.scored = append(d.scored, a.out...)
	return describe("a", p.kind, "asks for", scope, "which it is not registered for")
}

func mimicry(g *gen, p *profile, d *draft, pl plan) string {
	s := pl.scored[0]
	a := g.actor(p, s.at, s.ip, "x1")
	a.token()
	var fresh []string
	for _, t := range g.o.tenants {
		if !slices.Contains(p.tenants, t) {
			fresh = append(fresh, t)
		}
	}
	for _, c := range s.flow {
		if c.tenant != "" && c.res.tenant == "" && c.res.tier >= 2 {
			c.tenant = pick(g.r, fresh)
			a.call(c, c.res.tier >= 3 || c.tool.kind != kRead)
			continue
		}
		a.call(c, false)
	}
	ts := targets(g, p)
	exported := false
	for _, c := range ts {
		if c.tool.kind == kExport {
			a.call(c, true)
			exported = true
			break
		}
	}
	if !exported {
		a.call(ts[0], true)
	}
	d.scored = append(d.scored, a.out...)
	return describe("an attacker on a", p.kind+"'s", "own host, at its hours and with its tools, works on other tenants' data")
}

func offSchedule(g *gen, p *profile, d *draft, pl plan) string {
	day := pl.w.In(p.loc)
	last := p.runs[len(p.runs)-1]
	at := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, p.loc).Add(time.Duration(last+g.r.between(180, 300)) * time.Minute)
	if at.Before(pl.w) {
		at = at.AddDate(0, 0, 1)
	}
	a := g.actor(p, at, pick(g.r, p.hosts), "x1")
	a.token()
	a.calls(pl.scored[0].flow)
	a.calls(objective(g, p))
	d.scored = append(d.scored, a.out...)
	return describe("a scheduled job's credentials run its work and more outside its declared window, at", at.In(p.loc).Format("15:04"), p.loc.String())
}

// foreignTenantCalls are reads of tenants p never serves on its
// multi-tenant resources.
func foreignTenantCalls(g *gen, p *profile, n int) []call {
	var res []*resource
	for _, x := range p.uses {
		if x.tenant == "" && x.tier >= 2 && plain(x) {
			res = append(res, x)
		}
	}
	var fresh []string
	for _, t := range g.o.tenants {
		if !slices.Contains(p.tenants, t) {
			fresh = append(fresh, t)
		}
	}
	var out []call
	for i := range n {
		x := pick(g.r, res)
		out = append(out, call{res: x, tool: pick(g.r, x.toolsOf(kRead)), tenant: fresh[i%len(fresh)]})
	}
	return out
}

func splitting(g *gen, p *profile, d *draft, pl plan) string {
	n := g.r.between(8, 15)
	reads := foreignTenantCalls(g, p, 2*n)
	t := pl.w
	k := 0
	ip := pick(g.r, p.hosts)
	for i := range n {
		a := g.actor(p, t, ip, "x"+itoa(i+1))
		a.token()
		for range g.r.between(1, 2) {
			a.call(reads[k], k >= 2)
			k++
		}
		a.wait(time.Second, 3*time.Second)
		a.add(jStep{Op: "revoke"})
		d.scored = append(d.scored, a.out...)
		t = a.t.Add(g.r.dur(2*time.Minute, 12*time.Minute))
	}
	return describe("a", p.kind, "reads", itoa(k), "records of tenants it never served, split over", itoa(n), "short sessions")
}

func lowAndSlow(g *gen, p *profile, d *draft, pl plan) string {
	ahead := g.slots(p, pl.w, pl.w.Add(8*24*time.Hour))
	ahead = ahead[:min(len(ahead), g.r.between(5, 9))]
	extra := foreignTenantCalls(g, p, len(ahead))
	for i, s := range ahead {
		a := g.actor(p, s.at, s.ip, "x"+itoa(i+1))
		a.token()
		a.routine(s.flow)
		a.call(extra[i], i >= 2)
		d.scored = append(d.scored, a.out...)
	}
	return describe("over", itoa(len(ahead)), "of its usual sessions a", p.kind, "reads one more tenant's data each time")
}

func probing(g *gen, p *profile, d *draft, pl plan) string {
	var res *resource
	for _, x := range p.extra {
		if res == nil || x.tier > res.tier {
			res = x
		}
	}
	ip, inside := pick(g.r, p.hosts), true
	if g.r.chance(0.5) {
		ip, inside = foreignAddr(g.r), false
	}
	t := pl.w
	n := g.r.between(3, 6)
	for i := range n {
		a := g.actor(p, t, ip, "x"+itoa(i+1))
		a.pace = [2]time.Duration{time.Duration(i+1) * 5 * time.Second, time.Duration(i+1) * 30 * time.Second}
		a.token()
		flow := pick(g.r, p.flows)
		if inside {
			a.routine(flow[:min(len(flow), i+1)])
		} else {
			a.calls(flow[:min(len(flow), i+1)])
		}
		a.call(call{res: res, tool: pick(g.r, res.toolsOf(kRead, kExport)), tenant: tenantFor(res, pick(g.r, p.tenants))}, true)
		d.scored = append(d.scored, a.out...)
		t = a.t.Add(g.r.dur(10*time.Minute, 2*time.Hour))
	}
	return describe("an attacker probes", res.aud, "with a", p.kind+"'s", "key in", itoa(n), "sessions, slower and more disguised each time")
}

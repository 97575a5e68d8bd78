package eval

import (
	"net/netip"
	"slices"
	"strings"
	"time"
)

// tstep is a step placed on the clock.
type tstep struct {
	at time.Time
	s  jStep
	// attacker marks an attacker's step in a malicious case.
	attacker bool
}

// sess is one session a client runs: its steps on the clock.
type sess struct {
	start time.Time
	steps []tstep
}

// slot is a planned session: when, from where, and what it does.
type slot struct {
	at    time.Time
	ip    netip.Addr
	flow  []call
	scale float64 // volume factor (month-end peaks)
	// own confines the session to its flow: a long session pads with its
	// own calls, not the client's other work.
	own bool
}

// slots lists the sessions p's cadence plans in [from, to), in time order.
func (g *gen) slots(p *profile, from, to time.Time) []slot {
	r := g.r
	var out []slot
	add := func(at time.Time, ip netip.Addr) {
		if at.Before(from) || !at.Before(to) {
			return
		}
		s := slot{at: at, ip: ip, flow: pick(r, p.flows), scale: 1}
		if p.monthEnd > 1 && monthEnd(at.In(p.loc)) {
			s.scale = p.monthEnd
		}
		out = append(out, s)
	}
	switch p.kind {
	case KindJob, KindAgent:
		for d := from.In(p.loc).AddDate(0, 0, -1); d.Before(to); d = d.AddDate(0, 0, 1) {
			if !p.days[d.Weekday()] {
				continue
			}
			y, m, day := d.Date()
			var mins []int
			if p.kind == KindJob {
				mins = p.runs
			} else {
				for range p.perDay {
					mins = append(mins, r.between(p.winFrom, p.winTo-30))
				}
				slices.Sort(mins)
			}
			for _, mi := range mins {
				add(time.Date(y, m, day, mi/60, mi%60, r.IntN(60)*btoi(p.kind == KindAgent), 0, p.loc), pick(r, p.hosts))
			}
		}
	default:
		// Replicas (or a service's instances) take turns on a regular beat,
		// the same in history and after it.
		phase := time.Duration(p.phase * float64(p.every)).Truncate(time.Minute)
		first := from.Truncate(p.every).Add(phase)
		for i, at := 0, first; at.Before(to); i, at = i+1, at.Add(p.every) {
			add(at, p.hosts[i%len(p.hosts)])
		}
	}
	slices.SortStableFunc(out, func(a, b slot) int { return a.at.Compare(b.at) })
	return out
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// monthEnd reports whether t falls on one of the last two days of its month.
func monthEnd(t time.Time) bool { return t.AddDate(0, 0, 2).Month() != t.Month() }

// registeredScopes is every scope p is registered for, in a stable order.
func (p *profile) registeredScopes() []string {
	var out []string
	for _, res := range append(slices.Clone(p.uses), p.extra...) {
		for _, sc := range res.scopes() {
			if !slices.Contains(out, sc) {
				out = append(out, sc)
			}
		}
	}
	return out
}

// session plays a slot as p would: a token, then each call exchanged (and
// introspected by the resource server now and then), refreshing a long
// session before its token expires, sometimes revoking at the end.
func (g *gen) session(p *profile, s slot) sess {
	r := g.r
	t := s.at
	ip := s.ip.String()
	out := sess{start: t}
	step := func(j jStep) {
		if j.IP == "" {
			j.IP = ip
		}
		out.steps = append(out.steps, tstep{at: t, s: j})
	}
	step(jStep{Op: "token", Client: p.id, Scope: strings.Join(p.registeredScopes(), " ")})
	last := t
	calls := scaled(s.flow, s.scale)
	if p.long {
		for len(calls) < 12 {
			pad := pick(r, p.flows)
			if s.own {
				pad = s.flow
			}
			calls = append(calls, pad...)
		}
	}
	sensitive := false
	for _, c := range calls {
		t = t.Add(r.dur(p.pace[0], p.pace[1]))
		if t.Sub(last) > 10*time.Minute {
			// A session that reached sensitive data gets no refresh: the
			// client authenticates again instead.
			if sensitive {
				step(jStep{Op: "token", Client: p.id, Scope: strings.Join(p.registeredScopes(), " ")})
			} else {
				step(jStep{Op: "refresh"})
			}
			last = t
			t = t.Add(time.Second)
		}
		g.callSteps(p, c, &t, step)
		sensitive = sensitive || c.res.tier >= 3
	}
	if r.chance(0.4) {
		t = t.Add(r.dur(time.Second, 5*time.Second))
		step(jStep{Op: "revoke"})
	}
	return out
}

// callSteps appends the exchange for c and, sometimes, the resource
// server's introspection of the token it got.
func (g *gen) callSteps(p *profile, c call, t *time.Time, step func(jStep)) {
	step(jStep{Op: "exchange", Scope: c.tool.scope, Audience: c.res.aud, Tool: c.tool.name, Tenant: c.tenant, Actor: c.by, IP: c.byIP})
	if c.res.rs != "" && g.r.chance(p.inspect) {
		*t = t.Add(time.Second)
		step(jStep{Op: "introspect", RS: c.res.rs, Tool: c.tool.name, Tenant: c.tenant, IP: c.byIP})
	}
}

// scaled repeats a flow's calls to reach factor times its volume.
func scaled(flow []call, factor float64) []call {
	n := int(float64(len(flow))*factor + 0.5)
	out := make([]call, 0, n)
	for i := range n {
		out = append(out, flow[i%len(flow)])
	}
	return out
}

// blocks turns history sessions into format blocks relative to start:
// consecutive sessions with the same steps and the same spacing share a
// block.
func blocks(hist []sess, start time.Time, jitter time.Duration) []jBlock {
	slices.SortStableFunc(hist, func(a, b sess) int { return a.start.Compare(b.start) })
	var out []jBlock
	var prevStart time.Time
	var prevKey string
	for _, s := range hist {
		steps := relative(s)
		key := stepsKey(steps)
		if n := len(out); n > 0 && key == prevKey {
			b := &out[n-1]
			gap := s.start.Sub(prevStart)
			switch {
			case b.Sessions == 1 && gap > 0:
				b.Sessions, b.Every = 2, gap.String()
				prevStart = s.start
				continue
			case b.Sessions > 1 && gap.String() == b.Every:
				b.Sessions++
				prevStart = s.start
				continue
			}
		}
		out = append(out, jBlock{Sessions: 1, Every: "24h0m0s", From: offset(s.start.Sub(start)), Jitter: jitter.String(), Steps: steps})
		prevStart, prevKey = s.start, key
	}
	return out
}

// relative renders a session's steps with delays from the previous step.
func relative(s sess) []jStep {
	out := make([]jStep, len(s.steps))
	prev := s.start
	for i, st := range s.steps {
		j := st.s
		j.At = delay(st.at.Sub(prev))
		prev = st.at
		out[i] = j
	}
	return out
}

func stepsKey(steps []jStep) string {
	b, _ := marshalLine(jScenario{Steps: steps})
	return string(b)
}

package eval

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/internal/replay"
)

// draft is a scenario being assembled.
type draft struct {
	id, label, desc string
	tags            []string
	p               *profile
	clients         map[string]jClient // besides p and the resource servers
	hist            []sess
	scored          []tstep // on the clock, in any order
	jitter          time.Duration
}

// registration is p's client registration.
func (p *profile) registration() jClient {
	c := jClient{Kind: p.kind, Scopes: p.registeredScopes(), DPoP: p.dpop, MayAct: p.mayAct, Schedule: p.sched}
	for _, res := range append(slices.Clone(p.uses), p.extra...) {
		if !slices.Contains(c.Audiences, res.aud) {
			c.Audiences = append(c.Audiences, res.aud)
		}
	}
	for _, n := range p.nets {
		c.Networks = append(c.Networks, n.String())
	}
	return c
}

// finish renders the draft in the scenario format and parses it back.
func (g *gen) finish(d draft) (Case, error) {
	slices.SortStableFunc(d.scored, func(a, b tstep) int { return a.at.Compare(b.at) })
	if len(d.scored) == 0 {
		return Case{}, fmt.Errorf("eval: %s has no scored step", d.id)
	}
	start := d.scored[0].at
	js := jScenario{ID: d.id, Label: d.label, Tags: d.tags, Description: d.desc, Start: start.UTC().Format(time.RFC3339),
		Resources: map[string]jResource{}, Clients: map[string]jClient{d.p.id: d.p.registration()}}
	for id, c := range d.clients {
		js.Clients[id] = c
	}
	js.History = blocks(d.hist, start, d.jitter)
	prev := start
	attackFrom := -1
	for i, st := range d.scored {
		if st.attacker && attackFrom < 0 {
			attackFrom = i
		}
		j := st.s
		j.At = delay(st.at.Sub(prev))
		prev = st.at
		js.Steps = append(js.Steps, j)
	}
	g.addResources(&js)
	line, err := marshalLine(js)
	if err != nil {
		return Case{}, fmt.Errorf("eval: %s: %w", d.id, err)
	}
	scs, err := replay.Parse(bytes.NewReader(line), "generated")
	if err != nil {
		return Case{}, fmt.Errorf("eval: generated scenario %s does not parse: %w", d.id, err)
	}
	if d.label == replay.LabelMalicious && attackFrom < 0 {
		return Case{}, fmt.Errorf("eval: malicious %s has no attacker step", d.id)
	}
	return Case{ID: d.id, Label: d.label, Kind: d.p.kind, AttackFrom: attackFrom, Scenario: scs[0], raw: line}, nil
}

// addResources declares every audience the scenario's clients register or
// call, and a resource server client for each that introspects.
func (g *gen) addResources(js *jScenario) {
	auds := map[string]bool{}
	for _, c := range js.Clients {
		for _, a := range c.Audiences {
			auds[a] = true
		}
	}
	for _, res := range g.o.resources {
		if !auds[res.aud] {
			continue
		}
		js.Resources[res.aud] = jResource{Sensitivity: res.tier, Tenant: res.tenant, Tactic: res.tactic}
		if res.rs != "" {
			js.Clients[res.rs] = jClient{Kind: "resource_server", Scopes: []string{}, Audiences: []string{}, Introspect: []string{res.aud}}
		}
	}
}

// labelSessions names the scored sessions: s1, s2... for the rightful
// owner's, x1, x2... for an attacker's.
func label(prefix string, i int, steps []tstep) []tstep {
	name := fmt.Sprintf("%s%d", prefix, i+1)
	for k := range steps {
		steps[k].s.Session = name
	}
	return steps
}

// describe joins words into a one-sentence description.
func describe(parts ...string) string {
	s := strings.Join(parts, " ")
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

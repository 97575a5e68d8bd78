package eval

import (
	"fmt"
	"slices"
	"time"

	"github.com/vigil-auth/vigil/internal/replay"
)

// Config parametrises a population.
type Config struct {
	// Seed makes the population: the same seed and sizes give the same
	// scenarios, byte for byte.
	Seed uint64
	// Clients is the number of clients; each yields one benign and one
	// malicious scenario. Zero means DefaultClients.
	Clients int
	// HistorySessions bounds, roughly, the sessions of history per client.
	// Zero means DefaultHistorySessions.
	HistorySessions int
}

// Defaults of Config.
const (
	DefaultClients         = 40
	DefaultHistorySessions = 24
)

func (c Config) withDefaults() Config {
	if c.Clients <= 0 {
		c.Clients = DefaultClients
	}
	if c.HistorySessions <= 0 {
		c.HistorySessions = DefaultHistorySessions
	}
	return c
}

// Case is one generated scenario with what it was generated to test.
type Case struct {
	ID    string
	Label string // replay.LabelBenign or replay.LabelMalicious
	Kind  string // the kind of the client under test
	// Behaviour names a benign case's twist ("routine" for none); Tactic a
	// malicious case's attack.
	Behaviour string
	Tactic    string
	// AttackFrom is the index of the attacker's first scored step in a
	// malicious case (-1 in a benign one).
	AttackFrom int
	Scenario   replay.Scenario
	raw        []byte // the scenario's line in the format
}

// Population is a generated set of cases.
type Population struct {
	Seed  uint64
	Cases []Case
}

// Scenarios returns the population's scenarios, in order.
func (p *Population) Scenarios() []replay.Scenario {
	out := make([]replay.Scenario, len(p.Cases))
	for i, c := range p.Cases {
		out[i] = c.Scenario
	}
	return out
}

// gen holds a generation's state.
type gen struct {
	r   rng
	o   *org
	cfg Config
}

// Generate builds the population of cfg.Seed: cfg.Clients clients cycling
// through every kind, each with a benign case (a behaviour drawn from
// Behaviours) and a malicious case (a tactic drawn from Tactics, every
// tactic in turn).
func Generate(cfg Config) (*Population, error) {
	cfg = cfg.withDefaults()
	g := &gen{r: newRNG(cfg.Seed, 0x5eed), cfg: cfg}
	g.o = newOrg(g.r)
	pop := &Population{Seed: cfg.Seed}
	tactics := newRota(g.r, len(Tactics))
	behaviours := newRota(g.r, len(Behaviours))
	for i := range cfg.Clients {
		kind := Kinds[(i+int(cfg.Seed))%len(Kinds)]
		p := g.newProfile(kind)
		g.budget(p)
		t := tactics.next(func(k int) bool { return Tactics[k].fits(p) })
		b := behaviours.next(func(k int) bool { return Behaviours[k].fits(p) })
		prefix := fmt.Sprintf("s%d-%03d-%s", cfg.Seed, i, kind)
		ben, err := g.benign(p.clone(), Behaviours[b], prefix)
		if err != nil {
			return nil, err
		}
		mal, err := g.attack(p.clone(), Tactics[t], prefix)
		if err != nil {
			return nil, err
		}
		pop.Cases = append(pop.Cases, ben, mal)
	}
	return pop, nil
}

// rota hands out indexes evenly: each time, the least used one that fits,
// ties broken by a random order fixed at the start.
type rota struct {
	order []int
	used  []int
}

func newRota(r rng, n int) *rota { return &rota{order: r.Perm(n), used: make([]int, n)} }

func (o *rota) next(fits func(int) bool) int {
	best := -1
	for _, k := range o.order {
		if fits(k) && (best < 0 || o.used[k] < o.used[best]) {
			best = k
		}
	}
	if best < 0 {
		best = o.order[0]
	}
	o.used[best]++
	return best
}

// budget sets how far back p's history goes, so that it holds about
// cfg.HistorySessions sessions, between two and five weeks.
func (g *gen) budget(p *profile) {
	perDay := 1.0
	switch p.kind {
	case KindJob:
		perDay = float64(len(p.runs))
	case KindAgent:
		perDay = float64(p.perDay)
	default:
		perDay = float64(24*time.Hour) / float64(p.every)
	}
	days := int(float64(g.cfg.HistorySessions) / perDay)
	p.history = time.Duration(max(14, min(days, 35))) * 24 * time.Hour
}

// clone copies p so that a case may change it without touching another.
func (p *profile) clone() *profile {
	q := *p
	q.uses, q.extra = slices.Clone(p.uses), slices.Clone(p.extra)
	q.hosts, q.nets, q.spare = slices.Clone(p.hosts), slices.Clone(p.nets), slices.Clone(p.spare)
	q.flows, q.mayAct, q.tenants = slices.Clone(p.flows), slices.Clone(p.mayAct), slices.Clone(p.tenants)
	q.actors = slices.Clone(p.actors)
	return &q
}

// plan is when a case happens: its owner's history and scored sessions.
type plan struct {
	w      time.Time // the first scored session
	hist   []slot
	scored []slot
}

// planAt plans p's sessions: the first session at or after base starts the
// scored window of span (at most n sessions), history fills p.history
// before it.
func (g *gen) planAt(p *profile, base time.Time, span time.Duration, n int) plan {
	ahead := g.slots(p, base, base.Add(span+10*24*time.Hour))
	w := ahead[0].at
	var scored []slot
	for _, s := range ahead {
		if s.at.Sub(w) < span && len(scored) < n {
			scored = append(scored, s)
		}
	}
	return plan{w: w, scored: scored, hist: g.slots(p, w.Add(-p.history), w.Add(-30*time.Minute))}
}

// someDay is a random day of the scenario year.
func (g *gen) someDay() time.Time {
	return time.Date(2026, 1, 12, 0, 0, 0, 0, time.UTC).AddDate(0, 0, g.r.IntN(330))
}

// sessions plays slots as p.
func (g *gen) sessions(p *profile, slots []slot) []sess {
	out := make([]sess, 0, len(slots))
	for _, s := range slots {
		out = append(out, g.session(p, s))
	}
	return out
}

// owned labels the owner's scored sessions s1, s2...
func (g *gen) owned(p *profile, slots []slot) []tstep {
	var out []tstep
	for i, s := range g.sessions(p, slots) {
		out = append(out, label("s", i, s.steps)...)
	}
	return out
}

package eval

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/internal/replay"
	"github.com/vigil-auth/vigil/risk"
)

// Options tune an evaluation.
type Options struct {
	// Parallel is how many scenarios replay at once; 0 means GOMAXPROCS.
	Parallel int
	// Knob sets the policy's tolerance; nil means ToleranceScale.
	Knob Knob
	// Policy is the policy the knob starts from; nil means risk.DefaultPolicy.
	Policy func() risk.Policy
}

func (o Options) knob() Knob {
	if o.Knob == nil {
		return ToleranceScale{}
	}
	return o.Knob
}

// Report is one evaluation of a population at one tolerance. Its JSON
// form is what `vigil eval --json` prints.
type Report struct {
	Seed uint64 `json:"seed"`
	// Seeds lists the seeds of a combined report.
	Seeds     []uint64 `json:"seeds,omitempty"`
	Clients   int      `json:"clients"`
	Knob      string   `json:"knob"`
	Tolerance float64  `json:"tolerance"`
	// Attacks is the number of malicious cases. Contained counts those in
	// which no harmful step was allowed (the scenario format's
	// containment); FirstHarmBlocked those whose first harmful step was
	// not allowed (a later one may have been).
	Attacks          int `json:"attacks"`
	Contained        int `json:"contained"`
	FirstHarmBlocked int `json:"first_harm_blocked"`
	HarmfulSteps     int `json:"harmful_steps"`
	HarmfulAllowed   int `json:"harmful_allowed"`
	// TimeToContain is the virtual time from an attack's first step to the
	// first step of it the server did not allow, over the attacks it
	// stopped at some point; Uncontained counts those it never stopped.
	TimeToContain Spread `json:"time_to_contain"`
	// Benign cases, their scored sessions and calls (steps), and those
	// answered step_up, deny or terminate.
	BenignCases          int     `json:"benign_cases"`
	BenignSessions       int     `json:"benign_sessions"`
	BenignFrictionSess   int     `json:"benign_sessions_with_friction"`
	BenignCasesFriction  int     `json:"benign_cases_with_friction"`
	BenignCalls          int     `json:"benign_calls"`
	BenignFrictionCalls  int     `json:"benign_friction_calls"`
	FrictionPer1000Calls float64 `json:"friction_per_1000_calls"`
	// HistorySteps counts the history steps replayed; HistoryRefused those
	// the server did not allow (they teach the engine nothing).
	HistorySteps   int `json:"history_steps"`
	HistoryRefused int `json:"history_refused"`
	// ByTactic and ByBehaviour break the figures down; Misses lists every
	// attack not contained and every benign case with friction.
	ByTactic    []Row   `json:"by_tactic"`
	ByBehaviour []Row   `json:"by_behaviour"`
	ByKind      []Row   `json:"by_kind"`
	Misses      []Miss  `json:"misses"`
	Curve       []Point `json:"curve,omitempty"`
	// Seconds is the wall time the replay took.
	Seconds float64 `json:"seconds"`
	ttc     []float64
}

// Spread summarises durations in seconds.
type Spread struct {
	N           int     `json:"n"`
	Median      float64 `json:"median_seconds"`
	P90         float64 `json:"p90_seconds"`
	Max         float64 `json:"max_seconds"`
	Uncontained int     `json:"uncontained"`
}

// Row is one line of a breakdown.
type Row struct {
	Name               string `json:"name"`
	Attacks            int    `json:"attacks,omitempty"`
	Contained          int    `json:"contained,omitempty"`
	BenignSessions     int    `json:"benign_sessions,omitempty"`
	BenignFrictionSess int    `json:"benign_sessions_with_friction,omitempty"`
}

// Miss is an attack that was not contained or a benign case with friction.
type Miss struct {
	ID     string `json:"id"`
	Label  string `json:"label"`
	What   string `json:"what"` // the tactic or behaviour
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

// Point is one tolerance of a detection/friction curve: the counts it was
// computed from and the shares.
type Point struct {
	Tolerance          float64 `json:"tolerance"`
	Attacks            int     `json:"attacks"`
	Contained          int     `json:"contained"`
	FirstHarmBlocked   int     `json:"first_harm_blocked"`
	HarmfulAllowed     int     `json:"harmful_allowed"`
	BenignSessions     int     `json:"benign_sessions"`
	BenignFrictionSess int     `json:"benign_sessions_with_friction"`
	BenignCalls        int     `json:"benign_calls"`
	BenignFrictionCall int     `json:"benign_friction_calls"`
	// ContainedPct is the share of attacks with no harmful step allowed,
	// FrictionPct the share of benign sessions with any friction.
	ContainedPct    float64 `json:"contained_pct"`
	FirstHarmPct    float64 `json:"first_harm_blocked_pct"`
	FrictionPct     float64 `json:"benign_session_friction_pct"`
	FrictionPer1000 float64 `json:"friction_per_1000_calls"`
}

// shares fills the point's percentages from its counts.
func (p Point) shares() Point {
	p.ContainedPct, p.FirstHarmPct = Pct(p.Contained, p.Attacks), Pct(p.FirstHarmBlocked, p.Attacks)
	p.FrictionPct = Pct(p.BenignFrictionSess, p.BenignSessions)
	p.FrictionPer1000 = 0
	if p.BenignCalls > 0 {
		p.FrictionPer1000 = 1000 * float64(p.BenignFrictionCall) / float64(p.BenignCalls)
	}
	return p
}

// Evaluate replays pop with the policy at tolerance t and scores it.
func Evaluate(ctx context.Context, pop *Population, t float64, opts Options) (*Report, error) {
	knob := opts.knob()
	base := risk.DefaultPolicy
	if opts.Policy != nil {
		base = opts.Policy
	}
	began := time.Now()
	rep, err := replay.Run(ctx, pop.Scenarios(), replay.Options{Parallel: opts.Parallel, Answer: true,
		Policy: func() risk.Policy { return knob.Apply(base(), t) }})
	if err != nil {
		return nil, err
	}
	out := Score(pop, rep)
	out.Knob, out.Tolerance = knob.Name(), t
	out.Seconds = time.Since(began).Seconds()
	return out, nil
}

// Score accounts a replay of pop (results in pop's order).
func Score(pop *Population, rep *replay.Report) *Report {
	out := &Report{Seed: pop.Seed, Clients: len(pop.Cases) / 2, Misses: []Miss{}}
	tactics, behaviours, kinds := map[string]*Row{}, map[string]*Row{}, map[string]*Row{}
	row := func(m map[string]*Row, name string) *Row {
		if m[name] == nil {
			m[name] = &Row{Name: name}
		}
		return m[name]
	}
	var ttc []float64
	for i, res := range rep.Results {
		c := pop.Cases[i]
		out.HistorySteps += res.HistorySteps
		out.HistoryRefused += len(res.HistoryRefused)
		k := row(kinds, c.Kind)
		if c.Label == replay.LabelMalicious {
			a := scoreAttack(c, res)
			out.Attacks++
			out.HarmfulSteps += a.harmful
			out.HarmfulAllowed += a.allowed
			r := row(tactics, c.Tactic)
			r.Attacks++
			k.Attacks++
			if a.contained {
				out.Contained++
				r.Contained++
				k.Contained++
			} else {
				out.Misses = append(out.Misses, Miss{ID: c.ID, Label: c.Label, What: c.Tactic, Kind: c.Kind,
					Detail: fmt.Sprintf("%d of %d harmful steps allowed", a.allowed, a.harmful)})
			}
			if a.firstBlocked {
				out.FirstHarmBlocked++
			}
			if a.stopped {
				ttc = append(ttc, a.ttc.Seconds())
			} else {
				out.TimeToContain.Uncontained++
			}
			continue
		}
		b := scoreBenign(res)
		out.BenignCases++
		out.BenignSessions += b.sessions
		out.BenignFrictionSess += len(b.friction)
		out.BenignCalls += b.calls
		out.BenignFrictionCalls += b.frictionCalls
		r := row(behaviours, c.Behaviour)
		r.BenignSessions += b.sessions
		r.BenignFrictionSess += len(b.friction)
		k.BenignSessions += b.sessions
		k.BenignFrictionSess += len(b.friction)
		if len(b.friction) > 0 {
			out.BenignCasesFriction++
			out.Misses = append(out.Misses, Miss{ID: c.ID, Label: c.Label, What: c.Behaviour, Kind: c.Kind,
				Detail: strings.Join(b.friction, "; ")})
		}
	}
	if out.BenignCalls > 0 {
		out.FrictionPer1000Calls = 1000 * float64(out.BenignFrictionCalls) / float64(out.BenignCalls)
	}
	out.ttc = ttc
	out.TimeToContain = spread(slices.Clone(ttc), out.TimeToContain.Uncontained)
	out.ByTactic, out.ByBehaviour, out.ByKind = rows(tactics), rows(behaviours), rows(kinds)
	return out
}

// attackScore is one malicious case's account.
type attackScore struct {
	harmful, allowed        int
	contained, firstBlocked bool
	stopped                 bool // some attacker step was not allowed
	ttc                     time.Duration
}

func scoreAttack(c Case, res replay.Result) attackScore {
	a := attackScore{contained: true}
	seenHarm := false
	var from time.Time
	for i, st := range res.Steps {
		if i == c.AttackFrom {
			from = st.At
		}
		if st.Harmful {
			a.harmful++
			if st.Decision == replay.Allow {
				a.allowed++
				a.contained = false
			}
			if !seenHarm {
				a.firstBlocked = st.Decision != replay.Allow
				seenHarm = true
			}
		}
		if i >= c.AttackFrom && !a.stopped && st.Decision != replay.Allow {
			a.stopped, a.ttc = true, st.At.Sub(from)
		}
	}
	return a
}

// benignScore is one benign case's account.
type benignScore struct {
	sessions, calls, frictionCalls int
	friction                       []string // "session: step op decision" of the first friction of each session
}

func scoreBenign(res replay.Result) benignScore {
	var b benignScore
	seen := map[string]bool{}
	hit := map[string]bool{}
	for _, st := range res.Steps {
		if !seen[st.Session] {
			seen[st.Session] = true
			b.sessions++
		}
		b.calls++
		if st.Decision == replay.Allow {
			continue
		}
		b.frictionCalls++
		if !hit[st.Session] {
			hit[st.Session] = true
			b.friction = append(b.friction, fmt.Sprintf("%s step %d %s: %s (score %d %s)",
				strings.TrimPrefix(st.Session, "run/"), st.Index, st.Op, st.Decision, st.Score, strings.Join(st.Reasons, " ")))
		}
	}
	return b
}

func spread(xs []float64, uncontained int) Spread {
	s := Spread{N: len(xs), Uncontained: uncontained}
	if len(xs) == 0 {
		return s
	}
	slices.Sort(xs)
	q := func(f float64) float64 { return xs[min(len(xs)-1, int(f*float64(len(xs))))] }
	s.Median, s.P90, s.Max = q(0.5), q(0.9), xs[len(xs)-1]
	return s
}

func rows(m map[string]*Row) []Row {
	out := make([]Row, 0, len(m))
	for _, r := range m {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b Row) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Pct returns a as a percentage of b (0 when b is 0).
func Pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// point summarises r as a curve point.
func (r *Report) point() Point {
	return Point{Tolerance: r.Tolerance, Attacks: r.Attacks, Contained: r.Contained, FirstHarmBlocked: r.FirstHarmBlocked,
		HarmfulAllowed: r.HarmfulAllowed, BenignSessions: r.BenignSessions, BenignFrictionSess: r.BenignFrictionSess,
		BenignCalls: r.BenignCalls, BenignFrictionCall: r.BenignFrictionCalls}.shares()
}

// DefaultTolerances are the tolerances a curve sweeps by default.
var DefaultTolerances = []float64{0.25, 0.5, 1, 2, 4}

// Curve evaluates pop at each tolerance and returns the report at
// tolerance 1 (evaluating it if ts lacks it) with the curve attached.
func Curve(ctx context.Context, pop *Population, ts []float64, opts Options) (*Report, error) {
	var main *Report
	var pts []Point
	for _, t := range ts {
		r, err := Evaluate(ctx, pop, t, opts)
		if err != nil {
			return nil, err
		}
		pts = append(pts, r.point())
		if t == 1 {
			main = r
		}
	}
	if main == nil {
		r, err := Evaluate(ctx, pop, 1, opts)
		if err != nil {
			return nil, err
		}
		main = r
	}
	slices.SortFunc(pts, func(a, b Point) int { return cmpFloat(a.Tolerance, b.Tolerance) })
	main.Curve = pts
	return main, nil
}

// Combine sums reports of several seeds into one: counts add up, shares,
// breakdowns, times to contain and curve points are recomputed over the
// whole. Seed is that of the first report.
func Combine(reps []*Report) *Report {
	if len(reps) == 1 {
		return reps[0]
	}
	out := &Report{Misses: []Miss{}}
	tactics, behaviours, kinds := map[string]*Row{}, map[string]*Row{}, map[string]*Row{}
	points := map[float64]*Point{}
	for i, r := range reps {
		if i == 0 {
			out.Seed, out.Knob, out.Tolerance = r.Seed, r.Knob, r.Tolerance
		}
		out.Seeds = append(out.Seeds, r.Seed)
		out.Clients += r.Clients
		out.Attacks += r.Attacks
		out.Contained += r.Contained
		out.FirstHarmBlocked += r.FirstHarmBlocked
		out.HarmfulSteps += r.HarmfulSteps
		out.HarmfulAllowed += r.HarmfulAllowed
		out.BenignCases += r.BenignCases
		out.BenignSessions += r.BenignSessions
		out.BenignFrictionSess += r.BenignFrictionSess
		out.BenignCasesFriction += r.BenignCasesFriction
		out.BenignCalls += r.BenignCalls
		out.BenignFrictionCalls += r.BenignFrictionCalls
		out.HistorySteps += r.HistorySteps
		out.HistoryRefused += r.HistoryRefused
		out.Seconds += r.Seconds
		out.TimeToContain.Uncontained += r.TimeToContain.Uncontained
		out.ttc = append(out.ttc, r.ttc...)
		out.Misses = append(out.Misses, r.Misses...)
		merge(tactics, r.ByTactic)
		merge(behaviours, r.ByBehaviour)
		merge(kinds, r.ByKind)
		for _, p := range r.Curve {
			q := points[p.Tolerance]
			if q == nil {
				q = &Point{Tolerance: p.Tolerance}
				points[p.Tolerance] = q
			}
			q.Attacks += p.Attacks
			q.Contained += p.Contained
			q.FirstHarmBlocked += p.FirstHarmBlocked
			q.HarmfulAllowed += p.HarmfulAllowed
			q.BenignSessions += p.BenignSessions
			q.BenignFrictionSess += p.BenignFrictionSess
			q.BenignCalls += p.BenignCalls
			q.BenignFrictionCall += p.BenignFrictionCall
		}
	}
	if out.BenignCalls > 0 {
		out.FrictionPer1000Calls = 1000 * float64(out.BenignFrictionCalls) / float64(out.BenignCalls)
	}
	out.TimeToContain = spread(slices.Clone(out.ttc), out.TimeToContain.Uncontained)
	out.ByTactic, out.ByBehaviour, out.ByKind = rows(tactics), rows(behaviours), rows(kinds)
	for _, p := range points {
		out.Curve = append(out.Curve, p.shares())
	}
	slices.SortFunc(out.Curve, func(a, b Point) int { return cmpFloat(a.Tolerance, b.Tolerance) })
	return out
}

func merge(into map[string]*Row, rs []Row) {
	for _, r := range rs {
		q := into[r.Name]
		if q == nil {
			q = &Row{Name: r.Name}
			into[r.Name] = q
		}
		q.Attacks += r.Attacks
		q.Contained += r.Contained
		q.BenignSessions += r.BenignSessions
		q.BenignFrictionSess += r.BenignFrictionSess
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

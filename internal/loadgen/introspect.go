package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Mix weighs the kinds of token an introspection workload presents.
type Mix struct {
	Valid, Expired, Revoked, Unknown float64
}

// DefaultMix is mostly live tokens, with the inactive kinds a resource
// server meets in practice. Unknown tokens are rare: a server should
// throttle a caller that presents many (RFC 7662 §4, token scanning), and
// Vigil does, so a flood of them would measure the throttle.
var DefaultMix = Mix{Valid: 89.9, Expired: 5, Revoked: 5, Unknown: 0.1}

// ParseMix parses "valid=70,expired=10,revoked=10,unknown=10"; kinds left
// out weigh 0.
func ParseMix(s string) (Mix, error) {
	var m Mix
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
			return m, fmt.Errorf("loadgen: mix %q: want kind=weight", part)
		}
		switch k {
		case "valid":
			m.Valid = n
		case "expired":
			m.Expired = n
		case "revoked":
			m.Revoked = n
		case "unknown":
			m.Unknown = n
		default:
			return m, fmt.Errorf("loadgen: mix: unknown kind %q", k)
		}
	}
	if m.total() == 0 {
		return m, fmt.Errorf("loadgen: mix %q weighs nothing", s)
	}
	return m, nil
}

func (m Mix) total() float64 { return m.Valid + m.Expired + m.Revoked + m.Unknown }

func (m Mix) String() string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	return "valid=" + f(m.Valid) + ",expired=" + f(m.Expired) + ",revoked=" + f(m.Revoked) + ",unknown=" + f(m.Unknown)
}

// IntrospectScenario measures RFC 7662 introspection by an authenticated
// resource server over a mix of valid, expired, revoked and unknown tokens,
// and checks every verdict.
type IntrospectScenario struct {
	Env *Env
	Mix Mix
	// Tokens is how many distinct tokens the pool holds (default 2000); the
	// valid ones each belong to their own session.
	Tokens int
	// ShortTTL is how long the Short agent's tokens live (default 1s).
	ShortTTL time.Duration

	probes []probe
}

// probe is one token to present and the verdict it must get.
type probe struct {
	req          *Request
	active       bool
	okTag, wrong string
}

// Name implements Scenario.
func (s *IntrospectScenario) Name() string { return "introspect" }

// Describe implements Scenario.
func (s *IntrospectScenario) Describe() string {
	return fmt.Sprintf("RFC 7662 introspection by %d authenticated resource servers (client_secret_basic), "+
		"pool of %d tokens (%s), every valid token in its own session", len(s.Env.RS), len(s.probes), s.effectiveMix())
}

func (s *IntrospectScenario) effectiveMix() Mix {
	m := s.Mix
	if s.Env.Short == nil {
		m.Expired = 0
	}
	if s.Env.RevokePath == "" {
		m.Revoked = 0
	}
	return m
}

func (s *IntrospectScenario) ops() []string { return []string{opIntrospect} }

// counts is how many tokens of each kind the pool holds: the pool size
// split by weight, at least one of every kind that weighs anything.
type poolCounts struct{ valid, expired, revoked, unknown int }

func (s *IntrospectScenario) counts() poolCounts {
	m := s.effectiveMix()
	n := s.Tokens
	if n <= 0 {
		n = 2000
	}
	part := func(w float64) int {
		if w == 0 {
			return 0
		}
		return max(1, int(math.Round(float64(n)*w/m.total())))
	}
	return poolCounts{part(m.Valid), part(m.Expired), part(m.Revoked), part(m.Unknown)}
}

func (s *IntrospectScenario) prepare(ctx context.Context, p *prep) error {
	n := s.counts()
	e := s.Env
	s.probes = s.probes[:0]
	if n.expired > 0 {
		if err := s.addExpired(ctx, p, n.expired); err != nil {
			return err
		}
	}
	valid, err := p.issueMany(ctx, e, e.Agents, n.valid)
	if err != nil {
		return err
	}
	s.add(valid, true, "valid")
	if err := s.addRevoked(ctx, p, n.revoked); err != nil {
		return err
	}
	s.add(unknownTokens(n.unknown), false, "unknown")
	rng := mrand.New(mrand.NewPCG(1, 2))
	rng.Shuffle(len(s.probes), func(i, j int) { s.probes[i], s.probes[j] = s.probes[j], s.probes[i] })
	return nil
}

func (s *IntrospectScenario) add(toks []string, active bool, kind string) {
	verdict, other := "inactive", "active"
	if active {
		verdict, other = other, verdict
	}
	for _, t := range toks {
		rs := s.Env.RS[len(s.probes)%len(s.Env.RS)]
		s.probes = append(s.probes, probe{req: s.Env.introspectRequest(rs, t), active: active,
			okTag: kind + " " + verdict, wrong: "wrong verdict: " + kind + " token " + other})
	}
}

// addExpired issues tokens to the short-lived agent and waits until they
// have expired.
func (s *IntrospectScenario) addExpired(ctx context.Context, p *prep, n int) error {
	ttl := s.ShortTTL
	if ttl <= 0 {
		ttl = time.Second
	}
	toks, err := p.issueMany(ctx, s.Env, []Cred{*s.Env.Short}, n)
	if err != nil {
		return err
	}
	if !sleep(ctx, ttl+time.Second) {
		return ctx.Err()
	}
	s.add(toks, false, "expired")
	return nil
}

// addRevoked issues tokens and revokes them (RFC 7009) as their owner.
func (s *IntrospectScenario) addRevoked(ctx context.Context, p *prep, n int) error {
	if n == 0 {
		return nil
	}
	e := s.Env
	toks, err := p.issueMany(ctx, e, e.Agents, n)
	if err != nil {
		return err
	}
	err = p.parallel(ctx, n, func(ctx context.Context, c *Conn, i int) error {
		return e.revoke(ctx, c, e.Agents[i%len(e.Agents)], toks[i])
	})
	if err != nil {
		return fmt.Errorf("revoking: %w", err)
	}
	s.add(toks, false, "revoked")
	return nil
}

func unknownTokens(n int) []string {
	out := make([]string, n)
	for i := range out {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		out[i] = "vgl_at_" + base64.RawURLEncoding.EncodeToString(b)
	}
	return out
}

func (s *IntrospectScenario) stepper(w int) stepper {
	return &introspectStepper{probes: s.probes, next: w, stride: max(1, s.stride())}
}

// stride is coprime with the pool size so that every worker visits every
// token.
func (s *IntrospectScenario) stride() int { return 7919 % max(len(s.probes), 1) }

type introspectStepper struct {
	probes       []probe
	next, stride int
}

func (t *introspectStepper) step(ctx context.Context, c *Conn, r *recorder, due time.Time) {
	p := &t.probes[t.next%len(t.probes)]
	t.next += t.stride
	resp, ok := call(ctx, c, r, opIntrospect, p.req, due)
	if !ok {
		return
	}
	checkIntrospection(r, opIntrospect, resp, p.active, p.okTag, p.wrong, due)
}

// checkIntrospection records an introspection answer: a success when the
// verdict is the expected one, tagged with the risk action when the server
// gives one.
func checkIntrospection(r *recorder, op string, resp Response, want bool, okTag, wrong string, due time.Time) {
	end := time.Now()
	if resp.Status != 200 {
		r.fail(op, due, end, failure(resp))
		return
	}
	active, ok := activeOf(resp.Body)
	switch {
	case !ok:
		r.fail(op, due, end, "no active member")
	case active != want:
		r.fail(op, due, end, wrong)
	default:
		r.ok(op, due, end, okTag, riskTag(resp.Body, active))
	}
}

// riskTag names Vigil's risk action in an active answer ("risk allow").
func riskTag(body []byte, active bool) string {
	if !active {
		return ""
	}
	switch jsonString(body, "action") {
	case "allow":
		return "risk allow"
	case "step_up":
		return "risk step_up"
	case "":
		return ""
	}
	return "risk other"
}

package risk_test

// This file reads scenario files (docs/SCENARIOS.md, format v1) and
// expands them into one time-ordered list of steps. It knows nothing about
// the server; scenario_server_test.go models that.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/risk"
)

type scenario struct {
	ID          string                  `json:"id"`
	Label       string                  `json:"label"`
	Tags        []string                `json:"tags"`
	Description string                  `json:"description"`
	Start       time.Time               `json:"start"`
	Resources   map[string]resourceSpec `json:"resources"`
	Clients     map[string]clientSpec   `json:"clients"`
	History     []block                 `json:"history"`
	Steps       []step                  `json:"steps"`
}

type resourceSpec struct {
	Sensitivity int    `json:"sensitivity"`
	Tenant      string `json:"tenant"`
	Tactic      string `json:"tactic"`
}

type clientSpec struct {
	Kind       string        `json:"kind"`
	Scopes     []string      `json:"scopes"`
	Audiences  []string      `json:"audiences"`
	Introspect []string      `json:"introspect"`
	Schedule   *scheduleSpec `json:"schedule"`
	Networks   []string      `json:"networks"`
	MayAct     []string      `json:"may_act"`
	DPoP       bool          `json:"dpop"`
}

type scheduleSpec struct {
	Days  string `json:"days"`
	Hours string `json:"hours"`
	TZ    string `json:"tz"`
}

type block struct {
	Sessions int    `json:"sessions"`
	Every    string `json:"every"`
	From     string `json:"from"`
	Jitter   string `json:"jitter"`
	Steps    []step `json:"steps"`
}

type step struct {
	At       string      `json:"at"`
	Session  string      `json:"session"`
	Op       string      `json:"op"`
	Client   string      `json:"client"`
	IP       string      `json:"ip"`
	Scope    string      `json:"scope"`
	Audience string      `json:"audience"`
	Tool     string      `json:"tool"`
	Tenant   string      `json:"tenant"`
	RS       string      `json:"rs"`
	Actor    string      `json:"actor"`
	Subject  string      `json:"subject"`
	Token    string      `json:"token"`
	Reuse    bool        `json:"reuse"`
	OK       *bool       `json:"ok"`
	Signal   *signalSpec `json:"signal"`
	Harmful  bool        `json:"harmful"`
	Expect   *expect     `json:"expect"`
}

type signalSpec struct {
	Type  string `json:"type"`
	Level string `json:"level"`
}

type expect struct {
	Decision string `json:"decision"`
	MaxTTL   *int   `json:"max_ttl"`
	Refresh  *bool  `json:"refresh"`
	Active   *bool  `json:"active"`
}

// readScenarios parses one JSON Lines file, skipping blank and // lines.
// Unknown fields are errors: a format change must not pass unnoticed.
func readScenarios(path string) ([]scenario, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []scenario
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || bytes.HasPrefix(line, []byte("//")) {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		var s scenario
		if err := dec.Decode(&s); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

// parseDuration reads a Go duration that may also use d for days ("-14d",
// "-336h5m", "+150ms").
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	sign := time.Duration(1)
	body := s
	switch body[0] {
	case '-':
		sign, body = -1, body[1:]
	case '+':
		body = body[1:]
	}
	var days time.Duration
	if i := strings.IndexByte(body, 'd'); i >= 0 {
		n, err := strconv.Atoi(body[:i])
		if err != nil {
			return 0, fmt.Errorf("duration %q: %w", s, err)
		}
		days, body = time.Duration(n)*24*time.Hour, body[i+1:]
	}
	var rest time.Duration
	if body != "" {
		var err error
		if rest, err = time.ParseDuration(body); err != nil {
			return 0, fmt.Errorf("duration %q: %w", s, err)
		}
	}
	return sign * (days + rest), nil
}

// timedStep is one step placed on the virtual clock.
type timedStep struct {
	at      time.Time
	session string // unique label of the session within the run
	step    step
	scored  bool
	index   int // position among the scored steps
}

// expand places every history and scored step on the clock: history first,
// in time order across all its sessions, then the scored steps in order.
func expand(s scenario) ([]timedStep, error) {
	var hist []timedStep
	for b, blk := range s.History {
		steps, err := expandBlock(s, b, blk)
		if err != nil {
			return nil, err
		}
		hist = append(hist, steps...)
	}
	slices.SortStableFunc(hist, func(a, b timedStep) int { return a.at.Compare(b.at) })
	at := s.Start
	out := hist
	for i, st := range s.Steps {
		t, err := stepTime(at, st.At)
		if err != nil {
			return nil, fmt.Errorf("%s: step %d: %w", s.ID, i, err)
		}
		at = t
		out = append(out, timedStep{at: t, session: "run/" + label(st.Session), step: st, scored: true, index: i})
	}
	return out, nil
}

func expandBlock(s scenario, b int, blk block) ([]timedStep, error) {
	from, err1 := parseDuration(blk.From)
	every, err2 := parseDuration(blk.Every)
	jitter, err3 := parseDuration(blk.Jitter)
	if err := firstErr(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("%s: history block %d: %w", s.ID, b, err)
	}
	var out []timedStep
	for i := range blk.Sessions {
		at := s.Start.Add(from + time.Duration(i)*every + jitterOffset(s.ID, i, jitter))
		for _, st := range blk.Steps {
			t, err := stepTime(at, st.At)
			if err != nil {
				return nil, fmt.Errorf("%s: history block %d: %w", s.ID, b, err)
			}
			at = t
			out = append(out, timedStep{at: t, session: fmt.Sprintf("h%d.%d/%s", b, i, label(st.Session)), step: st})
		}
	}
	return out, nil
}

// jitterOffset is the deterministic offset of history session i, uniform in
// ±jitter, seeded by the scenario id and i.
func jitterOffset(id string, i int, jitter time.Duration) time.Duration {
	if jitter <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	r := rand.New(rand.NewPCG(h.Sum64(), uint64(i)))
	return time.Duration(r.Int64N(int64(2*jitter)+1)) - jitter
}

// stepTime applies a step's "at": a relative delay (default +1s) or an
// absolute RFC 3339 time.
func stepTime(prev time.Time, at string) (time.Time, error) {
	if at == "" {
		return prev.Add(time.Second), nil
	}
	if at[0] != '+' && at[0] != '-' {
		return time.Parse(time.RFC3339, at)
	}
	d, err := parseDuration(at)
	return prev.Add(d), err
}

func label(session string) string {
	if session == "" {
		return "s1"
	}
	return session
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// profile converts a client's declaration to the engine's profile.
func (c clientSpec) profile() (risk.ClientProfile, error) {
	p := risk.ClientProfile{Kind: c.Kind, Scopes: c.Scopes, Audiences: c.Audiences, MayAct: c.MayAct, DPoP: c.DPoP}
	for _, n := range c.Networks {
		pfx, err := netip.ParsePrefix(n)
		if err != nil {
			return p, fmt.Errorf("network %q: %w", n, err)
		}
		p.Networks = append(p.Networks, pfx)
	}
	if c.Schedule != nil {
		sch, err := c.Schedule.parse()
		if err != nil {
			return p, err
		}
		p.Schedule = sch
	}
	return p, nil
}

var weekdays = map[string]int{"Sun": 0, "Mon": 1, "Tue": 2, "Wed": 3, "Thu": 4, "Fri": 5, "Sat": 6}

// parse reads {"days": "Mon-Fri", "hours": "01:00-02:00", "tz": "UTC"}.
func (s scheduleSpec) parse() (*risk.Schedule, error) {
	var days uint8
	for _, part := range strings.Split(s.Days, ",") {
		a, b, rng := strings.Cut(strings.TrimSpace(part), "-")
		lo, ok1 := weekdays[a]
		hi, ok2 := lo, true
		if rng {
			hi, ok2 = weekdays[b]
		}
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("schedule days %q", s.Days)
		}
		for d := lo; ; d = (d + 1) % 7 {
			days |= 1 << d
			if d == hi {
				break
			}
		}
	}
	start, end, ok := strings.Cut(s.Hours, "-")
	sm, err1 := minutes(start)
	em, err2 := minutes(end)
	if !ok || err1 != nil || err2 != nil {
		return nil, fmt.Errorf("schedule hours %q", s.Hours)
	}
	loc := time.UTC
	if s.TZ != "" && s.TZ != "UTC" {
		var err error
		if loc, err = time.LoadLocation(s.TZ); err != nil {
			return nil, fmt.Errorf("schedule tz %q: %w", s.TZ, err)
		}
	}
	return &risk.Schedule{Days: days, Start: sm, End: em, Loc: loc}, nil
}

func minutes(hhmm string) (int, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(hhmm))
	if err != nil {
		return 0, err
	}
	return t.Hour()*60 + t.Minute(), nil
}

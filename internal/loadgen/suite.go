package loadgen

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"
)

// Entry is one scenario of a suite, the server it drives, and how to
// watch that server (nil: not watched).
type Entry struct {
	Scenario Scenario
	Target   *Target
	Probe    Probe
}

// Suite runs scenarios one after another under the same load.
type Suite struct {
	Load    Load
	Entries []Entry
	// Pause separates scenarios, so one's background work (group commits,
	// garbage collection) does not land in the next one's window. Default 2s.
	Pause time.Duration
	// Progress receives one line per step; nil discards.
	Progress io.Writer
	// Info is copied into the report.
	Info Info
	// Ready, when set, is called once a scenario is prepared and returns
	// when its warm-up may start: several load generators driving several
	// servers use it to measure at the same time. An error fails the
	// scenario.
	Ready func(ctx context.Context, scenario string) error
}

// Info describes the run for the report.
type Info struct {
	Target  string `json:"target"`
	Ceiling string `json:"ceiling,omitempty"`
	// Risk says how the load relates to the server's risk engine: spread
	// over many sessions under the enforcing policy, or a report-only policy.
	Risk string `json:"risk"`
}

// Run prepares and drives every scenario in turn. A scenario whose
// preparation fails is reported with its error; the others still run.
func (s *Suite) Run(ctx context.Context) *Report {
	load := s.Load.withDefaults()
	rep := &Report{Started: time.Now().UTC(), Info: s.Info, Machine: machine(), Load: loadInfo(load)}
	for i, e := range s.Entries {
		if ctx.Err() != nil {
			break
		}
		if i > 0 {
			sleep(ctx, s.pause())
		}
		rep.Scenarios = append(rep.Scenarios, s.runOne(ctx, e, load))
	}
	return rep
}

func (s *Suite) pause() time.Duration {
	if s.Pause <= 0 {
		return 2 * time.Second
	}
	return s.Pause
}

func (s *Suite) progress(format string, args ...any) {
	if s.Progress != nil {
		fmt.Fprintf(s.Progress, format+"\n", args...)
	}
}

func (s *Suite) runOne(ctx context.Context, e Entry, load Load) ScenarioResult {
	sc := e.Scenario
	s.progress("%s: preparing", sc.Name())
	p := &prep{target: e.Target, conns: load.Connections, load: load}
	if err := sc.prepare(ctx, p); err != nil {
		s.progress("%s: preparation failed: %v", sc.Name(), err)
		return ScenarioResult{Name: sc.Name(), Description: sc.Describe(), Error: err.Error()}
	}
	if s.Ready != nil {
		s.progress("%s: prepared", sc.Name())
		if err := s.Ready(ctx, sc.Name()); err != nil {
			s.progress("%s: not started: %v", sc.Name(), err)
			return ScenarioResult{Name: sc.Name(), Description: sc.Describe(), Error: err.Error()}
		}
	}
	s.progress("%s: running %s (+%s warmup)", sc.Name(), load.Duration, load.Warmup)
	samples := s.watch(ctx, e.Probe, load)
	recs, window := drive(ctx, e.Target, load, sc.stepper)
	a, b := samples()
	ops := merge(recs, window, sc.ops())
	res := ScenarioResult{Name: sc.Name(), Description: sc.Describe(), WindowSeconds: window.Seconds(), Ops: ops,
		SendLag: lagOf(recs)}
	if a != nil && b != nil {
		res.Server = stats(*a, *b, window, res.requests(), res.tokenRequests())
	}
	s.progress("%s: %.0f req/s, %d errors", sc.Name(), res.PerSec(), res.errors())
	return res
}

// watch samples probe when the measurement window opens and closes; the
// returned function waits for both samples (nil when unavailable).
func (s *Suite) watch(ctx context.Context, probe Probe, load Load) func() (*Sample, *Sample) {
	if probe == nil {
		return func() (*Sample, *Sample) { return nil, nil }
	}
	type pair struct{ a, b *Sample }
	done := make(chan pair, 1)
	start := time.Now()
	go func() {
		var p pair
		take := func(at time.Time) *Sample {
			if !sleep(ctx, time.Until(at)) && ctx.Err() != nil {
				return nil
			}
			if smp, err := probe.Sample(ctx); err == nil {
				return &smp
			}
			return nil
		}
		p.a = take(start.Add(load.Warmup))
		p.b = take(start.Add(load.Warmup + load.Duration))
		done <- p
	}()
	return func() (*Sample, *Sample) {
		p := <-done
		return p.a, p.b
	}
}

// ScenarioResult is one scenario's outcome.
type ScenarioResult struct {
	Name          string     `json:"name"`
	Description   string     `json:"description"`
	WindowSeconds float64    `json:"window_seconds"`
	Ops           []OpResult `json:"ops"`
	// SendLag is, in open loop, how late requests left the load generator
	// after they were due (ms): latency that is the generator's, not the server's.
	SendLag *Latency     `json:"send_lag_ms,omitempty"`
	Server  *ServerStats `json:"server,omitempty"`
	Error   string       `json:"error,omitempty"`
}

func (r ScenarioResult) requests() int {
	n := 0
	for _, o := range r.Ops {
		n += o.Requests
	}
	return n
}

func (r ScenarioResult) errors() int {
	n := 0
	for _, o := range r.Ops {
		n += o.Errors
	}
	return n
}

// tokenRequests counts the requests that went to the token endpoint.
func (r ScenarioResult) tokenRequests() int {
	n := 0
	for _, o := range r.Ops {
		if slices.Contains([]string{opToken, opExchange, opAgentToken, opAgentExchange}, o.Op) {
			n += o.Requests
		}
	}
	return n
}

// PerSec is the scenario's successful requests per second, all operations.
func (r ScenarioResult) PerSec() float64 {
	var v float64
	for _, o := range r.Ops {
		v += o.PerSec
	}
	return v
}

package risk_test

import (
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/risk/rules"
)

// benchRules are five admin rules of the kinds RISK.md expects.
var benchRules = []risk.RuleSpec{
	{Name: "secrets-off-hours", When: "sensitivity == 4 && (hour < 6 || hour > 20)", Action: risk.StepUp},
	{Name: "iam-short", When: "audience == 'iam-api'", TTL: risk.Duration(time.Minute)},
	{Name: "export-new-net", When: "tool.endsWith('.export') && 'net.new_network' in reasons", Action: risk.Deny},
	{Name: "jobs-sensitive", When: "kind == 'job' && op == 'exchange' && tier >= 3 && score > 20", Action: risk.Deny},
	{Name: "deep-chains", When: "size(actors) > 2", Action: risk.StepUp},
}

func benchEngine(b *testing.B, withRules bool) *risk.Engine {
	b.Helper()
	p := risk.DefaultPolicy()
	var opts []risk.Option
	if withRules {
		p.Rules = benchRules
		set, err := rules.Compile(p.Rules)
		if err != nil {
			b.Fatal(err)
		}
		opts = append(opts, risk.WithRules(set))
	}
	eng, err := risk.New(p, opts...)
	if err != nil {
		b.Fatal(err)
	}
	return eng
}

// benchEvents is a steady mix of calls on live sessions of trained clients.
func benchEvents(eng *risk.Engine, clients, sessions int) []risk.Event {
	f := &fixture{eng: eng, at: t0.Add(-30 * 24 * time.Hour)}
	for c := range clients {
		for range 12 {
			f.session(fmt.Sprintf("c%d", c), agent, "10.1.4.21", routine)
			f.at = f.at.Add(time.Hour)
		}
	}
	var evs []risk.Event
	at := f.at
	for s := range sessions {
		client := fmt.Sprintf("c%d", s%clients)
		sid := fmt.Sprintf("bench-%d", s)
		for i, c := range append(routine, vaultCall, call{op: risk.OpRefresh}) {
			at = at.Add(time.Second)
			f.at = at
			ev := f.event(sid, client, agent, "10.1.4.21", c)
			if i == 0 {
				ev.Op = risk.OpToken
			}
			evs = append(evs, ev)
		}
	}
	return evs
}

func benchmarkObserve(b *testing.B, withRules bool) {
	eng := benchEngine(b, withRules)
	evs := benchEvents(eng, 16, 256)
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		ev := evs[i%len(evs)]
		ev.At = ev.At.Add(time.Duration(i/len(evs)) * time.Hour) // later rounds: new days, sessions re-opened
		start := time.Now()
		eng.Observe(ev)
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
		b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	}
}

// BenchmarkObserve measures one event through detectors, score, ladder and
// five CEL rules; p99-ns is the 99th percentile of single calls.
func BenchmarkObserve(b *testing.B) { benchmarkObserve(b, true) }

// BenchmarkObserveNoRules is BenchmarkObserve without admin rules.
func BenchmarkObserveNoRules(b *testing.B) { benchmarkObserve(b, false) }

// BenchmarkObserveParallel measures throughput with every core observing.
func BenchmarkObserveParallel(b *testing.B) {
	eng := benchEngine(b, true)
	evs := benchEvents(eng, 16, 256)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			eng.Observe(evs[i%len(evs)])
			i++
		}
	})
}

// BenchmarkSessionMemory reports the heap held per live session after a
// few calls each.
func BenchmarkSessionMemory(b *testing.B) {
	const n = 20000
	for b.Loop() {
		eng := benchEngine(b, false)
		before := heap()
		for s := range n {
			sid := fmt.Sprintf("s%06d", s)
			client := fmt.Sprintf("c%d", s%50)
			ev := risk.Event{Op: risk.OpToken, At: t0, SessionID: sid, ClientID: client, Client: agent, IP: netip.MustParseAddr("10.1.4.21")}
			eng.Observe(ev)
			for _, c := range append(routine, vaultCall) {
				e := (&fixture{eng: eng, at: t0.Add(time.Second)}).event(sid, client, agent, "10.1.4.21", c)
				eng.Observe(e)
			}
		}
		after := heap()
		b.ReportMetric(float64(after-before)/n, "B/session")
		runtime.KeepAlive(eng)
	}
}

// BenchmarkBaselineMemory reports the heap held per client baseline filled
// to capacity.
func BenchmarkBaselineMemory(b *testing.B) {
	const n = 300
	for b.Loop() {
		eng := benchEngine(b, false)
		before := heap()
		for c := range n {
			fillBaseline(eng, fmt.Sprintf("c%d", c))
		}
		eng.Sweep(t0.Add(365 * 24 * time.Hour)) // drop the ended sessions: only clients remain
		after := heap()
		b.ReportMetric(float64(after-before)/n, "B/client")
		runtime.KeepAlive(eng)
	}
}

// fillBaseline teaches a client more distinct values than its baseline
// holds, so every bounded set is full.
func fillBaseline(eng *risk.Engine, client string) {
	at := t0.Add(-40 * 24 * time.Hour)
	for s := range 60 {
		sid := fmt.Sprintf("%s-%d", client, s)
		ip := netip.AddrFrom4([4]byte{10, 1, byte(s % 20), 5})
		at = at.Add(13 * time.Hour)
		eng.Observe(risk.Event{Op: risk.OpToken, At: at, SessionID: sid, ClientID: client, IP: ip})
		for i := range 4 {
			at = at.Add(time.Second)
			aud := fmt.Sprintf("aud-%d", (s*4+i)%40)
			eng.Observe(risk.Event{Op: risk.OpIntrospect, At: at, SessionID: sid, ClientID: client, IP: ip, Audience: aud,
				Resource: risk.ResourceProfile{Sensitivity: 1}, Tool: fmt.Sprintf("tool-%d", (s*4+i)%60),
				Tenant: fmt.Sprintf("t-%d", (s+i)%40)})
		}
		eng.Observe(risk.Event{Op: risk.OpRevoke, At: at, SessionID: sid, ClientID: client})
	}
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

package loadgen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is a suite's outcome, written as text or JSON.
type Report struct {
	Started   time.Time        `json:"started"`
	Info      Info             `json:"info"`
	Machine   Machine          `json:"machine"`
	Load      LoadInfo         `json:"load"`
	Scenarios []ScenarioResult `json:"scenarios"`
}

// Machine describes where the load generator ran.
type Machine struct {
	CPUs       int     `json:"cpus"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	CPUModel   string  `json:"cpu_model,omitempty"`
	MemoryGiB  float64 `json:"memory_gib,omitempty"`
	OS         string  `json:"os"`
	Go         string  `json:"go"`
}

// LoadInfo is the load as reported.
type LoadInfo struct {
	Mode            string  `json:"mode"`
	Connections     int     `json:"connections"`
	Rate            float64 `json:"rate,omitempty"`
	DurationSeconds float64 `json:"duration_seconds"`
	WarmupSeconds   float64 `json:"warmup_seconds"`
}

func loadInfo(l Load) LoadInfo {
	return LoadInfo{Mode: l.Mode(), Connections: l.Connections, Rate: l.Rate,
		DurationSeconds: l.Duration.Seconds(), WarmupSeconds: l.Warmup.Seconds()}
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), OS: runtime.GOOS + "/" + runtime.GOARCH,
		Go: runtime.Version()}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	var kb float64
	if _, err := fmt.Sscanf(procField("/proc/meminfo", "MemTotal"), "%f", &kb); err == nil {
		m.MemoryGiB = kb / (1 << 20)
	}
	return m
}

// procField returns the value of the first "name: value" line of a /proc file.
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes r for people: the run, one block per scenario, and a
// summary against the ceiling.
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "Vigil bench, %s\n", r.Started.Format(time.RFC3339))
	fmt.Fprintf(bw, "target   %s\n", r.Info.Target)
	if r.Info.Ceiling != "" {
		fmt.Fprintf(bw, "ceiling  %s\n", r.Info.Ceiling)
	}
	m := r.Machine
	fmt.Fprintf(bw, "machine  %d CPUs (%s), %.0f GiB, %s, %s, GOMAXPROCS %d\n", m.CPUs, orDash(m.CPUModel), m.MemoryGiB, m.OS, m.Go, m.GOMAXPROCS)
	fmt.Fprintf(bw, "load     %s; %gs warmup, %gs measured\n", r.Load.Mode, r.Load.WarmupSeconds, r.Load.DurationSeconds)
	if r.Info.Risk != "" {
		fmt.Fprintf(bw, "risk     %s\n", r.Info.Risk)
	}
	for _, s := range r.Scenarios {
		writeScenario(bw, s)
	}
	r.writeSummary(bw)
	return bw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeScenario(w io.Writer, s ScenarioResult) {
	fmt.Fprintf(w, "\n== %s: %s\n", s.Name, s.Description)
	if s.Error != "" {
		fmt.Fprintf(w, "   not run: %s\n", s.Error)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "   op\tok\treq/s\tmean\tp50\tp90\tp99\tp99.9\tmax ms\terrors\t")
	for _, o := range s.Ops {
		l := o.Latency
		fmt.Fprintf(tw, "   %s\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.1f\t%d\t\n", o.Op, o.OK, o.PerSec,
			l.Mean, l.P50, l.P90, l.P99, l.P999, l.Max, o.Errors)
	}
	tw.Flush()
	for _, o := range s.Ops {
		if len(o.Tags) > 0 {
			fmt.Fprintf(w, "   %s answers: %s\n", o.Op, counts(o.Tags))
		}
		if len(o.ErrorKinds) > 0 {
			fmt.Fprintf(w, "   %s errors: %s\n", o.Op, counts(o.ErrorKinds))
		}
	}
	if l := s.SendLag; l != nil {
		fmt.Fprintf(w, "   sent late by the load generator: p50 %.2f, p99 %.2f, max %.1f ms (counted in the latencies above)\n", l.P50, l.P99, l.Max)
	}
	if st := s.Server; st != nil {
		fmt.Fprintf(w, "   server: %.2f cores busy, %.0f µs CPU per request, RSS %.0f MiB%s\n",
			st.CPUCores, st.CPUPerRequestUS, st.RSSMiB, storageLine(st))
	}
}

func storageLine(st *ServerStats) string {
	var parts []string
	add := func(v *float64, what string) {
		if v != nil {
			parts = append(parts, fmt.Sprintf("%.2f %s", *v, what))
		}
	}
	add(st.ReadTxPerRequest, "read tx/request")
	add(st.WriteTxPerRequest, "write tx/request")
	add(st.WriteTxPerTokenRequest, "write tx/token request")
	add(st.CommitsPerTokenRequest, "commits (fsync)/token request")
	if len(parts) == 0 {
		return ""
	}
	return "; storage: " + strings.Join(parts, ", ")
}

func counts(m map[string]int) string {
	keys := slices.Sorted(maps.Keys(m))
	slices.SortStableFunc(keys, func(a, b string) int { return m[b] - m[a] })
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// writeSummary lists every scenario's throughput and tail latency, and its
// share of the ceiling measured in the same run.
func (r *Report) writeSummary(w io.Writer) {
	ceiling := 0.0
	for _, s := range r.Scenarios {
		if s.Name == "ceiling" {
			ceiling = s.PerSec()
		}
	}
	fmt.Fprintf(w, "\n== summary\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "   scenario\treq/s\tp99 ms\terrors\tof ceiling\t")
	for _, s := range r.Scenarios {
		if s.Error != "" {
			fmt.Fprintf(tw, "   %s\t-\t-\t-\tnot run\t\n", s.Name)
			continue
		}
		share := "-"
		if ceiling > 0 {
			share = fmt.Sprintf("%.0f%%", 100*s.PerSec()/ceiling)
		}
		fmt.Fprintf(tw, "   %s\t%.0f\t%.2f\t%d\t%s\t\n", s.Name, s.PerSec(), s.worstP99(), s.errors(), share)
	}
	tw.Flush()
}

// worstP99 is the highest p99 of the scenario's operations.
func (r ScenarioResult) worstP99() float64 {
	var v float64
	for _, o := range r.Ops {
		v = max(v, o.Latency.P99)
	}
	return v
}

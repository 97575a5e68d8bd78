package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Sample is a server's resource use at one moment.
type Sample struct {
	// CPU is the process's user plus system time so far; HasCPU says
	// whether it is known.
	CPU    time.Duration
	HasCPU bool
	// RSS is the resident set in bytes (0: unknown).
	RSS int64
	// Counters are Prometheus counters by name (labels included).
	Counters map[string]float64
}

// Probe samples a server's resource use. Implementations must be safe to
// call from one goroutine at a time.
type Probe interface {
	Sample(ctx context.Context) (Sample, error)
}

// ProcProbe reads a local process's CPU time and RSS from /proc (Linux).
type ProcProbe struct{ PID int }

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

// Sample implements Probe.
func (p ProcProbe) Sample(context.Context) (Sample, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID))
	if err != nil {
		return Sample{}, err
	}
	// Fields after the command name (which may hold spaces) start at ")".
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return Sample{}, fmt.Errorf("loadgen: /proc/%d/stat: unexpected format", p.PID)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 22 {
		return Sample{}, fmt.Errorf("loadgen: /proc/%d/stat: too few fields", p.PID)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64) // field 14 overall
	stime, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	rssPages, _ := strconv.ParseInt(f[21], 10, 64)
	return Sample{CPU: time.Duration(utime+stime) * time.Second / clockTicks, HasCPU: true,
		RSS: rssPages * int64(os.Getpagesize())}, nil
}

// MetricsProbe scrapes a Prometheus text endpoint (Vigil's /metrics) for
// process CPU and memory and Vigil's storage transaction counters.
type MetricsProbe struct{ URL string }

// kept are the metric name prefixes a MetricsProbe keeps.
var kept = []string{"process_cpu_seconds_total", "process_resident_memory_bytes", "vigil_storage_"}

// Sample implements Probe.
func (p MetricsProbe) Sample(ctx context.Context) (Sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL, nil)
	if err != nil {
		return Sample{}, err
	}
	resp, err := adminHTTP.Do(req)
	if err != nil {
		return Sample{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Sample{}, fmt.Errorf("loadgen: %s: %d", p.URL, resp.StatusCode)
	}
	c, err := parseMetrics(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return Sample{}, err
	}
	s := Sample{Counters: c}
	if v, ok := c["process_cpu_seconds_total"]; ok {
		s.CPU, s.HasCPU = time.Duration(v*float64(time.Second)), true
	}
	s.RSS = int64(c["process_resident_memory_bytes"])
	return s, nil
}

// parseMetrics reads the Prometheus text format, keeping the kept names.
func parseMetrics(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || !keep(line) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out, sc.Err()
}

func keep(line string) bool {
	for _, k := range kept {
		if strings.HasPrefix(line, k) {
			return true
		}
	}
	return false
}

// Probes samples several probes: CPU and RSS from the first that knows
// them, counters from all. A probe that fails is skipped.
type Probes []Probe

// Sample implements Probe.
func (ps Probes) Sample(ctx context.Context) (Sample, error) {
	var out Sample
	var lastErr error
	for _, p := range ps {
		s, err := p.Sample(ctx)
		if err != nil {
			lastErr = err
			continue
		}
		if !out.HasCPU && s.HasCPU {
			out.CPU, out.HasCPU = s.CPU, true
		}
		if out.RSS == 0 {
			out.RSS = s.RSS
		}
		for k, v := range s.Counters {
			if out.Counters == nil {
				out.Counters = map[string]float64{}
			}
			out.Counters[k] = v
		}
	}
	if !out.HasCPU && out.Counters == nil && lastErr != nil {
		return out, lastErr
	}
	return out, nil
}

// Storage counter names Vigil exports.
const (
	metricReadTx  = "vigil_storage_read_transactions_total"
	metricWriteTx = "vigil_storage_write_transactions_total"
	metricCommits = "vigil_storage_commits_total"
)

// ServerStats is what the server spent over a scenario's window.
type ServerStats struct {
	// CPUCores is the average number of cores the server kept busy;
	// CPUPerRequestUS its CPU time per request, in microseconds.
	CPUCores        float64 `json:"cpu_cores"`
	CPUPerRequestUS float64 `json:"cpu_us_per_request"`
	RSSMiB          float64 `json:"rss_mib,omitempty"`
	// Storage transactions per request (all requests of the scenario), and
	// write transactions and commits (fsyncs) per token-endpoint request.
	ReadTxPerRequest       *float64 `json:"read_tx_per_request,omitempty"`
	WriteTxPerRequest      *float64 `json:"write_tx_per_request,omitempty"`
	WriteTxPerTokenRequest *float64 `json:"write_tx_per_token_request,omitempty"`
	CommitsPerTokenRequest *float64 `json:"commits_per_token_request,omitempty"`
}

// stats compares two samples over window for requests requests, of which
// tokenReqs went to the token endpoint.
func stats(a, b Sample, window time.Duration, requests, tokenReqs int) *ServerStats {
	if !a.HasCPU || !b.HasCPU || requests == 0 || window <= 0 {
		return nil
	}
	cpu := b.CPU - a.CPU
	s := &ServerStats{CPUCores: cpu.Seconds() / window.Seconds(),
		CPUPerRequestUS: float64(cpu.Microseconds()) / float64(requests), RSSMiB: float64(b.RSS) / (1 << 20)}
	per := func(name string, n int) *float64 {
		x, ok1 := a.Counters[name]
		y, ok2 := b.Counters[name]
		if !ok1 || !ok2 || n == 0 {
			return nil
		}
		v := (y - x) / float64(n)
		return &v
	}
	s.ReadTxPerRequest = per(metricReadTx, requests)
	s.WriteTxPerRequest = per(metricWriteTx, requests)
	s.WriteTxPerTokenRequest = per(metricWriteTx, tokenReqs)
	s.CommitsPerTokenRequest = per(metricCommits, tokenReqs)
	return s
}

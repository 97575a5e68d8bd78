package loadgen

import (
	"maps"
	"slices"
	"time"
)

// recorder collects one worker's outcomes; each worker owns one, so
// recording takes no lock. Results are merged after the run.
type recorder struct {
	from, until time.Time // the measurement window, by request start
	ops         map[string]*opRecord
	// lag holds, in open loop, how late each request was sent after it
	// was due (ns): the load generator's own delay.
	lag []int64
}

// opRecord is one operation's outcomes in one worker.
type opRecord struct {
	lat    []int64 // ns, successful requests only
	errs   map[string]int
	tags   map[string]int
	errLat []int64 // ns, failed requests
}

func newRecorder(from, until time.Time) *recorder {
	return &recorder{from: from, until: until, ops: map[string]*opRecord{}}
}

func (r *recorder) op(name string) *opRecord {
	o := r.ops[name]
	if o == nil {
		o = &opRecord{lat: make([]int64, 0, 1<<14), errs: map[string]int{}, tags: map[string]int{}}
		r.ops[name] = o
	}
	return o
}

// counts reports whether a request that started (or was due) at start falls
// in the measurement window.
func (r *recorder) counts(start time.Time) bool {
	return !start.Before(r.from) && start.Before(r.until)
}

// late records that a request due at due was sent at sent.
func (r *recorder) late(due, sent time.Time) {
	if r.counts(due) {
		r.lag = append(r.lag, int64(sent.Sub(due)))
	}
}

// lagOf merges the workers' send lags; nil when none were recorded.
func lagOf(recs []*recorder) *Latency {
	var all []int64
	for _, r := range recs {
		all = append(all, r.lag...)
	}
	if len(all) == 0 {
		return nil
	}
	l := percentiles(all)
	return &l
}

// ok records a success of op that was due at start and finished at end,
// with up to two tags (a verdict, a risk action); empty tags are skipped.
func (r *recorder) ok(op string, start, end time.Time, tag1, tag2 string) {
	if !r.counts(start) {
		return
	}
	o := r.op(op)
	o.lat = append(o.lat, int64(end.Sub(start)))
	if tag1 != "" {
		o.tags[tag1]++
	}
	if tag2 != "" {
		o.tags[tag2]++
	}
}

// fail records a failure of op with its kind ("http 503 temporarily_unavailable").
func (r *recorder) fail(op string, start, end time.Time, kind string) {
	if !r.counts(start) {
		return
	}
	o := r.op(op)
	o.errs[kind]++
	o.errLat = append(o.errLat, int64(end.Sub(start)))
}

// OpResult is one operation's figures over the measurement window.
type OpResult struct {
	Op string `json:"op"`
	// Requests counts every request in the window; OK the successful ones.
	Requests int     `json:"requests"`
	OK       int     `json:"ok"`
	Errors   int     `json:"errors"`
	PerSec   float64 `json:"req_per_sec"` // successful requests per second
	// Latency of successful requests.
	Latency Latency `json:"latency_ms"`
	// ErrorKinds counts failures by kind; Tags counts successes by
	// verdict or risk action.
	ErrorKinds map[string]int `json:"error_kinds,omitempty"`
	Tags       map[string]int `json:"tags,omitempty"`
}

// Latency percentiles, in milliseconds.
type Latency struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

// merge combines the workers' records into per-operation results, ordered
// as first seen in order (then by name).
func merge(recs []*recorder, window time.Duration, order []string) []OpResult {
	all := map[string]*opRecord{}
	for _, r := range recs {
		for name, o := range r.ops {
			m := all[name]
			if m == nil {
				m = &opRecord{errs: map[string]int{}, tags: map[string]int{}}
				all[name] = m
			}
			m.lat = append(m.lat, o.lat...)
			m.errLat = append(m.errLat, o.errLat...)
			addCounts(m.errs, o.errs)
			addCounts(m.tags, o.tags)
		}
	}
	names := slices.Sorted(maps.Keys(all))
	slices.SortStableFunc(names, func(a, b string) int { return rank(order, a) - rank(order, b) })
	out := make([]OpResult, 0, len(names))
	for _, name := range names {
		out = append(out, result(name, all[name], window))
	}
	return out
}

func rank(order []string, s string) int {
	if i := slices.Index(order, s); i >= 0 {
		return i
	}
	return len(order)
}

func addCounts(dst, src map[string]int) {
	for k, v := range src {
		dst[k] += v
	}
}

func result(name string, o *opRecord, window time.Duration) OpResult {
	nerr := len(o.errLat)
	r := OpResult{Op: name, Requests: len(o.lat) + nerr, OK: len(o.lat), Errors: nerr,
		Latency: percentiles(o.lat)}
	if window > 0 {
		r.PerSec = float64(len(o.lat)) / window.Seconds()
	}
	if len(o.errs) > 0 {
		r.ErrorKinds = o.errs
	}
	if len(o.tags) > 0 {
		r.Tags = o.tags
	}
	return r
}

// percentiles sorts lat in place and reads the nearest-rank percentiles.
func percentiles(lat []int64) Latency {
	if len(lat) == 0 {
		return Latency{}
	}
	slices.Sort(lat)
	var sum float64
	for _, v := range lat {
		sum += float64(v)
	}
	at := func(q float64) float64 {
		i := int(q*float64(len(lat))+0.999999) - 1
		return ms(lat[min(max(i, 0), len(lat)-1)])
	}
	return Latency{Mean: sum / float64(len(lat)) / 1e6, P50: at(0.50), P90: at(0.90), P99: at(0.99),
		P999: at(0.999), Max: ms(lat[len(lat)-1])}
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }

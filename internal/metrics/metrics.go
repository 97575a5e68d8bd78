// Package metrics exposes Vigil's Prometheus metrics: requests and latency
// per route, tokens issued per grant, introspections per verdict, risk
// decisions per action and storage transactions. It is the only package that
// imports the Prometheus client; the rest of Vigil sees small interfaces.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigil-auth/vigil/internal/buildinfo"
)

// Registry holds Vigil's collectors. Its methods are safe for concurrent use.
type Registry struct {
	reg           *prometheus.Registry
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	issued        *prometheus.CounterVec
	introspection *prometheus.CounterVec
	decisions     *prometheus.CounterVec
	reasons       *prometheus.CounterVec
	riskLatency   *prometheus.HistogramVec
	oauthErrors   *prometheus.CounterVec
	reasonCodes   labelSet
	errorCodes    labelSet
}

// New returns a registry with the Go runtime and process collectors.
func New() *Registry {
	r := &Registry{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vigil_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"route"}),
		issued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_tokens_issued_total", Help: "Tokens issued by grant type and token kind.",
		}, []string{"grant", "kind"}),
		introspection: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_introspections_total", Help: "Introspection answers by verdict.",
		}, []string{"verdict"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_risk_decisions_total", Help: "Risk decisions by operation, action and level.",
		}, []string{"op", "action", "level"}),
		reasons: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_risk_reasons_total",
			Help: "Reasons given in risk decisions, by reason code (at most " + strconv.Itoa(maxReasonCodes) + " codes; the rest count as \"other\").",
		}, []string{"code"}),
		riskLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vigil_risk_decision_duration_seconds", Help: "Time the risk engine took to decide, by operation.",
			Buckets: []float64{1e-6, 2.5e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 1e-2},
		}, []string{"op"}),
		oauthErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_oauth_errors_total", Help: "OAuth error answers by route and error code (RFC 6749 §5.2 and kin).",
		}, []string{"route", "code"}),
		reasonCodes: labelSet{max: maxReasonCodes, seen: map[string]bool{}},
		errorCodes:  labelSet{max: maxReasonCodes, seen: map[string]bool{}},
	}
	bi := buildinfo.Read()
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "vigil_build_info", Help: "Always 1; the labels say which build is running.",
		ConstLabels: prometheus.Labels{"version": bi.Version, "commit": bi.ShortCommit(), "goversion": bi.GoVersion},
	})
	build.Set(1)
	r.reg.MustRegister(r.requests, r.latency, r.issued, r.introspection, r.decisions, r.reasons, r.riskLatency,
		r.oauthErrors, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// OAuthError counts one OAuth error answer by route and error code. Codes
// are bounded like reason codes: odd or too many distinct ones count as
// "other".
func (r *Registry) OAuthError(route, code string) {
	r.oauthErrors.WithLabelValues(route, r.errorCodes.admit(code)).Inc()
}

// WatchKeyAge exports the active signing key's age in seconds, read at
// each scrape from created (the key's creation time) and now. Call it at
// most once.
func (r *Registry) WatchKeyAge(created func() time.Time, now func() time.Time) {
	r.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vigil_signing_key_age_seconds", Help: "Age of the active signing key.",
	}, func() float64 {
		c := created()
		if c.IsZero() {
			return 0
		}
		return now().Sub(c).Seconds()
	}))
}

// WatchFeedLag exports how far behind the change feed a clustered node is,
// in seconds, read at each scrape. A single node has no feed and does not
// call it. Call it at most once.
func (r *Registry) WatchFeedLag(lag func() time.Duration) {
	r.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vigil_feed_lag_seconds", Help: "How far this node is behind the cluster's change feed.",
	}, func() float64 { return lag().Seconds() }))
}

// WatchLiveSessions exports vigil_risk_live_sessions{level}: for each of
// levels, count(level) read at each scrape. count must be cheap (the risk
// engine keeps the counts; it never scans). Call it at most once.
func (r *Registry) WatchLiveSessions(levels []string, count func(level string) int) {
	for _, l := range levels {
		r.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "vigil_risk_live_sessions", Help: "Sessions the risk engine holds open, by the level of their latest decision.",
			ConstLabels: prometheus.Labels{"level": l},
		}, func() float64 { return float64(count(l)) }))
	}
}

// ClusterCounts is what a cluster member reports at each scrape: the live
// members it sees, and its risk events by route (local, forwarded,
// degraded, served).
type ClusterCounts func() (members int, routes map[string]int64)

// WatchCluster exports vigil_cluster_members and
// vigil_cluster_risk_events_total{route}: events judged here as their
// client's owner (local), judged by the owner (forwarded), judged here
// because the owner did not answer (degraded), and judged here for
// another instance (served). Call it at most once.
func (r *Registry) WatchCluster(counts ClusterCounts) {
	r.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vigil_cluster_members", Help: "Live cluster members this instance sees, itself included (0 while its view is stale).",
	}, func() float64 { n, _ := counts(); return float64(n) }))
	for _, route := range []string{"local", "forwarded", "degraded", "served"} {
		r.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "vigil_cluster_risk_events_total", Help: "Risk events by where they were judged.",
			ConstLabels: prometheus.Labels{"route": route},
		}, func() float64 { _, m := counts(); return float64(m[route]) }))
	}
}

// CommitTimer reports the total time a store's commits took. storage/bolt's
// Store implements it.
type CommitTimer interface {
	CommitTime() time.Duration
}

// WatchCommitTime exports c's total commit time, so that
// rate(vigil_storage_commit_seconds_total) / rate(vigil_storage_commits_total)
// is the mean commit latency. Call it at most once.
func (r *Registry) WatchCommitTime(c CommitTimer) {
	r.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "vigil_storage_commit_seconds_total",
		Help: "Time spent in storage write transactions up to their commit (fsync included).",
	}, func() float64 { return c.CommitTime().Seconds() }))
}

// ObserveRequest records one finished HTTP request.
func (r *Registry) ObserveRequest(route string, status int, d time.Duration) {
	r.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	r.latency.WithLabelValues(route).Observe(d.Seconds())
}

// TokenIssued counts one issued token of kind (access_token, refresh_token, txn_token) by grant.
func (r *Registry) TokenIssued(grant, kind string) { r.issued.WithLabelValues(grant, kind).Inc() }

// Introspected counts one introspection answer by verdict (active, inactive,
// step_up, denied, unauthorized).
func (r *Registry) Introspected(verdict string) { r.introspection.WithLabelValues(verdict).Inc() }

// Decided counts one risk decision by operation, action and level, and the
// time the engine took to make it.
func (r *Registry) Decided(op, action, level string, took time.Duration) {
	r.decisions.WithLabelValues(label(op), label(action), label(level)).Inc()
	r.riskLatency.WithLabelValues(label(op)).Observe(took.Seconds())
}

// Reason counts one reason code given in a risk decision. Codes beyond the
// first maxReasonCodes distinct ones, or not shaped like a code, count as
// "other", so a faulty engine cannot grow the label set without bound.
func (r *Registry) Reason(code string) {
	r.reasons.WithLabelValues(r.reasonCodes.admit(code)).Inc()
}

// maxReasonCodes bounds the distinct reason codes exported.
const maxReasonCodes = 64

// labelSet admits at most max distinct label values.
type labelSet struct {
	mu   sync.Mutex
	max  int
	seen map[string]bool
}

// admit returns v when it is a code-shaped value already admitted or
// admitted now, else "other".
func (s *labelSet) admit(v string) string {
	if label(v) != v {
		return "other"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[v] {
		return v
	}
	if len(s.seen) >= s.max {
		return "other"
	}
	s.seen[v] = true
	return v
}

// label returns v when it looks like an identifier (1-48 characters of
// a-z, 0-9, '.', '_' and '-'), else "other".
func label(v string) string {
	if v == "" || len(v) > 48 {
		return "other"
	}
	for _, c := range v {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '.' && c != '_' && c != '-' {
			return "other"
		}
	}
	return v
}

// TxCounter reports a store's transaction counts. The Stores of
// storage/bolt and storage/postgres implement it.
type TxCounter interface {
	TxCounts() (reads, writes, commits uint64)
}

// WatchStorage exports c's counts: read transactions, write transactions
// (one per durable change a request asks for) and commits (one fsync each,
// shared by the write transactions batched into it). Call it at most once.
func (r *Registry) WatchStorage(c TxCounter) {
	counter := func(name, help string, pick func(reads, writes, commits uint64) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(pick(c.TxCounts())) })
	}
	r.reg.MustRegister(
		counter("vigil_storage_read_transactions_total", "Storage read transactions.",
			func(rd, _, _ uint64) uint64 { return rd }),
		counter("vigil_storage_write_transactions_total", "Storage write transactions.",
			func(_, w, _ uint64) uint64 { return w }),
		counter("vigil_storage_commits_total", "Storage commits (each one fsync, shared by batched write transactions).",
			func(_, _, cm uint64) uint64 { return cm }),
	)
}

// Handler serves the metrics in the Prometheus text format.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{})
}

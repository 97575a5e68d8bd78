package loadgen

import (
	"context"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/loadgen/ceiling"
)

func TestJSONString(t *testing.T) {
	cases := []struct {
		body, key, want string
	}{
		{`{"access_token":"abc","token_type":"Bearer"}`, "access_token", "abc"},
		{`{ "access_token" : "abc" }`, "access_token", "abc"},
		{`{"error":"invalid_client","error_description":"x"}`, "error", "invalid_client"},
		{`{"error_description":"error","error":"invalid_grant"}`, "error", "invalid_grant"},
		{`{"access_token":"a\"b"}`, "access_token", `a"b`},
		{`{"expires_in":300}`, "expires_in", ""},
		{`{"x":"access_token"}`, "access_token", ""},
		{`not json`, "error", ""},
		{``, "error", ""},
	}
	for _, tc := range cases {
		if got := jsonString([]byte(tc.body), tc.key); got != tc.want {
			t.Errorf("jsonString(%s, %s) = %q, want %q", tc.body, tc.key, got, tc.want)
		}
	}
}

func TestActiveOf(t *testing.T) {
	cases := []struct {
		body         string
		active, isOK bool
	}{
		{`{"active":true,"scope":"a"}`, true, true},
		{`{"active": false}`, false, true},
		{`{"scope":"active","active" :true}`, true, true},
		{`{"active":"yes"}`, false, false},
		{`{}`, false, false},
	}
	for _, tc := range cases {
		a, ok := activeOf([]byte(tc.body))
		if a != tc.active || ok != tc.isOK {
			t.Errorf("activeOf(%s) = %v, %v; want %v, %v", tc.body, a, ok, tc.active, tc.isOK)
		}
	}
}

func TestRiskTag(t *testing.T) {
	cases := []struct {
		body   string
		active bool
		want   string
	}{
		{`{"active":true,"risk":{"action":"allow"}}`, true, "risk allow"},
		{`{"active":true,"risk":{"action":"step_up"}}`, true, "risk step_up"},
		{`{"active":true,"risk":{"action":"later"}}`, true, "risk other"},
		{`{"active":true}`, true, ""},
		{`{"active":false}`, false, ""},
	}
	for _, tc := range cases {
		if got := riskTag([]byte(tc.body), tc.active); got != tc.want {
			t.Errorf("riskTag(%s) = %q, want %q", tc.body, got, tc.want)
		}
	}
}

func TestPercentiles(t *testing.T) {
	lat := make([]int64, 1000)
	for i := range lat {
		lat[len(lat)-1-i] = int64(i+1) * 1e6 // 1..1000 ms, reversed
	}
	got := percentiles(lat)
	want := Latency{Mean: 500.5, P50: 500, P90: 900, P99: 990, P999: 999, Max: 1000}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if (percentiles(nil) != Latency{}) {
		t.Error("empty input should give zero latencies")
	}
	one := percentiles([]int64{3e6})
	if one.P50 != 3 || one.P999 != 3 || one.Max != 3 {
		t.Errorf("single sample: %+v", one)
	}
}

func TestParseMix(t *testing.T) {
	cases := []struct {
		in   string
		want Mix
		ok   bool
	}{
		{"valid=70,expired=10,revoked=10,unknown=10", Mix{70, 10, 10, 10}, true},
		{"valid=99.5,unknown=0.5", Mix{Valid: 99.5, Unknown: 0.5}, true},
		{"valid=NaN", Mix{}, false},
		{DefaultMix.String(), DefaultMix, true},
		{"valid=1", Mix{Valid: 1}, true},
		{"valid=0", Mix{}, false},
		{"valid=-1", Mix{}, false},
		{"stale=3", Mix{}, false},
		{"valid", Mix{}, false},
	}
	for _, tc := range cases {
		got, err := ParseMix(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseMix(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

func TestMixCounts(t *testing.T) {
	s := &IntrospectScenario{Env: &Env{Short: &Cred{}, RevokePath: "/r"}, Mix: Mix{70, 10, 10, 10}, Tokens: 1000}
	if got, want := s.counts(), (poolCounts{700, 100, 100, 100}); got != want {
		t.Errorf("counts: got %+v, want %+v", got, want)
	}
	s.Env = &Env{} // no short-lived agent, no revocation endpoint
	if got, want := s.counts(), (poolCounts{valid: 875, unknown: 125}); got != want {
		t.Errorf("counts without expired and revoked: got %+v, want %+v", got, want)
	}
	s.Env, s.Mix, s.Tokens = &Env{Short: &Cred{}, RevokePath: "/r"}, DefaultMix, 2000
	if got, want := s.counts(), (poolCounts{1798, 100, 100, 2}); got != want {
		t.Errorf("default mix: got %+v, want %+v", got, want)
	}
}

func TestMerge(t *testing.T) {
	from := time.Unix(100, 0)
	a, b := newRecorder(from, from.Add(time.Second)), newRecorder(from, from.Add(time.Second))
	a.ok("x", from, from.Add(2*time.Millisecond), "t1", "")
	b.ok("x", from.Add(time.Millisecond), from.Add(5*time.Millisecond), "t1", "t2")
	b.fail("x", from, from.Add(time.Millisecond), "http 503")
	b.ok("x", from.Add(-time.Millisecond), from, "", "")            // before the window
	b.ok("x", from.Add(time.Second), from.Add(time.Second), "", "") // after it
	a.ok("y", from, from.Add(time.Millisecond), "", "")
	got := merge([]*recorder{a, b}, time.Second, []string{"y", "x"})
	if len(got) != 2 || got[0].Op != "y" || got[1].Op != "x" {
		t.Fatalf("order: %+v", got)
	}
	x := got[1]
	if x.Requests != 3 || x.OK != 2 || x.Errors != 1 || x.PerSec != 2 {
		t.Errorf("counts: %+v", x)
	}
	if x.Tags["t1"] != 2 || x.Tags["t2"] != 1 || x.ErrorKinds["http 503"] != 1 {
		t.Errorf("tags %v errors %v", x.Tags, x.ErrorKinds)
	}
	if x.Latency.Max != 4 || x.Latency.P50 != 2 {
		t.Errorf("latency %+v", x.Latency)
	}
}

func ceilingTarget(t *testing.T) *Target {
	t.Helper()
	srv := httptest.NewServer(ceiling.Handler())
	t.Cleanup(srv.Close)
	tg, err := NewTarget(srv.URL, false)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func TestDriveClosedLoop(t *testing.T) {
	tg := ceilingTarget(t)
	sc := &CeilingScenario{Target: tg, Path: "/introspect", RS: Cred{ID: "rs", Secret: "s"}}
	l := Load{Connections: 4, Duration: 200 * time.Millisecond, Warmup: 50 * time.Millisecond}.withDefaults()
	recs, window := drive(context.Background(), tg, l, sc.stepper)
	res := merge(recs, window, sc.ops())
	if len(res) != 1 || res[0].OK == 0 || res[0].Errors != 0 {
		t.Fatalf("results: %+v", res)
	}
	if lagOf(recs) != nil {
		t.Error("closed loop recorded send lag")
	}
	if window <= 0 || window > l.Duration {
		t.Errorf("window %s", window)
	}
}

func TestDriveOpenLoopKeepsSchedule(t *testing.T) {
	// Requests due in the window are fixed by the schedule, not by how fast
	// the server answers: rate × duration of them, give or take rounding.
	tg := ceilingTarget(t)
	sc := &CeilingScenario{Target: tg, Path: "/introspect", RS: Cred{ID: "rs", Secret: "s"}}
	l := Load{Connections: 3, Rate: 400, Duration: 500 * time.Millisecond, Warmup: 100 * time.Millisecond}.withDefaults()
	recs, window := drive(context.Background(), tg, l, sc.stepper)
	res := merge(recs, window, sc.ops())
	if len(res) != 1 || res[0].Errors != 0 {
		t.Fatalf("results: %+v", res)
	}
	if want := l.Rate * l.Duration.Seconds(); math.Abs(float64(res[0].Requests)-want) > 2 {
		t.Errorf("requests: got %d, want %.0f", res[0].Requests, want)
	}
	if lag := lagOf(recs); lag == nil || lag.Max < 0 {
		t.Errorf("send lag %+v", lag)
	}
	if !strings.Contains(l.Mode(), "fixed rate 400") {
		t.Errorf("mode %q", l.Mode())
	}
}

func TestLoadValidate(t *testing.T) {
	bad := []Load{{Connections: -1}, {Rate: -5}, {Duration: -time.Second}, {Connections: 20000}}
	for _, l := range bad {
		if l.Validate() == nil {
			t.Errorf("%+v accepted", l)
		}
	}
	if err := (Load{}).Validate(); err != nil {
		t.Errorf("zero load (defaults) refused: %v", err)
	}
}

func TestParseCred(t *testing.T) {
	c, err := ParseCred("a:b:c")
	if err != nil || c.ID != "a" || c.Secret != "b:c" {
		t.Errorf("got %+v, %v", c, err)
	}
	for _, bad := range []string{"", "a", "a:", ":b"} {
		if _, err := ParseCred(bad); err == nil {
			t.Errorf("ParseCred(%q) accepted", bad)
		}
	}
	// RFC 6749 §2.3.1: form-encoded before Basic.
	h := Cred{ID: "a b", Secret: "c:d"}.header()
	if !strings.Contains(h, "Authorization: Basic YStiOmMlM0Fk\r\n") {
		t.Errorf("header %q", h)
	}
}

func TestParseMetrics(t *testing.T) {
	in := "# HELP x\nprocess_cpu_seconds_total 12.5\nvigil_storage_commits_total 7\n" +
		"vigil_http_requests_total{route=\"/x\",code=\"200\"} 9\ngo_goroutines 3\n"
	got, err := parseMetrics(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["process_cpu_seconds_total"] != 12.5 || got[metricCommits] != 7 {
		t.Errorf("got %v", got)
	}
}

func TestStats(t *testing.T) {
	a := Sample{CPU: time.Second, HasCPU: true, Counters: map[string]float64{metricWriteTx: 10, metricCommits: 5, metricReadTx: 0}}
	b := Sample{CPU: 3 * time.Second, HasCPU: true, RSS: 64 << 20, Counters: map[string]float64{metricWriteTx: 110, metricCommits: 25, metricReadTx: 400}}
	s := stats(a, b, 2*time.Second, 200, 100)
	if s.CPUCores != 1 || s.CPUPerRequestUS != 10000 || s.RSSMiB != 64 {
		t.Errorf("stats %+v", s)
	}
	if *s.WriteTxPerTokenRequest != 1 || *s.CommitsPerTokenRequest != 0.2 || *s.ReadTxPerRequest != 2 {
		t.Errorf("storage %v %v %v", *s.WriteTxPerTokenRequest, *s.CommitsPerTokenRequest, *s.ReadTxPerRequest)
	}
	if stats(Sample{}, b, time.Second, 1, 1) != nil {
		t.Error("stats without CPU")
	}
}

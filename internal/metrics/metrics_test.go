package metrics

import (
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeStore counts like a store would.
type fakeStore struct{ reads, writes, commits uint64 }

func (f *fakeStore) TxCounts() (uint64, uint64, uint64) { return f.reads, f.writes, f.commits }

func scrape(t *testing.T, r *Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestWatchStorage(t *testing.T) {
	r := New()
	st := &fakeStore{reads: 10, writes: 4, commits: 2}
	r.WatchStorage(st)
	st.writes, st.commits = 6, 3 // read at scrape time, not at registration
	out := scrape(t, r)
	for _, want := range []string{
		"vigil_storage_read_transactions_total 10\n",
		"vigil_storage_write_transactions_total 6\n",
		"vigil_storage_commits_total 3\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestRequestMetrics(t *testing.T) {
	r := New()
	r.ObserveRequest("/oauth2/token", 200, 0)
	r.TokenIssued("client_credentials", "access_token")
	r.Introspected("active")
	r.Decided("token", "allow", "none", 3*time.Microsecond)
	out := scrape(t, r)
	for _, want := range []string{
		`vigil_http_requests_total{code="200",route="/oauth2/token"} 1`,
		`vigil_tokens_issued_total{grant="client_credentials",kind="access_token"} 1`,
		`vigil_introspections_total{verdict="active"} 1`,
		`vigil_risk_decisions_total{action="allow",level="none",op="token"} 1`,
		`vigil_risk_decision_duration_seconds_bucket{op="token",le="5e-06"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestRiskReasonsBounded counts reason codes and keeps their label set
// bounded: codes beyond the limit, or not shaped like codes, are "other".
func TestRiskReasonsBounded(t *testing.T) {
	r := New()
	r.Decided("exchange", "step_up", "medium", time.Microsecond)
	for _, code := range []string{"net.new_network", "scope.tier_jump", "net.new_network"} {
		r.Reason(code)
	}
	for i := range maxReasonCodes + 10 {
		r.Reason("x.code_" + strconv.Itoa(i))
	}
	r.Reason(`bad"code{}`)
	out := scrape(t, r)
	for _, want := range []string{
		`vigil_risk_reasons_total{code="net.new_network"} 2`,
		`vigil_risk_reasons_total{code="scope.tier_jump"} 1`,
		`vigil_risk_reasons_total{code="other"} 13`, // 12 codes past the limit (two were taken first) and the malformed one
		`vigil_risk_decisions_total{action="step_up",level="medium",op="exchange"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if n := strings.Count(out, "vigil_risk_reasons_total{"); n != maxReasonCodes+1 {
		t.Errorf("%d reason series, want %d and other", n, maxReasonCodes)
	}
}

type fakeCommits struct{ d time.Duration }

func (f *fakeCommits) CommitTime() time.Duration { return f.d }

func TestOperatorMetrics(t *testing.T) {
	r := New()
	r.OAuthError("/oauth2/token", "invalid_grant")
	r.OAuthError("/oauth2/token", "Not A Code")
	t0 := time.Date(2026, 3, 17, 10, 0, 0, 0, time.UTC)
	r.WatchKeyAge(func() time.Time { return t0 }, func() time.Time { return t0.Add(90 * time.Minute) })
	fc := &fakeCommits{}
	r.WatchCommitTime(fc)
	fc.d = 1500 * time.Millisecond
	r.WatchFeedLag(func() time.Duration { return 2 * time.Second })
	live := map[string]int{"none": 7, "high": 2}
	r.WatchLiveSessions([]string{"none", "low", "high"}, func(l string) int { return live[l] })
	live["high"] = 3 // read at the scrape, not at registration
	out := scrape(t, r)
	for _, want := range []string{
		`vigil_build_info{commit=`,
		`vigil_oauth_errors_total{code="invalid_grant",route="/oauth2/token"} 1`,
		`vigil_oauth_errors_total{code="other",route="/oauth2/token"} 1`,
		"vigil_signing_key_age_seconds 5400\n",
		"vigil_storage_commit_seconds_total 1.5\n",
		"vigil_feed_lag_seconds 2\n",
		`vigil_risk_live_sessions{level="none"} 7`,
		`vigil_risk_live_sessions{level="low"} 0`,
		`vigil_risk_live_sessions{level="high"} 3`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

package console

import (
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

func TestParseSessionFilter(t *testing.T) {
	tests := []struct {
		query   string
		wantErr bool
		check   func(sessionFilter) bool
	}{
		{"", false, func(f sessionFilter) bool { return f.Page == 1 && f.from.IsZero() }},
		{"page=3&level=high", false, func(f sessionFilter) bool { return f.Page == 3 && f.Level == "high" }},
		{"page=-2", false, func(f sessionFilter) bool { return f.Page == 1 }},
		{"from=2026-01-02T15:04", false, func(f sessionFilter) bool { return f.from.Equal(time.Date(2026, 1, 2, 15, 4, 0, 0, time.UTC)) }},
		{"to=2026-01-02T15:04:05Z", false, func(f sessionFilter) bool { return f.to.Equal(time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)) }},
		{"from=yesterday", true, nil},
		{"status=gone", true, nil},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		f, err := parseSessionFilter(q)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: err = %v, want error %v", tt.query, err, tt.wantErr)
			continue
		}
		if tt.check != nil && !tt.check(f) {
			t.Errorf("%q: filter = %+v", tt.query, f)
		}
	}
}

// FuzzSessionFilter feeds the sessions list's query to its parser and
// matcher: no panic, and a parsed filter survives a round trip through its
// own query string.
func FuzzSessionFilter(f *testing.F) {
	for _, s := range []string{"", "client=a&level=high&q=x&page=2", "from=2026-01-02T15:04&to=2026-01-03T00:00:00Z",
		"q=%00%ff&page=99999999999999999999", "status=active&refresh=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		fl, err := parseSessionFilter(q)
		if err != nil {
			return
		}
		sm := summary{Session: storage.Session{ID: "s", ClientID: "c"}, Level: "low", Actions: []string{"allow"}}
		_ = fl.match(sm)
		again, _ := url.ParseQuery(fl.query(fl.Page))
		back, err := parseSessionFilter(again)
		if err != nil || back.Client != fl.Client || back.Q != fl.Q || back.Page != fl.Page || !back.from.Equal(fl.from) {
			t.Fatalf("round trip of %q: %+v -> %+v, %v", raw, fl, back, err)
		}
	})
}

func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"24h", "2026-01-02T15:04", "2026-01-02T15:04:05Z", "-1h", "1e400h"} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseSince(s, now)
		if err == nil && got.After(now) && !strings.Contains(s, "T") {
			t.Fatalf("parseSince(%q) = %v, after now", s, got)
		}
	})
}

func TestHourIndexMatchesTheEngine(t *testing.T) {
	// The engine's bucket 0 is Sunday 00:00 UTC; the heatmap's rows start
	// on Monday.
	if got := hourIndex(0, 0); got != 24 {
		t.Errorf("Monday 00:00 = bucket %d, want 24", got)
	}
	if got := hourIndex(6, 23); got != 23 {
		t.Errorf("Sunday 23:00 = bucket %d, want 23", got)
	}
	seen := map[int]bool{}
	for d := range 7 {
		for h := range 24 {
			seen[hourIndex(d, h)] = true
		}
	}
	if len(seen) != 168 {
		t.Errorf("heatmap covers %d buckets, want 168", len(seen))
	}
}

func TestScoreChart(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	evs := []storage.Event{
		{At: t0, Type: "token", Score: 0, Level: "none"},
		{At: t0.Add(time.Minute), Type: "revoke"}, // not judged: no point
		{At: t0.Add(2 * time.Minute), Type: "exchange", Score: 80, Level: "high", Action: "deny"},
		{At: t0.Add(3 * time.Minute), Type: "terminate", Score: 0, Level: "critical", Action: "terminate"},
	}
	th := risk.Thresholds{Low: 40, Medium: 70, High: 90, Critical: 100}
	svg := string(scoreChart(evs, th))
	if n := strings.Count(svg, "<circle"); n != 2 {
		t.Errorf("%d points, want 2 (the judged events)", n)
	}
	for _, want := range []string{"low ≥ 40", "medium ≥ 70", "high ≥ 90", "critical ≥ 100", `role="img"`, "Latest score 80 (high)"} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	empty := string(scoreChart(nil, th))
	if !strings.Contains(empty, "No judged events yet.") {
		t.Error("an empty timeline draws no notice")
	}
}

func TestThresholdLabelsDoNotOverlap(t *testing.T) {
	// The default policy's high (99) and critical (100) lines are a few
	// pixels apart: their labels are spread, the others stay at their line.
	got := thresholdLabels([]float64{31.8, 33.8, 60, 120})
	want := []float64{31.8, 31.8 + labelGap, 60, 120}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-9 {
			t.Fatalf("labels at %v, want %v", got, want)
		}
	}
	svg := string(scoreChart(nil, risk.Thresholds{Low: 50, Medium: 90, High: 99, Critical: 100}))
	var ys []float64
	for _, m := range regexp.MustCompile(`class="th-label" x="\d+" y="([0-9.]+)"`).FindAllStringSubmatch(svg, -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		ys = append(ys, v)
	}
	if len(ys) != 4 {
		t.Fatalf("%d threshold labels, want 4", len(ys))
	}
	for i := 1; i < len(ys); i++ {
		if ys[i]-ys[i-1] < labelGap {
			t.Errorf("labels %d and %d are %.1f px apart, want at least %d", i-1, i, ys[i]-ys[i-1], labelGap)
		}
	}
}

func TestCeilMilli(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range []struct{ in, want time.Time }{
		{base, base},
		{base.Add(time.Nanosecond), base.Add(time.Millisecond)},
		{base.Add(1500 * time.Microsecond), base.Add(2 * time.Millisecond)},
	} {
		if got := ceilMilli(tt.in); !got.Equal(tt.want) {
			t.Errorf("ceilMilli(%v) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func TestNextPage(t *testing.T) {
	overview := Prefix + "/overview"
	tests := []struct{ next, want string }{
		{"", overview},
		{Prefix + "/sessions/s1", Prefix + "/sessions/s1"},
		{Prefix + "/sessions?client=a&page=2", Prefix + "/sessions?client=a&page=2"},
		{Prefix + "/login", overview},
		{Prefix + "/login?next=x", overview},
		{Prefix + "/../admin", overview},
		{Prefix + "/a/./b", overview},
		{Prefix + "/a#b", overview},
		{"/other", overview},
		{"https://evil.example" + Prefix + "/overview", overview},
		{"//evil.example" + Prefix + "/overview", overview},
		{"/\\evil.example" + Prefix + "/", overview},
		{Prefix + "/a\\b", overview},
		{Prefix + "/a\r\nSet-Cookie: x", overview},
		{"javascript:alert(1)", overview},
	}
	for _, tt := range tests {
		if got := nextPage(tt.next); got != tt.want {
			t.Errorf("nextPage(%q) = %q, want %q", tt.next, got, tt.want)
		}
	}
}

// FuzzNextPage feeds the sign-in's next parameter to nextPage: whatever it
// answers is a path of the console on the same site, never the sign-in page.
func FuzzNextPage(f *testing.F) {
	for _, s := range []string{"", Prefix + "/sessions?page=2", "//evil.example/", "/\\evil.example",
		Prefix + "/%2e%2e/x", Prefix + "/login", "https://a" + Prefix + "/x", Prefix + "/a%0d%0ab"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := nextPage(next)
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil ||
			!strings.HasPrefix(got, Prefix+"/") || strings.HasPrefix(u.Path, Prefix+"/login") ||
			strings.ContainsAny(got, "\\\r\n\t") || strings.HasPrefix(got, "//") {
			t.Fatalf("nextPage(%q) = %q", next, got)
		}
	})
}

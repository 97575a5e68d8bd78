package deploy

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/metrics"
)

type counts struct{}

func (counts) TxCounts() (uint64, uint64, uint64) { return 1, 1, 1 }
func (counts) CommitTime() time.Duration          { return time.Millisecond }

// exported returns the names of every metric Vigil exports, with every
// optional collector registered and every labelled family touched.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	r := metrics.New()
	r.WatchStorage(counts{})
	r.WatchCommitTime(counts{})
	r.WatchKeyAge(time.Now, time.Now)
	r.WatchFeedLag(func() time.Duration { return 0 })
	r.WatchLiveSessions([]string{"none", "high"}, func(string) int { return 1 })
	r.ObserveRequest("/oauth2/token", 200, time.Millisecond)
	r.TokenIssued("client_credentials", "access_token")
	r.Introspected("active")
	r.Decided("token", "allow", "none", time.Microsecond)
	r.Reason("net.new_network")
	r.OAuthError("/oauth2/token", "invalid_grant")
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (\S+) (\S+)`).FindAllStringSubmatch(string(b), -1) {
		names[m[1]] = true
		if m[2] == "histogram" || m[2] == "summary" {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				names[m[1]+suffix] = true
			}
		}
	}
	if len(names) < 20 {
		t.Fatalf("only %d metrics exported", len(names))
	}
	return names
}

var metricName = regexp.MustCompile(`\b((?:vigil|go|process)_[a-z0-9_]+)`)

func checkExprs(t *testing.T, where string, exprs []string, names map[string]bool) {
	t.Helper()
	if len(exprs) == 0 {
		t.Fatalf("%s: no queries found", where)
	}
	for _, e := range exprs {
		found := metricName.FindAllString(e, -1)
		if len(found) == 0 && !strings.Contains(e, "up{") {
			t.Errorf("%s: query %q names no metric", where, e)
		}
		for _, n := range found {
			if !names[n] {
				t.Errorf("%s: query %q names %s, which Vigil does not export", where, e, n)
			}
		}
	}
}

func TestDashboardQueriesNameExportedMetrics(t *testing.T) {
	b, err := os.ReadFile("grafana/vigil.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	var exprs []string
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	checkExprs(t, "grafana/vigil.json", exprs, exported(t))
}

func TestAlertRulesNameExportedMetrics(t *testing.T) {
	b, err := os.ReadFile("prometheus-alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var exprs []string
	for _, m := range regexp.MustCompile(`(?m)^\s+expr: (.+)$`).FindAllStringSubmatch(string(b), -1) {
		exprs = append(exprs, m[1])
	}
	checkExprs(t, "prometheus-alerts.yaml", exprs, exported(t))
}

// TestDockerfile checks the image's promises; a docker engine builds it
// (docs/OPERATIONS.md), this checks what it is asked to build.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	stages := regexp.MustCompile(`(?m)^FROM `).FindAllStringIndex(df, -1)
	if len(stages) < 2 {
		t.Fatal("the Dockerfile is not multi-stage")
	}
	final := df[stages[len(stages)-1][0]:]
	for _, want := range []string{
		"CGO_ENABLED=0",                    // a static binary
		"FROM gcr.io/distroless/static",    // no shell, no libc in the image
		"USER 65532:65532",                 // non-root
		`CMD ["/usr/bin/vigil", "health"]`, // healthcheck through vigil health
		"VIGIL_DATA=/var/lib/vigil",        // the only place it writes
		`VOLUME ["/var/lib/vigil"]`,        // so the root filesystem can be read-only
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	if !strings.Contains(final, "HEALTHCHECK") || !strings.Contains(final, "USER") {
		t.Error("the final stage lacks HEALTHCHECK or USER")
	}
	if regexp.MustCompile(`(?m)^USER (0|root)\b`).MatchString(final) {
		t.Error("the final stage runs as root")
	}
}

// TestPackagesAgree checks that the release packages (.goreleaser.yaml)
// and CI's package (packaging/nfpm.yaml) install the same files with the
// same scripts, and that the unit runs as the vigil user the scripts make.
func TestPackagesAgree(t *testing.T) {
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	gr, nf := read("../.goreleaser.yaml"), read("../packaging/nfpm.yaml")
	dst := regexp.MustCompile(`(?m)dst: (\S+)`)
	scripts := regexp.MustCompile(`(?m)(preinstall|postinstall|preremove): (\S+)`)
	set := func(re *regexp.Regexp, s string) map[string]bool {
		m := map[string]bool{}
		for _, x := range re.FindAllString(s, -1) {
			m[x] = true
		}
		return m
	}
	gd, nd := set(dst, gr), set(dst, nf)
	delete(nd, "dst: /usr/bin/vigil") // goreleaser places the binary through bindir
	for k := range nd {
		if !gd[k] {
			t.Errorf("packaging/nfpm.yaml has %s, .goreleaser.yaml does not", k)
		}
	}
	for k := range gd {
		if !nd[k] {
			t.Errorf(".goreleaser.yaml has %s, packaging/nfpm.yaml does not", k)
		}
	}
	gs, ns := set(scripts, gr), set(scripts, nf)
	if len(gs) != 3 || len(ns) != 3 {
		t.Errorf("scripts: %v vs %v", gs, ns)
	}
	for k := range gs {
		if !ns[k] {
			t.Errorf("script %s differs", k)
		}
	}
	unit, pre := read("../packaging/vigil.service"), read("../packaging/preinstall.sh")
	for _, want := range []string{"User=vigil", "ExecStart=/usr/bin/vigil serve", "ExecReload=/bin/kill -HUP $MAINPID", "StateDirectory=vigil"} {
		if !strings.Contains(unit, want) {
			t.Errorf("vigil.service lacks %q", want)
		}
	}
	if !strings.Contains(pre, "useradd --system") {
		t.Error("preinstall.sh does not create the vigil user")
	}
	for _, goos := range []string{"linux", "darwin"} {
		if !strings.Contains(gr, goos) {
			t.Errorf(".goreleaser.yaml does not build %s", goos)
		}
	}
	if !strings.Contains(gr, "goarch: [amd64, arm64]") || !strings.Contains(gr, "sboms:") || !strings.Contains(gr, "checksum:") {
		t.Error(".goreleaser.yaml lacks an arch, the SBOM or the checksums")
	}
}

package loadgen_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/loadgen"
	"github.com/vigil-auth/vigil/internal/loadgen/ceiling"
	"github.com/vigil-auth/vigil/internal/server"
	"github.com/vigil-auth/vigil/internal/server/servertest"
)

const adminToken = "vat_loadgen-test-0123456789abcdefghijklmnopqrstu"

// vigil serves an in-process Vigil with the admin API on.
func vigil(t *testing.T) *loadgen.Target {
	t.Helper()
	s := servertest.Settings()
	s.DPoPNonce = false
	issuer := servertest.Start(t, s, server.WithGetenv(servertest.Env(adminToken))).URL
	tg, err := loadgen.NewTarget(issuer, false)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// TestSuiteAgainstVigil provisions the bench's clients on a real Vigil and
// runs every scenario briefly: every answer must be a success with the
// verdict each token deserves.
func TestSuiteAgainstVigil(t *testing.T) {
	ctx := context.Background()
	tg := vigil(t)
	ep, err := loadgen.Discover(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := loadgen.Provision(ctx, tg, adminToken, 3, ep)
	if err != nil {
		t.Fatal(err)
	}
	ct := httptest.NewServer(ceiling.Handler())
	defer ct.Close()
	ctg, _ := loadgen.NewTarget(ct.URL, false)
	env := p.Env
	probe := loadgen.MetricsProbe{URL: tg.URL("/metrics")}
	suite := &loadgen.Suite{
		Load:  loadgen.Load{Connections: 4, Duration: 300 * time.Millisecond, Warmup: 50 * time.Millisecond},
		Pause: 10 * time.Millisecond,
		Entries: []loadgen.Entry{
			{Scenario: &loadgen.CeilingScenario{Target: ctg, Path: "/introspect", RS: env.RS[0]}, Target: ctg},
			// A small pool (41 probes with the default mix: one unknown), so that
			// even a slow run cycles through every kind of token at least once,
			// and a fast one presents too few unknown tokens to meet the scanning
			// throttle (300, then one per 200 ms) within the run.
			{Scenario: &loadgen.IntrospectScenario{Env: env, Mix: loadgen.DefaultMix, Tokens: 40}, Target: tg, Probe: probe},
			{Scenario: &loadgen.TokenScenario{Env: env}, Target: tg, Probe: probe},
			{Scenario: &loadgen.ExchangeScenario{Env: env, Sessions: 50}, Target: tg, Probe: probe},
			{Scenario: &loadgen.AgentScenario{Env: env, Calls: 2, Checks: 2}, Target: tg, Probe: probe},
		},
		Info: loadgen.Info{Target: tg.URL(""), Risk: "test"},
	}
	rep := suite.Run(ctx)
	if len(rep.Scenarios) != 5 {
		t.Fatalf("scenarios: %d", len(rep.Scenarios))
	}
	for _, s := range rep.Scenarios {
		if s.Error != "" {
			t.Errorf("%s: %s", s.Name, s.Error)
		}
		for _, o := range s.Ops {
			if o.OK == 0 || o.Errors != 0 {
				t.Errorf("%s/%s: %d ok, %d errors %v", s.Name, o.Op, o.OK, o.Errors, o.ErrorKinds)
			}
		}
	}
	intro := rep.Scenarios[1].Ops[0]
	for _, tag := range []string{"valid active", "expired inactive", "revoked inactive", "unknown inactive", "risk allow"} {
		if intro.Tags[tag] == 0 {
			t.Errorf("introspection answers lack %q: %v", tag, intro.Tags)
		}
	}
	if rep.Scenarios[2].Server == nil {
		t.Error("no server figures from /metrics")
	}
	var text, js bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"== summary", "ceiling", "introspect", "of ceiling"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	if err := p.Cleanup(ctx); err != nil {
		t.Errorf("cleanup: %v", err)
	}
}

// Package archtest enforces Vigil's dependency rules: dependencies point
// down, and each third-party library stays in the one package that needs it.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/vigil-auth/vigil/"

// allowed maps a package (relative to the module) to the module packages it
// may import directly; packages not listed may import anything but cmd.
var allowed = map[string][]string{
	"storage":            {"internal/limits"},
	"storage/memory":     {"storage"},
	"storage/bolt":       {"storage"},
	"storage/postgres":   {"storage"},
	"risk":               {"internal/limits"},
	"risk/rules":         {"risk"},
	"keys":               {"storage", "internal/limits"},
	"internal/limits":    {},
	"internal/oauth":     {"internal/limits"},
	"internal/secret":    {},
	"internal/metrics":   {"internal/buildinfo"},
	"internal/buildinfo": {},
	"internal/web":       {"internal/oauth"},
	"internal/telemetry": {"storage", "internal/buildinfo"},
	"authz":              {"storage", "risk", "internal/oauth", "internal/limits"},
	"introspect":         {"storage", "risk", "internal/oauth"},
	"ssf":                {"storage", "keys", "risk"},
	"internal/console":   {"storage", "risk", "internal/admin", "internal/web"},
	"internal/cluster":   {"risk"},
	// apicheck compares wire types with the admin API's description, for tests.
	"internal/admin/apicheck": {},
}

// wiringUsers may build the whole server: the command, and the in-process
// drivers of tests, scenario replay and load generation.
var wiringUsers = []string{"cmd/vigil", "conformance/", "internal/replay", "internal/loadgen", "internal/server/servertest", "examples/"}

// confined maps a third-party import-path prefix to the only packages (or
// package subtrees ending in "/") that may import it directly. Test-only
// packages under conformance/ may import anything.
var confined = map[string][]string{
	"github.com/ory/fosite":               {"authz"},
	"github.com/go-jose/go-jose/v4":       {"keys", "conformance/"},
	"github.com/go-jose/go-jose/v3":       {},
	"go.etcd.io/bbolt":                    {"storage/bolt"},
	"github.com/jackc/pgx/v5":             {"storage/postgres"},
	"github.com/pressly/goose/v3":         {"storage/postgres"},
	"github.com/gorilla/mux":              {"internal/web"},
	"cel.dev/cel-go":                      {"risk/rules"},
	"github.com/prometheus/client_golang": {"internal/metrics"},
	"gopkg.in/yaml.v3":                    {"internal/config", "cmd/vigil"},
	"gonum.org/v1/plot":                   {"internal/eval/plot"},
	"go.opentelemetry.io/":                {"internal/telemetry"},
	// The OpenAPI validator checks the admin API's answers in its tests
	// only: no package that ships imports it.
	"github.com/pb33f/": {},
}

// imports lists every package of the module with its direct non-test imports.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkgs[strings.TrimPrefix(f[0], mod)] = f[1:]
	}
	return pkgs
}

func TestDependenciesPointDown(t *testing.T) {
	for pkg, imps := range imports(t) {
		allow, listed := allowed[pkg]
		for _, imp := range imps {
			if !strings.HasPrefix(imp, mod) {
				continue
			}
			dep := strings.TrimPrefix(imp, mod)
			if strings.HasPrefix(dep, "cmd/") || (dep == "internal/server" && !owned(pkg, wiringUsers)) {
				t.Errorf("%s imports %s: only %v build on the wiring", pkg, dep, wiringUsers)
			}
			if listed && !contains(allow, dep) {
				t.Errorf("%s imports %s; it may import only %v", pkg, dep, allow)
			}
		}
	}
}

func TestThirdPartyConfined(t *testing.T) {
	for pkg, imps := range imports(t) {
		for _, imp := range imps {
			for prefix, owners := range confined {
				if strings.HasPrefix(imp, prefix) && !owned(pkg, owners) {
					t.Errorf("%s imports %s; only %v may", pkg, imp, owners)
				}
			}
		}
	}
}

func owned(pkg string, owners []string) bool {
	for _, o := range owners {
		if pkg == o || (strings.HasSuffix(o, "/") && strings.HasPrefix(pkg, o)) || strings.HasPrefix(pkg, o+"/") {
			return true
		}
	}
	return false
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

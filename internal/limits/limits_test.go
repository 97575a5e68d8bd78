package limits_test

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/vigil-auth/vigil/internal/limits"
)

var update = flag.Bool("update", false, "rewrite the generated limits in README.md and docs/LIMITS.md")

const (
	begin = "<!-- limits:begin (generated from internal/limits; go test ./internal/limits -update) -->\n"
	end   = "<!-- limits:end -->"
)

// TestDocumentedLimits checks that the README and docs/LIMITS.md show the
// limits the code enforces: both hold the table generated from
// limits.Table between markers.
func TestDocumentedLimits(t *testing.T) {
	for _, path := range []string{"../../README.md", "../../docs/LIMITS.md"} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		doc := string(b)
		i, j := strings.Index(doc, begin), strings.Index(doc, end)
		if i < 0 || j < i {
			t.Fatalf("%s: no generated limits block (%q … %q)", path, begin, end)
		}
		want := doc[:i] + begin + limits.Markdown() + doc[j:]
		if want == doc {
			continue
		}
		if *update {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		t.Errorf("%s: the documented limits differ from internal/limits; run go test ./internal/limits -update", path)
	}
}

func TestMarkdownNamesEveryLimit(t *testing.T) {
	md := limits.Markdown()
	for _, want := range []string{"| client assertion `exp` | 5 minutes ahead at most |", "| clock leeway | 30 seconds |",
		"| presented token size | 16 KiB |", "| exchanged token lifetime | 5 minutes |"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown() lacks %q:\n%s", want, md)
		}
	}
	if got := strings.Count(md, "\n"); got != len(limits.Table())+2 {
		t.Errorf("Markdown() has %d lines for %d limits", got, len(limits.Table()))
	}
}

package crash

import (
	"os"
	"testing"

	"github.com/vigil-auth/vigil/conformance/crash/proc"
)

func TestMain(m *testing.M) { os.Exit(proc.Main(m)) }

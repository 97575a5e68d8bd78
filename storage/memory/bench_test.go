package memory_test

import (
	"testing"

	"github.com/vigil-auth/vigil/conformance/storetest"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/memory"
)

func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, func(*testing.B) storage.Store { return memory.New() })
}

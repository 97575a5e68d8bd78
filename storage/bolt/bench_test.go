package bolt_test

import (
	"testing"

	"github.com/vigil-auth/vigil/conformance/storetest"
	"github.com/vigil-auth/vigil/storage"
)

func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) storage.Store { return open(b) })
}

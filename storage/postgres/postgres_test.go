package postgres_test

import (
	"testing"

	"github.com/vigil-auth/vigil/conformance/storetest"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/postgres"
	"github.com/vigil-auth/vigil/storage/postgres/pgtest"
)

// open opens a store on a fresh database.
func open(t testing.TB, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), pgtest.Fresh(t), opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storage.Store { return open(t) })
}

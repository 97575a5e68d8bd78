package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-auth/vigil/storage/bolt"
)

func TestDBStatsPrintsBuckets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	st, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"db", "stats", path}, func(string) string { return "" }, &out, &errb); err != nil {
		t.Fatalf("db stats: %v\n%s", err, errb.String())
	}
	for _, want := range []string{"bucket", "tokens", "session_data", "free pages", "file"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

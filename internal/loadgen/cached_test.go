package loadgen

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestFileCachedMiB(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, make([]byte, 4<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	// Just written: the page cache holds it (nothing here evicts it).
	got, err := FileCachedMiB(path)
	if err != nil || got <= 0 || got > 4 {
		t.Fatalf("FileCachedMiB = %v, %v; want in (0, 4]", got, err)
	}
}

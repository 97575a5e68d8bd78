package servertest

import (
	"net/http"
	"os"
	"testing"
)

// TestStart serves a fresh instance whose data lives in a temporary
// directory, never in the working directory.
func TestStart(t *testing.T) {
	s := Start(t, Settings())
	res, err := http.Get(s.URL + "/health/ready")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("ready = %d", res.StatusCode)
	}
	if _, err := os.Stat("vigil-data"); err == nil {
		t.Fatal("the instance wrote into the working directory")
	}
}

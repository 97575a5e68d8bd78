package crash

import (
	"encoding/binary"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/conformance/crash/proc"
)

// bbolt's two meta pages sit in the first two pages of the file; each ends
// with a checksum over the rest of its meta (SECURITY.md D7).
const metaPage = 4096

// seeded starts a deployment, issues a token followed by another write,
// and stops the server cleanly. Both meta pages then describe a state that
// holds the first token, whichever of them is the newer.
func seeded(t *testing.T) (*deployment, string) {
	t.Helper()
	d := newDeployment(t)
	s := d.start(t)
	var first string
	for i := range 2 {
		a := d.client().as(agentID, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, nil)
		if a.err != nil || a.status != 200 {
			t.Fatalf("issue: %d %s %v", a.status, a.raw, a.err)
		}
		if i == 0 {
			first = a.str("access_token")
		}
	}
	if err := s.Signal(15); err != nil { // SIGTERM
		t.Fatal(err)
	}
	if code, err := s.Wait(25 * time.Second); err != nil || code != 0 {
		t.Fatalf("clean stop: %d %v", code, err)
	}
	return d, first
}

// corrupt overwrites n bytes of the file at off.
func corrupt(t *testing.T, path string, off int64, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	junk := make([]byte, n)
	for i := range junk {
		junk[i] = 0xA5
	}
	if _, err := f.WriteAt(junk, off); err != nil {
		t.Fatal(err)
	}
}

// refuses checks that the server exits non-zero on its own, without ever
// becoming ready.
func refuses(t *testing.T, d *deployment) {
	t.Helper()
	s := proc.Launch(t, proc.Options{Addr: d.addr, Args: []string{"--config", d.config}})
	code, err := s.Wait(30 * time.Second)
	if err != nil {
		t.Fatalf("the server kept running on a damaged data file:\n%s", s.Logs())
	}
	if code == 0 {
		t.Fatalf("exit code 0 on a damaged data file:\n%s", s.Logs())
	}
}

// metaTxid reads the transaction id of meta page i of the file at path.
func metaTxid(t *testing.T, path string, i int) uint64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	off := i*metaPage + 64 // page header (16), magic, version, page size, flags, root (16), freelist, pgid
	return binary.LittleEndian.Uint64(b[off : off+8])
}

// TestDataFile_D7_Corruption: one damaged meta page is survived (bbolt
// reads the other, checksummed one) and the server starts. A damaged older
// one loses nothing: the data is all there. A damaged newer one makes bbolt
// open the file at the commit before, so the last commit (a revocation,
// say) would be undone: as after a restore, every session of the file is
// ended and the server says so. Two damaged meta pages, or a truncated
// file, stop the server from starting.
func TestDataFile_D7_Corruption(t *testing.T) {
	if testing.Short() {
		t.Skip("process test: skipped with -short")
	}
	for i, name := range []string{"meta page 0", "meta page 1"} {
		t.Run(name, func(t *testing.T) {
			d, at := seeded(t)
			newer := metaTxid(t, d.dbPath(), i) > metaTxid(t, d.dbPath(), 1-i)
			corrupt(t, d.dbPath(), int64(i*metaPage+16+16), 24) // root bucket and freelist ids
			if !newer {
				d.start(t)
				if a := d.client().introspect(at); a.err != nil || a.body["active"] != true {
					t.Fatalf("after losing the older %s the token is %d %s", name, a.status, a.raw)
				}
				return
			}
			// The newer meta page is lost: bbolt opens the file at the
			// commit before, so what the last commit did is unknown. The
			// server starts, but as after a restore nothing issued before
			// is trusted.
			s := d.start(t)
			if a := d.client().introspect(at); a.err != nil || a.status != 200 || a.body["active"] != false {
				t.Fatalf("after losing the newer %s a token from before is %d %s", name, a.status, a.raw)
			}
			if !s.LogHas("meta page is damaged") {
				t.Errorf("no warning that the latest commits were lost:\n%s", s.Logs())
			}
			if a := d.client().as(agentID, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, nil); a.status != 200 {
				t.Fatalf("a new grant: %d %s", a.status, a.raw)
			}
		})
	}
	t.Run("both meta pages", func(t *testing.T) {
		d, _ := seeded(t)
		corrupt(t, d.dbPath(), 16+16, 24)
		corrupt(t, d.dbPath(), metaPage+16+16, 24)
		refuses(t, d)
	})
	t.Run("truncated", func(t *testing.T) {
		d, _ := seeded(t)
		if err := os.Truncate(d.dbPath(), metaPage+100); err != nil {
			t.Fatal(err)
		}
		refuses(t, d)
	})
}

// TestDataFile_D9_SecondProcess: a second server on the same data directory
// gives up at once with a clear message, and the first goes on serving.
func TestDataFile_D9_SecondProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("process test: skipped with -short")
	}
	d := newDeployment(t)
	first := d.start(t)
	other := "127.0.0.1:" + itoa(proc.FreePort(t))
	second := proc.Launch(t, proc.Options{Addr: other, Args: []string{"--config", d.config, "--listen", other}})
	code, err := second.Wait(15 * time.Second)
	if err != nil || code == 0 {
		t.Fatalf("second process: exit %d (%v)\n%s", code, err, second.Logs())
	}
	if !second.LogHas("in use by another vigil process") {
		t.Errorf("second process did not say why:\n%s", second.Logs())
	}
	if first.Exited() {
		t.Fatal("the first server stopped")
	}
	if a := d.client().as(agentID, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, nil); a.status != 200 {
		t.Fatalf("first server after the attempt: %d %s %v", a.status, a.raw, a.err)
	}
}

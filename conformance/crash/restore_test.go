package crash

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/conformance/crash/proc"
)

// vigilCmd runs a vigil command (not serve) and returns its output.
func vigilCmd(t *testing.T, d *deployment, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(proc.Binary(t), args...)
	cmd.Env = append(os.Environ(), "VIGIL_DATA="+d.data, "VIGIL_ADDR="+d.issuer)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func stop(t *testing.T, s *proc.Server) {
	t.Helper()
	if err := s.Signal(15); err != nil {
		t.Fatal(err)
	}
	if code, err := s.Wait(25 * time.Second); err != nil || code != 0 {
		t.Fatalf("clean stop: %d %v", code, err)
	}
}

// TestDataFile_Restore: an online backup, a revocation after it, a restore:
// the token revoked after the backup stays refused, as does every token
// and refresh token issued before the restore, because the backup cannot
// know what happened to them since; new grants work.
func TestDataFile_Restore(t *testing.T) {
	if testing.Short() {
		t.Skip("process test: skipped with -short")
	}
	d := newDeployment(t)
	s := d.start(t)
	c := d.client()
	first := c.as(agentID, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, nil)
	kept := c.as(agentID, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, nil)
	if first.status != 200 || kept.status != 200 {
		t.Fatalf("issue: %d %s / %d %s", first.status, first.raw, kept.status, kept.raw)
	}
	backup := filepath.Join(d.dir, "backup.db")
	if out, err := vigilCmd(t, d, "db", "backup", backup); err != nil {
		t.Fatalf("db backup: %v\n%s", err, out)
	}
	if r := c.as(agentID, "/oauth2/revoke", url.Values{"token": {first.str("access_token")}}, nil); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	stop(t, s)
	if out, err := vigilCmd(t, d, "db", "check", backup); err != nil || !strings.Contains(out, "ok") {
		t.Fatalf("db check of the backup: %v\n%s", err, out)
	}
	out, err := vigilCmd(t, d, "db", "restore", backup, "--data", d.data)
	if err != nil {
		t.Fatalf("db restore: %v\n%s", err, out)
	}
	d.start(t)
	for name, tok := range map[string]string{"revoked after the backup": first.str("access_token"),
		"issued before the restore": kept.str("access_token")} {
		if a := c.introspect(tok); a.status != 200 || a.body["active"] != false {
			t.Errorf("the token %s is %d %s after the restore", name, a.status, a.raw)
		}
	}
	if r := c.as(agentID, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {kept.str("refresh_token")}}, nil); r.status != 400 {
		t.Errorf("a refresh token from before the restore: %d %s", r.status, r.raw)
	}
	fresh := c.as(agentID, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, nil)
	if fresh.status != 200 || c.introspect(fresh.str("access_token")).body["active"] != true {
		t.Fatalf("a new grant after the restore: %d %s", fresh.status, fresh.raw)
	}
}

// TestDataFile_LostDatabase: a data directory whose database was moved
// aside does not silently start a new server; --init does.
func TestDataFile_LostDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("process test: skipped with -short")
	}
	d, _ := seeded(t)
	if err := os.Rename(d.dbPath(), d.dbPath()+".aside"); err != nil {
		t.Fatal(err)
	}
	s := proc.Launch(t, proc.Options{Addr: d.addr, Args: []string{"--config", d.config}})
	code, err := s.Wait(30 * time.Second)
	if err != nil || code == 0 {
		t.Fatalf("started on a lost database: exit %d %v\n%s", code, err, s.Logs())
	}
	if !s.LogHas("--init") || s.LogHas("panic") {
		t.Errorf("the refusal does not give the way out:\n%s", s.Logs())
	}
	if _, err := os.Stat(d.dbPath()); err == nil {
		t.Fatal("a new database was created anyway")
	}
	d.extraArgs = []string{"--init"}
	d.start(t)
}

// TestDataFile_DamagedPage: a damaged data page (not a meta page) is caught
// by the check at open: the server refuses to start, says how to get out,
// and never panics; vigil db check says the same.
func TestDataFile_DamagedPage(t *testing.T) {
	if testing.Short() {
		t.Skip("process test: skipped with -short")
	}
	d, _ := seeded(t)
	fi, err := os.Stat(d.dbPath())
	if err != nil {
		t.Fatal(err)
	}
	for off := int64(2 * metaPage); off < fi.Size(); off += metaPage {
		corrupt(t, d.dbPath(), off, 16) // every page header after the meta pages
	}
	s := proc.Launch(t, proc.Options{Addr: d.addr, Args: []string{"--config", d.config}})
	code, err := s.Wait(30 * time.Second)
	if err != nil || code == 0 {
		t.Fatalf("served from a damaged file: exit %d %v\n%s", code, err, s.Logs())
	}
	if !s.LogHas("restore") || s.LogHas("goroutine ") {
		t.Errorf("the refusal does not give the way out, or panicked:\n%s", s.Logs())
	}
	if out, err := vigilCmd(t, d, "db", "check", "--data", d.data); err == nil {
		t.Fatalf("db check passed a damaged file:\n%s", out)
	}
}

// markerGeneration reads the generation the data directory's marker
// records (0 if none).
func markerGeneration(t *testing.T, d *deployment) uint64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(d.data, "vigil.initialized"))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "generation "); ok {
			g, _ := strconv.ParseUint(v, 10, 64)
			return g
		}
	}
	return 0
}

// TestDataFile_OlderCopyByHand: a backup copied over the database by hand
// (not through vigil db restore) after a revocation is refused at start,
// after a clean stop and after kill -9 alike, with the way out; following
// it (vigil db restore of the copy, or vigil db end-sessions in place)
// brings the server back with the revoked token and every token issued
// before the restore refused.
func TestDataFile_OlderCopyByHand(t *testing.T) {
	if testing.Short() {
		t.Skip("process test: skipped with -short")
	}
	for _, how := range []string{"clean stop", "kill -9"} {
		t.Run(how, func(t *testing.T) {
			d := newDeployment(t)
			s := d.start(t)
			c := d.client()
			tok := c.as(agentID, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, nil)
			if tok.status != 200 {
				t.Fatalf("issue: %d %s", tok.status, tok.raw)
			}
			backup := filepath.Join(d.dir, "backup.db")
			if out, err := vigilCmd(t, d, "db", "backup", backup); err != nil {
				t.Fatalf("db backup: %v\n%s", err, out)
			}
			before := markerGeneration(t, d)
			if r := c.as(agentID, "/oauth2/revoke", url.Values{"token": {tok.str("access_token")}}, nil); r.status != 200 {
				t.Fatalf("revoke: %d %s", r.status, r.raw)
			}
			if how == "clean stop" {
				stop(t, s)
			} else {
				// The running server records its generation every few
				// seconds: wait until the revocation's is recorded.
				deadline := time.Now().Add(30 * time.Second)
				for markerGeneration(t, d) <= before && time.Now().Before(deadline) {
					time.Sleep(100 * time.Millisecond)
				}
				s.Kill()
			}
			b, err := os.ReadFile(backup)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(d.dbPath(), b, 0o600); err != nil {
				t.Fatal(err)
			}
			l := proc.Launch(t, proc.Options{Addr: d.addr, Args: []string{"--config", d.config}})
			code, err := l.Wait(30 * time.Second)
			if err != nil || code == 0 {
				t.Fatalf("served an older copy put back by hand: exit %d %v\n%s", code, err, l.Logs())
			}
			if !l.LogHas("vigil db restore") || l.LogHas("goroutine ") {
				t.Fatalf("the refusal does not give the way out:\n%s", l.Logs())
			}
			if how == "clean stop" {
				copied := d.dbPath() + ".copy"
				if err := os.Rename(d.dbPath(), copied); err != nil {
					t.Fatal(err)
				}
				if out, err := vigilCmd(t, d, "db", "restore", copied, "--data", d.data); err != nil {
					t.Fatalf("db restore: %v\n%s", err, out)
				}
			} else if out, err := vigilCmd(t, d, "db", "end-sessions", "--data", d.data); err != nil {
				t.Fatalf("db end-sessions: %v\n%s", err, out) // the other way out, in place
			}
			d.start(t)
			if a := c.introspect(tok.str("access_token")); a.status != 200 || a.body["active"] != false {
				t.Fatalf("the token revoked after the copy was taken: %d %s", a.status, a.raw)
			}
			if r := c.as(agentID, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.str("refresh_token")}}, nil); r.status != 400 {
				t.Errorf("a refresh token from before the restore: %d %s", r.status, r.raw)
			}
		})
	}
}

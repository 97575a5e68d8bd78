package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/internal/server"
	"github.com/vigil-auth/vigil/internal/server/servertest"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/postgres/pgtest"
)

const (
	agent, agentSecret = "conf-agent", "conf-agent-secret-0123456789abcdefghijkl"
	rs, rsSecret       = "conf-rs1", "conf-rs1-secret-0123456789abcdefghijklmn"
	clusterAdmin       = "vat_cluster-test-0123456789abcdefghijklmnopq"
)

// cluster starts n instances on one fresh PostgreSQL database, sharing the
// issuer, VIGIL_SECRET and the conformance clients.
func cluster(t *testing.T, n int) []*servertest.Server {
	t.Helper()
	f, err := config.Load("../../conformance/vigil.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := servertest.Settings()
	s.Store, s.Issuer = pgtest.Fresh(t), "https://vigil.cluster.example"
	env := servertest.Env(clusterAdmin)
	var out []*servertest.Server
	for range n {
		out = append(out, servertest.Start(t, s, server.WithGetenv(env), server.WithConfigFile(f, "")))
	}
	return out
}

func post(t *testing.T, u, user, pass string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(user, pass)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body
}

func token(t *testing.T, base string) string {
	t.Helper()
	code, body := post(t, base+server.PathToken, agent, agentSecret, url.Values{"grant_type": {"client_credentials"},
		"audience": {"https://rs1.example"}, "scope": {"tickets.read"}})
	if code != http.StatusOK {
		t.Fatalf("token: %d %v", code, body)
	}
	return body["access_token"].(string)
}

func active(t *testing.T, base, tok string) bool {
	t.Helper()
	code, body := post(t, base+server.PathIntrospect, rs, rsSecret, url.Values{"token": {tok}})
	if code != http.StatusOK {
		t.Fatalf("introspect: %d %v", code, body)
	}
	return body["active"] == true
}

// TestClusterRevocation: a token revoked on one instance is inactive there
// as soon as the revocation is answered, and on the others once their change
// feed has come round (make cluster-test measures how soon: within 100 ms).
func TestClusterRevocation(t *testing.T) {
	c := cluster(t, 2)
	tok := token(t, c[0].URL)
	if !active(t, c[1].URL, tok) {
		t.Fatal("a fresh token is inactive on the other instance")
	}
	if code, body := post(t, c[0].URL+server.PathRevoke, agent, agentSecret, url.Values{"token": {tok}}); code != http.StatusOK {
		t.Fatalf("revoke: %d %v", code, body)
	}
	if active(t, c[0].URL, tok) {
		t.Fatal("the revoking instance says active after the revocation was answered")
	}
	// The other instance may answer from its cache only while its change
	// feed is fresh (postgres.FreshFor); the feed then drops the entry.
	answered := time.Now()
	for active(t, c[1].URL, tok) {
		if time.Since(answered) > 3*time.Second {
			t.Fatal("the other instance still says active long after the revocation was answered")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestClusterRegistrationChange: a client disabled through one instance is
// refused by the other once its change feed has caught up.
func TestClusterRegistrationChange(t *testing.T) {
	c := cluster(t, 2)
	token(t, c[1].URL) // the agent's registration is now cached there
	err := c[0].Store().Update(t.Context(), func(w storage.Writer) error {
		cl, err := w.GetClient(t.Context(), agent)
		if err != nil {
			return err
		}
		cl.Disabled = true
		return w.PutClient(t.Context(), cl)
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		code, _ := post(t, c[1].URL+server.PathToken, agent, agentSecret, url.Values{"grant_type": {"client_credentials"},
			"audience": {"https://rs1.example"}, "scope": {"tickets.read"}})
		if code != http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a client disabled elsewhere still gets tokens")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestClusterIdentity: every instance publishes the same signing keys, a
// rotation on one reaches the others, and they accept one admin credential.
func TestClusterIdentity(t *testing.T) {
	c := cluster(t, 2)
	if a, b := c[0].Keys().ActiveKeyID(), c[1].Keys().ActiveKeyID(); a == "" || a != b {
		t.Fatalf("active keys %q and %q", a, b)
	}
	if err := c[0].Keys().Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := c[0].Keys().ActiveKeyID()
	deadline := time.Now().Add(3 * time.Second)
	for c[1].Keys().ActiveKeyID() != want {
		if time.Now().After(deadline) {
			t.Fatalf("the other instance still signs with %s, not %s", c[1].Keys().ActiveKeyID(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, in := range c {
		req, _ := http.NewRequest(http.MethodGet, in.URL+"/admin/clients", nil)
		req.Header.Set("Authorization", "Bearer "+clusterAdmin)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("%s: admin API with the cluster token = %d", in.URL, res.StatusCode)
		}
	}
}

// TestClusterStoredAdminToken: without VIGIL_ADMIN_TOKEN the first instance
// generates the admin token and stores its digest; the others accept it.
func TestClusterStoredAdminToken(t *testing.T) {
	s := servertest.Settings()
	s.Store, s.Issuer = pgtest.Fresh(t), "https://vigil.cluster.example"
	env := servertest.Env("")
	first := servertest.Start(t, s, server.WithGetenv(env))
	second := servertest.Start(t, s, server.WithGetenv(env))
	files, _ := filepath.Glob(filepath.Join(t.TempDir(), "..", "*", server.AdminTokenFile))
	var tok string
	for _, f := range files {
		if v, err := server.ReadSecretFile(f); err == nil {
			tok = v
		}
	}
	if tok == "" {
		t.Fatal("no instance wrote the generated admin token")
	}
	for _, in := range []*servertest.Server{first, second} {
		for _, bearer := range []string{tok, tok + "x"} {
			req, _ := http.NewRequest(http.MethodGet, in.URL+"/admin/clients", nil)
			req.Header.Set("Authorization", "Bearer "+bearer)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if ok := res.StatusCode == http.StatusOK; ok != (bearer == tok) {
				t.Errorf("%s: admin API with token ok=%v: %d", in.URL, bearer == tok, res.StatusCode)
			}
		}
	}
}

// TestClusterNeedsSharedSecret: a shared store refuses to start without
// VIGIL_SECRET, which every instance needs to read the signing keys.
func TestClusterNeedsSharedSecret(t *testing.T) {
	s := servertest.Settings()
	s.Store, s.Issuer, s.Data = pgtest.Fresh(t), "https://vigil.cluster.example", t.TempDir()
	_, err := server.Open(t.Context(), s, server.WithGetenv(func(string) string { return "" }))
	if err == nil || !strings.Contains(err.Error(), "VIGIL_SECRET") {
		t.Fatalf("Open without VIGIL_SECRET: %v", err)
	}
}

// TestClusterRiskHasOneOwner: a session's calls spread over two instances
// are all judged by the engine of its client's owner; the other forwards
// them and keeps no state of the session.
func TestClusterRiskHasOneOwner(t *testing.T) {
	c := cluster(t, 2)
	deadline := time.Now().Add(5 * time.Second)
	for len(c[0].ClusterMembers()) < 2 || len(c[1].ClusterMembers()) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the instances do not see each other")
		}
		time.Sleep(20 * time.Millisecond)
	}
	tok := token(t, c[0].URL)
	var sid string
	for i := range 10 {
		code, body := post(t, c[i%2].URL+server.PathIntrospect, rs, rsSecret, url.Values{"token": {tok}, "tool": {"tickets.get"}})
		if code != http.StatusOK || body["active"] != true {
			t.Fatalf("introspect on %d: %d %v", i%2, code, body)
		}
		sid, _ = body["sid"].(string)
	}
	var forwarded, served, degraded int64
	knows := 0
	for _, in := range c {
		st, ok := in.ClusterStats()
		if !ok {
			t.Fatal("an instance on PostgreSQL is not a cluster member")
		}
		forwarded, served, degraded = forwarded+st.Forwarded, served+st.Served, degraded+st.Degraded
		if _, ok := in.Risk().(*risk.Engine).Peek(sid, time.Now(), 1); ok {
			knows++
		}
	}
	if forwarded < 5 || served != forwarded || degraded != 0 {
		t.Fatalf("forwarded %d, served %d, degraded %d: want at least the other instance's 5 calls forwarded, all served", forwarded, served, degraded)
	}
	if knows != 1 {
		t.Fatalf("%d engines hold the session, want only its owner's", knows)
	}
	res, err := http.Get(c[0].URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, want := range []string{"vigil_cluster_members 2\n", `vigil_cluster_risk_events_total{route="degraded"} 0`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

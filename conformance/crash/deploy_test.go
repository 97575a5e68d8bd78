package crash

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/conformance/crash/proc"
)

// Clients of the deployment under test.
const (
	agentID    = "crash-agent"
	actorID    = "crash-actor"
	pkjwtID    = "crash-pkjwt"
	dpopID     = "crash-dpop"
	rsID       = "crash-rs"
	audience   = "https://rs.crash.example"
	grantExch  = "urn:ietf:params:oauth:grant-type:token-exchange"
	typeAccess = "urn:ietf:params:oauth:token-type:access_token"
	assertType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// deployment is a data directory, a configuration and the credentials of
// its clients; its server is started and killed many times.
type deployment struct {
	dir, data, config string
	addr, issuer      string
	secrets           map[string]string
	pkjwtKey          *ecdsa.PrivateKey
	adminToken        string
	extraArgs         []string
}

func newDeployment(t *testing.T) *deployment {
	t.Helper()
	dir := t.TempDir()
	port := proc.FreePort(t)
	d := &deployment{dir: dir, data: filepath.Join(dir, "data"), config: filepath.Join(dir, "vigil.yaml"),
		addr: "127.0.0.1:" + strconv.Itoa(port), secrets: map[string]string{}}
	d.issuer = "http://" + d.addr
	for _, id := range []string{agentID, actorID, dpopID, rsID} {
		d.secrets[id] = "crash-" + b64(random(24))
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	d.pkjwtKey = k
	if err := os.WriteFile(d.config, []byte(d.yaml()), 0o600); err != nil {
		t.Fatal(err)
	}
	return d
}

// yaml is the deployment's configuration. The risk policy is report-only:
// this workload is about durability, and its pace would otherwise look
// like an attack.
func (d *deployment) yaml() string {
	jwks, _ := json.Marshal(map[string]any{"keys": []any{ecJWK(&d.pkjwtKey.PublicKey, "crash-key")}})
	return fmt.Sprintf(`issuer: %[1]s
listen: %[2]s
data: %[3]s
policy:
  report_only: true
clients:
  - id: %[4]s
    kind: agent
    secret: %[5]s
    grant_types: [client_credentials, refresh_token, %[13]q]
    scopes: [crash.read, crash.write]
    audiences: [%[6]s]
    may_act: [%[7]s]
  - id: %[7]s
    kind: agent
    secret: %[8]s
    grant_types: [client_credentials, %[13]q]
    scopes: [crash.read]
    audiences: [%[6]s]
  - id: %[9]s
    kind: workload
    jwks: %[10]s
    grant_types: [client_credentials, refresh_token]
    scopes: [crash.read]
    audiences: [%[6]s]
  - id: %[11]s
    kind: agent
    secret: %[12]s
    dpop: true
    grant_types: [client_credentials, refresh_token]
    scopes: [crash.read]
    audiences: [%[6]s]
  - id: %[14]s
    kind: resource_server
    secret: %[15]s
    introspect: [%[6]s]
resources:
  - audience: %[6]s
    sensitivity: 1
`, d.issuer, d.addr, d.data, agentID, d.secrets[agentID], audience, actorID, d.secrets[actorID],
		pkjwtID, jwks, dpopID, d.secrets[dpopID], grantExch, rsID, d.secrets[rsID])
}

// start launches the server and waits until it is ready.
func (d *deployment) start(t *testing.T) *proc.Server {
	t.Helper()
	s := proc.Start(t, proc.Options{Addr: d.addr, Args: append([]string{"--config", d.config}, d.extraArgs...)})
	if d.adminToken == "" {
		b, err := os.ReadFile(filepath.Join(d.data, "admin-token"))
		if err != nil {
			t.Fatal(err)
		}
		d.adminToken = strings.TrimSpace(string(b))
	}
	return s
}

func (d *deployment) dbPath() string { return filepath.Join(d.data, "vigil.db") }

// client talks to the deployment over HTTP.
type client struct {
	d  *deployment
	hc *http.Client
}

func (d *deployment) client() *client {
	return &client{d: d, hc: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
}

// answer is one HTTP answer; err is set when there was none (the server
// died): the operation's outcome is then unknown.
type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
	err    error
}

func (a answer) str(k string) string { s, _ := a.body[k].(string); return s }

func (c *client) post(path string, f url.Values, hdr map[string]string, basic ...string) answer {
	req, err := http.NewRequest(http.MethodPost, c.d.issuer+path, strings.NewReader(f.Encode()))
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if len(basic) == 2 {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	return c.do(req)
}

func (c *client) do(req *http.Request) answer {
	resp, err := c.hc.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{err: err}
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

// as posts with client_secret_basic as client id.
func (c *client) as(id, path string, f url.Values, hdr map[string]string) answer {
	return c.post(path, f, hdr, id, c.d.secrets[id])
}

func (c *client) introspect(token string) answer {
	return c.as(rsID, "/oauth2/introspect", url.Values{"token": {token}}, nil)
}

func (c *client) terminate(sid string) answer {
	req, err := http.NewRequest(http.MethodPost, c.d.issuer+"/admin/sessions/"+url.PathEscape(sid)+"/terminate", nil)
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+c.d.adminToken)
	return c.do(req)
}

// assertion is a fresh private_key_jwt client assertion for pkjwtID.
func (d *deployment) assertion(now time.Time) (string, time.Time) {
	exp := now.Add(2 * time.Minute)
	return signES256(d.pkjwtKey, map[string]any{"alg": "ES256", "kid": "crash-key"}, map[string]any{"iss": pkjwtID,
		"sub": pkjwtID, "aud": d.issuer, "jti": b64(random(16)), "iat": now.Unix(), "exp": exp.Unix()}), exp
}

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// tokenID is Vigil's storage ID of a raw token: base64url SHA-256.
func tokenID(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return b64(sum[:])
}

func ecJWK(k *ecdsa.PublicKey, kid string) map[string]any {
	j := map[string]any{"kty": "EC", "crv": "P-256", "x": b64(k.X.FillBytes(make([]byte, 32))), "y": b64(k.Y.FillBytes(make([]byte, 32)))}
	if kid != "" {
		j["kid"], j["alg"] = kid, "ES256"
	}
	return j
}

// signES256 returns a compact JWS.
func signES256(k *ecdsa.PrivateKey, hdr, claims map[string]any) string {
	h, _ := json.Marshal(hdr)
	c, _ := json.Marshal(claims)
	input := b64(h) + "." + b64(c)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, k, sum[:])
	if err != nil {
		panic(err)
	}
	return input + "." + b64(append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...))
}

// prover makes DPoP proofs for one key.
type prover struct {
	key   *ecdsa.PrivateKey
	nonce string
}

func newProver() *prover {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return &prover{key: k}
}

func (p *prover) proof(htu string) string {
	c := map[string]any{"jti": b64(random(12)), "htm": "POST", "htu": htu, "iat": time.Now().Unix()}
	if p.nonce != "" {
		c["nonce"] = p.nonce
	}
	return signES256(p.key, map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": ecJWK(&p.key.PublicKey, "")}, c)
}

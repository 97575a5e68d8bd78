package loadgen

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Endpoints are the endpoint paths an authorization server publishes.
type Endpoints struct {
	Token, Introspect, Revoke string
}

// Discover reads RFC 8414 metadata (falling back to OpenID Connect
// discovery) and returns the endpoint paths on t.
func Discover(ctx context.Context, t *Target) (Endpoints, error) {
	var md struct {
		Token      string `json:"token_endpoint"`
		Introspect string `json:"introspection_endpoint"`
		Revoke     string `json:"revocation_endpoint"`
	}
	var err error
	for _, p := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		if err = getJSON(ctx, t.URL(p), "", &md); err == nil {
			break
		}
	}
	if err != nil {
		return Endpoints{}, fmt.Errorf("loadgen: discovery: %w", err)
	}
	var ep Endpoints
	var errs []error
	for _, x := range []struct {
		dst *string
		url string
	}{{&ep.Token, md.Token}, {&ep.Introspect, md.Introspect}, {&ep.Revoke, md.Revoke}} {
		if x.url == "" {
			continue
		}
		p, err := t.PathOf(x.url)
		errs = append(errs, err)
		*x.dst = p
	}
	return ep, errors.Join(errs...)
}

// Provisioned is what Provision registered on a Vigil server.
type Provisioned struct {
	Env     *Env
	clients []string
	adminT  *Target
	token   string
}

// Provision registers the bench's own clients on a Vigil server through
// its admin API (adminToken is the server's admin token): n agent clients,
// n resource servers, one short-lived agent (1s access tokens, for expired
// tokens), and the resource they all share. Names carry a run id so runs
// never collide. Cleanup removes them again.
func Provision(ctx context.Context, t *Target, adminToken string, n int, ep Endpoints) (*Provisioned, error) {
	run := strconv.FormatInt(time.Now().UnixNano()%1e12, 36)
	aud := "https://bench-" + run + ".vigil.test"
	p := &Provisioned{adminT: t, token: adminToken}
	if err := p.post(ctx, "/admin/resources", map[string]any{"audience": aud, "sensitivity": 1}); err != nil {
		return nil, err
	}
	env := &Env{Target: t, TokenPath: ep.Token, IntrospectPath: ep.Introspect, RevokePath: ep.Revoke,
		Audience: aud, Scope: "bench.read"}
	grants := []string{grantClientCredentials, grantTokenExchange}
	for i := range max(n, 1) {
		c, err := p.client(ctx, fmt.Sprintf("bench-%s-agent-%d", run, i), map[string]any{"kind": "agent",
			"grant_types": grants, "scopes": []string{"bench.read", "bench.write"}, "audiences": []string{aud}})
		if err != nil {
			return p, err
		}
		env.Agents = append(env.Agents, c)
		rs, err := p.client(ctx, fmt.Sprintf("bench-%s-rs-%d", run, i),
			map[string]any{"kind": "resource_server", "introspect": []string{aud}})
		if err != nil {
			return p, err
		}
		env.RS = append(env.RS, rs)
	}
	short, err := p.client(ctx, "bench-"+run+"-short", map[string]any{"kind": "agent", "grant_types": grants,
		"scopes": []string{"bench.read"}, "audiences": []string{aud}, "access_token_ttl": "1s"})
	if err != nil {
		return p, err
	}
	env.Short = &short
	p.Env = env
	return p, nil
}

// client registers client id with the given fields and a generated secret.
func (p *Provisioned) client(ctx context.Context, id string, fields map[string]any) (Cred, error) {
	c := Cred{ID: id, Secret: newSecret()}
	fields["id"], fields["secret"] = id, c.Secret
	if err := p.post(ctx, "/admin/clients", fields); err != nil {
		return Cred{}, err
	}
	p.clients = append(p.clients, id)
	return c, nil
}

func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "bench_" + base64.RawURLEncoding.EncodeToString(b)
}

func (p *Provisioned) post(ctx context.Context, path string, body any) error {
	return adminCall(ctx, http.MethodPost, p.adminT.URL(path), p.token, body)
}

// Cleanup deletes the clients and the resource Provision registered.
func (p *Provisioned) Cleanup(ctx context.Context) error {
	var errs []error
	for _, id := range p.clients {
		errs = append(errs, adminCall(ctx, http.MethodDelete, p.adminT.URL("/admin/clients/"+url.PathEscape(id)), p.token, nil))
	}
	if p.Env != nil {
		u := p.adminT.URL("/admin/resources?" + url.Values{"audience": {p.Env.Audience}}.Encode())
		errs = append(errs, adminCall(ctx, http.MethodDelete, u, p.token, nil))
	}
	return errors.Join(errs...)
}

var adminHTTP = &http.Client{Timeout: 30 * time.Second}

func adminCall(ctx context.Context, method, u, token string, body any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := adminHTTP.Do(req)
	if err != nil {
		return fmt.Errorf("loadgen: admin %s %s: %w", method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("loadgen: admin %s %s: %d %s", method, req.URL.Path, resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return nil
}

func getJSON(ctx context.Context, u, token string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := adminHTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d", req.URL.Path, resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}

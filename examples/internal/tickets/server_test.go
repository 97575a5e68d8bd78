package tickets_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-auth/vigil/examples/internal/mcptest"
)

// token gets a client_credentials token for interop-secret with scope.
func token(t *testing.T, env *mcptest.Env, scope string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}, "resource": {env.MCPURL}}
	req, _ := http.NewRequest(http.MethodPost, env.VigilURL+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("interop-secret", env.Secrets["interop-secret"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return out.AccessToken
}

func TestRFC9728_MetadataNamesTheRealEndpoint(t *testing.T) {
	env := mcptest.Start(t)
	u, _ := url.Parse(env.MCPURL)
	metaURL := u.Scheme + "://" + u.Host + "/.well-known/oauth-protected-resource" + u.Path
	resp, err := http.Get(metaURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var md map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&md); err != nil {
		t.Fatal(err)
	}
	if md["resource"] != env.MCPURL || md["authorization_servers"].([]any)[0] != env.VigilURL ||
		len(md["scopes_supported"].([]any)) != 2 || md["bearer_methods_supported"].([]any)[0] != "header" ||
		md["dpop_signing_alg_values_supported"] == nil {
		t.Fatalf("metadata %v", md)
	}
	r := env.Post(t, "", `{"jsonrpc":"2.0","id":1,"method":"initialize"}`)
	if ch := r.Header.Get("WWW-Authenticate"); r.StatusCode != 401 || !strings.Contains(ch, `resource_metadata="`+metaURL+`"`) {
		t.Errorf("401 without token: %d %q", r.StatusCode, ch)
	}
}

func TestToolScopes(t *testing.T) {
	env := mcptest.Start(t)
	read := "Bearer " + token(t, env, "tickets:read")
	const get = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"tickets.get","arguments":{"id":"T-1"}}}`
	const comment = `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"tickets.comment","arguments":{"id":"T-1","text":"x"}}}`
	if r := env.Post(t, read, get); r.StatusCode != 200 {
		b, _ := io.ReadAll(r.Body)
		t.Fatalf("tickets.get with tickets:read: %d %s", r.StatusCode, b)
	}
	r := env.Post(t, read, comment)
	ch := r.Header.Get("WWW-Authenticate")
	if r.StatusCode != 403 || !strings.Contains(ch, `error="insufficient_scope"`) || !strings.Contains(ch, `scope="tickets:write"`) ||
		!strings.Contains(ch, "resource_metadata=") {
		t.Fatalf("tickets.comment with tickets:read: %d %q", r.StatusCode, ch)
	}
	if r := env.Post(t, read, "["+get+"]"); r.StatusCode != 400 {
		t.Errorf("a batch: %d, want 400", r.StatusCode)
	}
	if r := env.Post(t, "Bearer "+token(t, env, "tickets:read tickets:write"), comment); r.StatusCode != 200 {
		t.Errorf("tickets.comment with tickets:write: %d", r.StatusCode)
	}
}

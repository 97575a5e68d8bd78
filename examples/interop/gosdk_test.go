package interop

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/auth/extauth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2"

	"github.com/vigil-auth/vigil/examples/internal/mcptest"
)

// countingHandler counts the SDK handler's authorizations and remembers
// the last token it handed out.
type countingHandler struct {
	auth.OAuthHandler
	authorizations atomic.Int32
}

func (h *countingHandler) Authorize(ctx context.Context, req *http.Request, resp *http.Response) error {
	h.authorizations.Add(1)
	return h.OAuthHandler.Authorize(ctx, req, resp)
}

func (h *countingHandler) token(t *testing.T) string {
	t.Helper()
	ts, err := h.TokenSource(context.Background())
	if err != nil || ts == nil {
		t.Fatalf("token source: %v", err)
	}
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

func connect(t *testing.T, env *mcptest.Env, creds *oauthex.ClientCredentials) (*mcp.ClientSession, *countingHandler) {
	t.Helper()
	cc, err := extauth.NewClientCredentialsHandler(&extauth.ClientCredentialsHandlerConfig{Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	h := &countingHandler{OAuthHandler: cc}
	c := mcp.NewClient(&mcp.Implementation{Name: "go-sdk-interop", Version: "1.0.0"}, nil)
	s, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: env.MCPURL, OAuthHandler: h,
		DisableStandaloneSSE: true, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, h
}

func call(ctx context.Context, s *mcp.ClientSession, tool string, args map[string]any) (string, error) {
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return "", err
	}
	var out []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			out = append(out, tc.Text)
		}
	}
	if res.IsError {
		return "", &toolError{strings.Join(out, " ")}
	}
	return strings.Join(out, " "), nil
}

type toolError struct{ msg string }

func (e *toolError) Error() string { return "tool error: " + e.msg }

// exercise lists and calls tools, then has an admin terminate the
// client's sessions: the token the SDK holds is refused at the tool server
// (401 invalid_token, pointing at the metadata), the SDK's handler
// authorizes again (a new session) and the call goes through.
func exercise(t *testing.T, env *mcptest.Env, s *mcp.ClientSession, h *countingHandler, clientID string) {
	ctx := context.Background()
	tools, err := s.ListTools(ctx, nil)
	if err != nil || len(tools.Tools) != 4 {
		t.Fatalf("tools/list: %v %v", tools, err)
	}
	if got, err := call(ctx, s, "tickets.get", map[string]any{"id": "T-1"}); err != nil || !strings.Contains(got, "Printer on fire") {
		t.Fatalf("tickets.get: %q %v", got, err)
	}
	if got, err := call(ctx, s, "tickets.comment", map[string]any{"id": "T-1", "text": "from " + clientID}); err != nil || got != "comment added" {
		t.Fatalf("tickets.comment: %q %v", got, err)
	}
	if n := h.authorizations.Load(); n != 1 {
		t.Errorf("%d authorizations before termination, want 1", n)
	}
	old := h.token(t)
	if n := env.TerminateAll(t, clientID); n < 1 {
		t.Fatalf("no session of %s to terminate", clientID)
	}
	resp := env.Post(t, "Bearer "+old, `{"jsonrpc":"2.0","id":9,"method":"tools/list"}`)
	if ch := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != http.StatusUnauthorized ||
		!strings.Contains(ch, `error="invalid_token"`) || !strings.Contains(ch, "resource_metadata=") {
		t.Fatalf("the terminated session's token: %d %q", resp.StatusCode, ch)
	}
	if _, err := call(ctx, s, "tickets.get", map[string]any{"id": "T-1"}); err != nil {
		t.Fatalf("tickets.get after re-authorization: %v", err)
	}
	if n := h.authorizations.Load(); n != 2 {
		t.Errorf("%d authorizations after termination, want 2 (the old token refused, a new session)", n)
	}
}

// refusedAfterDelete: once an admin deletes the client, its sessions end
// and the SDK's handler cannot authorize again: every call is refused.
func refusedAfterDelete(t *testing.T, env *mcptest.Env, s *mcp.ClientSession, clientID string) {
	env.Admin(t, http.MethodDelete, "/admin/clients/"+clientID, nil, http.StatusOK, nil)
	if _, err := call(context.Background(), s, "tickets.get", map[string]any{"id": "T-1"}); err == nil {
		t.Error("a call after the client was deleted succeeded")
	}
}

// TestGoSDK_PreconfiguredClientCredentials: the SDK's client credentials
// handler (SEP-1046) with a secret an admin configured: discovery from the
// 401 (RFC 9728, RFC 8414), client_secret_basic, tool calls, refusal.
func TestGoSDK_PreconfiguredClientCredentials(t *testing.T) {
	env := mcptest.Start(t)
	s, h := connect(t, env, &oauthex.ClientCredentials{ClientID: "interop-secret", Issuer: env.VigilURL,
		ClientSecretAuth: &oauthex.ClientSecretAuth{ClientSecret: env.Secrets["interop-secret"]}})
	exercise(t, env, s, h, "interop-secret")
}

// TestGoSDK_DynamicRegistration: the SDK's RFC 7591 client registers at
// the endpoint Vigil's metadata names (with an admin's initial access
// token), then its client credentials handler uses the issued secret.
func TestGoSDK_DynamicRegistration(t *testing.T) {
	env := mcptest.Start(t)
	ctx := context.Background()
	asm, err := auth.GetAuthServerMetadata(ctx, env.VigilURL, http.DefaultClient)
	if err != nil || asm == nil || asm.RegistrationEndpoint == "" {
		t.Fatalf("authorization server metadata: %+v %v", asm, err)
	}
	initial := env.InitialToken(t, 1)
	withToken := &http.Client{Transport: &oauth2.Transport{Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: initial})}}
	reg, err := oauthex.RegisterClient(ctx, asm.RegistrationEndpoint, &oauthex.ClientRegistrationMetadata{
		ClientName: "go-sdk-interop", GrantTypes: []string{"client_credentials"}, TokenEndpointAuthMethod: "client_secret_basic",
		Scope: "tickets:read tickets:write"}, withToken)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	if reg.ClientSecret == "" || !strings.HasPrefix(reg.ClientID, "dcr-") {
		t.Fatalf("registration response %+v", reg)
	}
	if _, err := oauthex.RegisterClient(ctx, asm.RegistrationEndpoint, &oauthex.ClientRegistrationMetadata{ClientName: "again"},
		withToken); err == nil {
		t.Error("a single-use initial access token registered twice")
	}
	s, h := connect(t, env, &oauthex.ClientCredentials{ClientID: reg.ClientID, Issuer: env.VigilURL,
		ClientSecretAuth: &oauthex.ClientSecretAuth{ClientSecret: reg.ClientSecret}})
	exercise(t, env, s, h, reg.ClientID)
	refusedAfterDelete(t, env, s, reg.ClientID)
}

// TestGoSDK_RefusedAfterClientDeleted: an admin-created client works, then
// is deleted, and the SDK's calls are refused.
func TestGoSDK_RefusedAfterClientDeleted(t *testing.T) {
	env := mcptest.Start(t)
	const id, secret = "go-doomed", "go-doomed-example-secret-change-me-000000005"
	env.Admin(t, http.MethodPost, "/admin/clients", map[string]any{"id": id, "kind": "service", "secret": secret,
		"grant_types": []string{"client_credentials"}, "scopes": []string{"tickets:read", "tickets:write"},
		"audiences": []string{env.MCPURL}}, http.StatusCreated, nil)
	s, _ := connect(t, env, &oauthex.ClientCredentials{ClientID: id, Issuer: env.VigilURL,
		ClientSecretAuth: &oauthex.ClientSecretAuth{ClientSecret: secret}})
	if _, err := call(context.Background(), s, "tickets.get", map[string]any{"id": "T-2"}); err != nil {
		t.Fatal(err)
	}
	refusedAfterDelete(t, env, s, id)
}

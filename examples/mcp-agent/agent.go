package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// Config is what the agent needs: the MCP endpoint, and either a
// configured client (ClientID with Key) or an initial access token to
// register itself with (RFC 7591).
type Config struct {
	// Server is the MCP endpoint, such as http://127.0.0.1:8090/mcp.
	Server string
	// ClientID is a client already registered at Vigil for
	// private_key_jwt with Key's public key; empty registers a new one.
	ClientID string
	// Key signs assertions and DPoP proofs; nil generates one (only with
	// registration).
	Key *key
	// InitialToken is the initial access token for registration.
	InitialToken string
	HTTPClient   *http.Client
	Log          *slog.Logger
	Now          func() time.Time
}

// Agent is a connected MCP client whose every tool call carries a token
// minted for that call. It is safe for concurrent use.
type Agent struct {
	cfg      Config
	d        discovery
	tc       *tokenClient
	session  *mcp.ClientSession
	log      *slog.Logger
	ClientID string
	// Registration is set when the agent registered itself.
	Registration *registration

	mu         sync.Mutex
	sessionTok string
	steps      []Step
}

// Step is one thing that happened, for the report.
type Step struct {
	Tool    string
	Outcome string // ok, step-up passed, refused, error
	Detail  string
}

// Connect discovers Vigil from the MCP server's 401, registers (or uses
// the configured client), opens a session with client_credentials,
// private_key_jwt and DPoP, and connects the official Go SDK's client
// over streamable HTTP.
func Connect(ctx context.Context, cfg Config) (*Agent, error) {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &Agent{cfg: cfg, log: cfg.Log}
	if err := a.identify(ctx); err != nil {
		return nil, err
	}
	if err := a.openSession(ctx); err != nil {
		return nil, err
	}
	c := mcp.NewClient(&mcp.Implementation{Name: "vigil-example-agent", Version: "1.0.0"}, nil)
	t := &mcp.StreamableClientTransport{Endpoint: cfg.Server, DisableStandaloneSSE: true, MaxRetries: -1,
		HTTPClient: &http.Client{Timeout: 30 * time.Second, Transport: &authTransport{a: a, base: cfg.HTTPClient.Transport}}}
	s, err := c.Connect(ctx, t, nil)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	a.session = s
	return a, nil
}

// identify discovers Vigil and settles the client: configured, or registered.
func (a *Agent) identify(ctx context.Context) error {
	d, err := discover(ctx, a.cfg.HTTPClient, a.cfg.Server)
	if err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	a.d = d
	a.log.Info("discovered", "resource", d.prm.Resource, "issuer", d.asm.Issuer, "registration", d.asm.RegistrationEndpoint)
	k, id := a.cfg.Key, a.cfg.ClientID
	if id == "" {
		if k == nil {
			if k, err = newKey(); err != nil {
				return err
			}
		}
		reg, err := register(ctx, a.cfg.HTTPClient, d, k, a.cfg.InitialToken)
		if err != nil {
			return err
		}
		id, a.Registration = reg.ClientID, &reg
		a.log.Info("registered", "client_id", id)
	}
	if k == nil {
		return errors.New("a configured client needs its private key")
	}
	a.ClientID = id
	a.tc = &tokenClient{hc: a.cfg.HTTPClient, issuer: d.asm.Issuer, tokenURL: d.asm.TokenEndpoint,
		revalURL: revalidationEndpoint(ctx, a.cfg.HTTPClient, d.asm), clientID: id, k: k, now: a.cfg.Now}
	return nil
}

// revalidationEndpoint reads Vigil's revalidation_endpoint from its RFC
// 8414 metadata (an extension member the SDK's type does not carry).
func revalidationEndpoint(ctx context.Context, hc *http.Client, asm *oauthex.AuthServerMeta) string {
	fallback := strings.TrimSuffix(asm.Issuer, "/") + "/oauth2/revalidate"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		strings.TrimSuffix(asm.Issuer, "/")+"/.well-known/oauth-authorization-server", nil)
	if err != nil {
		return fallback
	}
	var m struct {
		Revalidation string `json:"revalidation_endpoint"`
	}
	if err := doJSON(hc, req, http.StatusOK, &m); err != nil || m.Revalidation == "" {
		return fallback
	}
	return m.Revalidation
}

// openSession gets the session token: client_credentials for the MCP
// resource with every scope it lists.
func (a *Agent) openSession(ctx context.Context) error {
	tr, err := a.tc.session(ctx, a.d.prm.Resource, a.d.prm.ScopesSupported)
	if err != nil {
		return fmt.Errorf("session token: %w", err)
	}
	if !strings.EqualFold(tr.TokenType, "DPoP") {
		return fmt.Errorf("session token is %q, not DPoP-bound", tr.TokenType)
	}
	a.mu.Lock()
	a.sessionTok = tr.AccessToken
	a.mu.Unlock()
	a.log.Info("session opened", "client_id", a.ClientID, "expires_in", tr.ExpiresIn)
	return nil
}

func (a *Agent) sessionToken() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sessionTok
}

// Tools lists the server's tools.
func (a *Agent) Tools(ctx context.Context) ([]string, error) {
	res, err := a.session.ListTools(ctx, nil)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, t := range res.Tools {
		names = append(names, t.Name)
	}
	return names, nil
}

// Call calls one tool and records the step. A refusal (403, or a 401 that
// revalidation cannot answer) is an error that names it.
func (a *Agent) Call(ctx context.Context, tool string, args map[string]any) (string, error) {
	res, err := a.session.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	step := Step{Tool: tool, Outcome: "ok"}
	switch {
	case err != nil:
		step.Outcome, step.Detail = "refused", err.Error()
	case res.IsError:
		step.Outcome, step.Detail = "error", content(res)
	default:
		step.Detail = content(res)
	}
	a.mu.Lock()
	if step.Outcome == "ok" && a.stepUpPassed(tool) {
		step.Outcome = "ok after step-up"
	}
	a.steps = append(a.steps, step)
	a.mu.Unlock()
	a.log.Info("tool call", "tool", tool, "outcome", step.Outcome, "detail", step.Detail)
	if step.Outcome == "refused" {
		return "", err
	}
	return step.Detail, nil
}

// stepUpPassed reports (and forgets) whether the last call to tool passed
// a step-up; a.mu is held.
func (a *Agent) stepUpPassed(tool string) bool {
	for i := len(a.steps) - 1; i >= 0; i-- {
		if a.steps[i].Tool == tool && a.steps[i].Outcome == "step-up" {
			a.steps = append(a.steps[:i], a.steps[i+1:]...)
			return true
		}
	}
	return false
}

func (a *Agent) note(tool, outcome, detail string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.steps = append(a.steps, Step{Tool: tool, Outcome: outcome, Detail: detail})
}

// Steps returns what happened so far.
func (a *Agent) Steps() []Step {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Step(nil), a.steps...)
}

// Close ends the MCP session.
func (a *Agent) Close() error { return a.session.Close() }

func content(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, t.Text)
		}
	}
	return strings.Join(parts, " ")
}

// authTransport puts the right token on every MCP request: the session
// token for protocol messages, and for each tools/call a token exchanged
// for that call (the tool named as usage context). Every token is
// DPoP-bound, so each request carries a proof. A step-up challenge
// (insufficient_user_authentication) is answered at Vigil's revalidation
// endpoint and the request sent once more.
type authTransport struct {
	a    *Agent
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := readBody(req)
	if err != nil {
		return nil, err
	}
	tool := toolOf(body)
	resp, err := t.send(req, body, tool)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !stepUp(resp) {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err := t.a.tc.revalidate(req.Context(), t.a.sessionToken()); err != nil {
		t.a.note(tool, "step-up failed", err.Error())
		return nil, fmt.Errorf("revalidation: %w", err)
	}
	t.a.note(tool, "step-up", "revalidated with a fresh client assertion")
	return t.send(req, body, tool)
}

// send sends req with the token for tool and a DPoP proof for it.
func (t *authTransport) send(req *http.Request, body []byte, tool string) (*http.Response, error) {
	tok, err := t.tokenFor(req.Context(), tool)
	if err != nil {
		return nil, err
	}
	proof, err := t.a.tc.k.proof(req.Method, req.URL.String(), tok, "", t.a.cfg.Now())
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Authorization", "DPoP "+tok)
	r.Header.Set("DPoP", proof)
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

// tokenFor returns the session token, or for a tool call a token
// exchanged for it; a step-up demanded at the exchange is answered first.
func (t *authTransport) tokenFor(ctx context.Context, tool string) (string, error) {
	if tool == "" {
		return t.a.sessionToken(), nil
	}
	tr, err := t.a.tc.exchange(ctx, t.a.sessionToken(), t.a.d.prm.Resource, tool)
	if isCode(err, "revalidation_required") {
		if err := t.a.tc.revalidate(ctx, t.a.sessionToken()); err != nil {
			return "", fmt.Errorf("revalidation: %w", err)
		}
		t.a.note(tool, "step-up", "revalidated at the exchange")
		tr, err = t.a.tc.exchange(ctx, t.a.sessionToken(), t.a.d.prm.Resource, tool)
	}
	if err != nil {
		return "", fmt.Errorf("token exchange for %s: %w", tool, err)
	}
	return tr.AccessToken, nil
}

func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil {
		return nil, nil
	}
	defer req.Body.Close()
	return io.ReadAll(req.Body)
}

// toolOf returns the tool a tools/call message names, or "".
func toolOf(body []byte) string {
	var msg struct {
		Method string `json:"method"`
		Params struct {
			Name string `json:"name"`
		} `json:"params"`
	}
	if json.Unmarshal(body, &msg) != nil || msg.Method != "tools/call" {
		return ""
	}
	return msg.Params.Name
}

// stepUp reports whether a 401 is a step-up challenge rather than a dead token.
func stepUp(resp *http.Response) bool {
	for _, v := range resp.Header.Values("WWW-Authenticate") {
		if strings.Contains(v, `error="insufficient_user_authentication"`) {
			return true
		}
	}
	return false
}

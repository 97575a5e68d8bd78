package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// OAuth identifiers the agent uses.
const (
	grantExchange   = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeAccess = "urn:ietf:params:oauth:token-type:access_token"
	assertionType   = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// oauthError is an error answer of Vigil's token or revalidation endpoint.
type oauthError struct {
	Status      int
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *oauthError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Description)
}

// isCode reports whether err is an oauthError with code.
func isCode(err error, code string) bool {
	var oe *oauthError
	return errors.As(err, &oe) && oe.Code == code
}

// discovery is what the agent learns from the MCP server's 401.
type discovery struct {
	prm *oauthex.ProtectedResourceMetadata
	asm *oauthex.AuthServerMeta
}

// discover calls the MCP endpoint without a token, follows the
// resource_metadata of its 401 challenge (RFC 9728 §5.1), checks that the
// metadata names this very resource (§3.3), then reads the authorization
// server's RFC 8414 metadata.
func discover(ctx context.Context, hc *http.Client, server string) (discovery, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, server, strings.NewReader(
		`{"jsonrpc":"2.0","id":0,"method":"ping"}`))
	if err != nil {
		return discovery{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := hc.Do(req)
	if err != nil {
		return discovery{}, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		return discovery{}, fmt.Errorf("the MCP server answered %d without a token, not 401", resp.StatusCode)
	}
	chs, err := oauthex.ParseWWWAuthenticate(resp.Header.Values("WWW-Authenticate"))
	if err != nil {
		return discovery{}, err
	}
	var metaURL string
	for _, c := range chs {
		if u := c.Params["resource_metadata"]; u != "" {
			metaURL = u
			break
		}
	}
	if metaURL == "" {
		return discovery{}, errors.New("the 401 names no resource_metadata (RFC 9728 §5.1)")
	}
	prm, err := oauthex.GetProtectedResourceMetadata(ctx, metaURL, server, hc)
	if err != nil {
		return discovery{}, err
	}
	if len(prm.AuthorizationServers) == 0 {
		return discovery{}, errors.New("the resource names no authorization server")
	}
	asm, err := auth.GetAuthServerMetadata(ctx, prm.AuthorizationServers[0], hc)
	if err != nil || asm == nil {
		return discovery{}, fmt.Errorf("authorization server metadata: %v", err)
	}
	return discovery{prm: prm, asm: asm}, nil
}

// registration is the part of RFC 7591's client information the agent keeps.
type registration struct {
	ClientID                string `json:"client_id"`
	RegistrationAccessToken string `json:"registration_access_token"`
	RegistrationClientURI   string `json:"registration_client_uri"`
}

// register registers the agent (RFC 7591) for private_key_jwt with its
// public key, client_credentials and token exchange, DPoP-bound tokens and
// the resource's scopes, presenting the admin-issued initial access token.
func register(ctx context.Context, hc *http.Client, d discovery, k *key, initialToken string) (registration, error) {
	if d.asm.RegistrationEndpoint == "" {
		return registration{}, errors.New("the authorization server offers no registration endpoint")
	}
	body, _ := json.Marshal(map[string]any{"client_name": "vigil example MCP agent", "software_id": "vigil-mcp-agent",
		"token_endpoint_auth_method": "private_key_jwt", "jwks": k.jwks(),
		"grant_types": []string{"client_credentials", grantExchange}, "scope": strings.Join(d.prm.ScopesSupported, " "),
		"audiences": []string{d.prm.Resource}, "dpop_bound_access_tokens": true, "purposes": []string{"ticket triage"}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.asm.RegistrationEndpoint, bytes.NewReader(body))
	if err != nil {
		return registration{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if initialToken != "" {
		req.Header.Set("Authorization", "Bearer "+initialToken)
	}
	var reg registration
	if err := doJSON(hc, req, http.StatusCreated, &reg); err != nil {
		return registration{}, fmt.Errorf("register: %w", err)
	}
	return reg, nil
}

// doJSON sends req and decodes a want-status JSON answer into out; any
// other status is an *oauthError.
func doJSON(hc *http.Client, req *http.Request, want int, out any) error {
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		oe := &oauthError{Status: resp.StatusCode}
		_ = json.Unmarshal(b, oe)
		return oe
	}
	return json.Unmarshal(b, out)
}

// tokenClient talks to Vigil's token and revalidation endpoints as one
// client, authenticated with private_key_jwt, with DPoP proofs by the same
// key, following the server's DPoP nonces (RFC 9449 §8).
type tokenClient struct {
	hc       *http.Client
	issuer   string
	tokenURL string
	revalURL string
	clientID string
	k        *key
	now      func() time.Time

	mu    sync.Mutex
	nonce string
}

// tokenResponse is a successful token answer.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

// post sends form to endpoint with a fresh client assertion and DPoP
// proof; a use_dpop_nonce answer is retried once with the new nonce.
func (t *tokenClient) post(ctx context.Context, endpoint string, form url.Values, out any) error {
	for attempt := 0; ; attempt++ {
		err := t.postOnce(ctx, endpoint, form, out)
		if attempt == 0 && isCode(err, "use_dpop_nonce") {
			continue
		}
		return err
	}
}

func (t *tokenClient) postOnce(ctx context.Context, endpoint string, form url.Values, out any) error {
	now := t.now()
	a, err := t.k.assertion(t.clientID, t.issuer, now)
	if err != nil {
		return err
	}
	f := url.Values{"client_id": {t.clientID}, "client_assertion_type": {assertionType}, "client_assertion": {a}}
	for k, v := range form {
		f[k] = v
	}
	t.mu.Lock()
	nonce := t.nonce
	t.mu.Unlock()
	proof, err := t.k.proof(http.MethodPost, endpoint, "", nonce, now)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(f.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("DPoP", proof)
	resp, err := t.hc.Do(req)
	if err != nil {
		return err
	}
	if n := resp.Header.Get("DPoP-Nonce"); n != "" {
		t.mu.Lock()
		t.nonce = n
		t.mu.Unlock()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		oe := &oauthError{Status: resp.StatusCode}
		_ = json.Unmarshal(b, oe)
		return oe
	}
	return json.Unmarshal(b, out)
}

// session opens a session: client_credentials for resource (RFC 8707).
func (t *tokenClient) session(ctx context.Context, resource string, scopes []string) (tokenResponse, error) {
	var tr tokenResponse
	err := t.post(ctx, t.tokenURL, url.Values{"grant_type": {"client_credentials"}, "resource": {resource},
		"scope": {strings.Join(scopes, " ")}}, &tr)
	return tr, err
}

// exchange trades the session token for a short-lived token for resource,
// naming the tool it is for (RFC 8693; tool is Vigil's usage context).
func (t *tokenClient) exchange(ctx context.Context, subject, resource, tool string) (tokenResponse, error) {
	var tr tokenResponse
	err := t.post(ctx, t.tokenURL, url.Values{"grant_type": {grantExchange}, "subject_token": {subject},
		"subject_token_type": {tokenTypeAccess}, "resource": {resource}, "tool": {tool}}, &tr)
	return tr, err
}

// revalidate answers a step-up for the session token's session with a
// fresh client assertion.
func (t *tokenClient) revalidate(ctx context.Context, token string) error {
	var out map[string]any
	return t.post(ctx, t.revalURL, url.Values{"token": {token}}, &out)
}

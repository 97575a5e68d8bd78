package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/keys"
)

// tokenCommands are "vigil token …": plain OAuth calls for people trying
// Vigil by hand. They speak only the public protocol, so they work against
// any server.
func tokenCommands() []command {
	return []command{
		{"get", "", "client_credentials grant (RFC 6749 §4.4)", tokenGet},
		{"exchange", "", "token exchange (RFC 8693)", tokenExchange},
		{"introspect", "TOKEN", "introspect a token as a resource server (RFC 7662)", tokenIntrospect},
		{"revoke", "TOKEN", "revoke a token (RFC 7009)", tokenRevoke},
		{"sign-jwt", "", "sign a JWT with a private JWK (to play a workload's identity provider)", tokenSignJWT},
	}
}

// oauthFlags are the server and client credentials of a token command.
type oauthFlags struct {
	addr, client, secret *string
}

func (e *cli) addOAuthFlags(fs *flag.FlagSet) oauthFlags {
	return oauthFlags{
		addr:   fs.String("addr", e.serverAddr(""), "server URL (VIGIL_ADDR; default http://VIGIL_LISTEN)"),
		client: fs.String("client", e.getenv("VIGIL_CLIENT_ID"), "client id (VIGIL_CLIENT_ID)"),
		secret: fs.String("secret", e.getenv("VIGIL_CLIENT_SECRET"), "client secret (VIGIL_CLIENT_SECRET)"),
	}
}

// post sends a form to path with client_secret_basic and prints the answer.
func (o oauthFlags) post(ctx context.Context, e *cli, path string, form url.Values) error {
	if *o.client == "" || *o.secret == "" {
		return fmt.Errorf("--client and --secret (or VIGIL_CLIENT_ID and VIGIL_CLIENT_SECRET) are required")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(*o.addr, "/")+path, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(*o.client), url.QueryEscape(*o.secret))
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if len(body) > 0 {
		if err := printJSON(e.stdout, body); err != nil {
			fmt.Fprintln(e.stdout, string(body))
		}
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", path, resp.Status)
	}
	return nil
}

func tokenGet(ctx context.Context, e *cli, args []string) error {
	fs := e.newFlagSet("token get", "token get --client ID --secret S [--scope S] [--audience A]")
	o := e.addOAuthFlags(fs)
	scope := fs.String("scope", "", "space-separated scopes (default: all registered)")
	aud := fs.String("audience", "", "audience (default: all registered)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	f := url.Values{"grant_type": {"client_credentials"}}
	setForm(f, "scope", *scope)
	setForm(f, "audience", *aud)
	return o.post(ctx, e, "/oauth2/token", f)
}

func tokenExchange(ctx context.Context, e *cli, args []string) error {
	fs := e.newFlagSet("token exchange", "token exchange --client ID --secret S --subject-token T [--actor-token T] [--audience A] [--scope S]")
	o := e.addOAuthFlags(fs)
	subject := fs.String("subject-token", "", "the subject token (required)")
	subjectType := fs.String("subject-token-type", "urn:ietf:params:oauth:token-type:access_token", "its type URN")
	actor := fs.String("actor-token", "", "the calling client's own token, to act for the subject")
	aud := fs.String("audience", "", "the tool's audience")
	scope := fs.String("scope", "", "space-separated scopes")
	requested := fs.String("requested-token-type", "", "access_token (default), jwt or txn_token URN")
	tool := fs.String("tool", "", "the tool or operation the token is for (risk context)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *subject == "" {
		fs.Usage()
		return errUsage
	}
	f := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token": {*subject}, "subject_token_type": {*subjectType}}
	if *actor != "" {
		f.Set("actor_token", *actor)
		f.Set("actor_token_type", "urn:ietf:params:oauth:token-type:access_token")
	}
	setForm(f, "audience", *aud)
	setForm(f, "scope", *scope)
	setForm(f, "requested_token_type", *requested)
	setForm(f, "tool", *tool)
	return o.post(ctx, e, "/oauth2/token", f)
}

func tokenIntrospect(ctx context.Context, e *cli, args []string) error {
	fs := e.newFlagSet("token introspect", "token introspect TOKEN --client RS --secret S [--tool T] [--ip A]")
	o := e.addOAuthFlags(fs)
	tool := fs.String("tool", "", "usage context: the tool or operation")
	ip := fs.String("ip", "", "usage context: the address the token came from")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, 1); err != nil {
		return err
	}
	f := url.Values{"token": {pos[0]}}
	setForm(f, "tool", *tool)
	setForm(f, "ip", *ip)
	return o.post(ctx, e, "/oauth2/introspect", f)
}

func tokenRevoke(ctx context.Context, e *cli, args []string) error {
	fs := e.newFlagSet("token revoke", "token revoke TOKEN --client ID --secret S")
	o := e.addOAuthFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, 1); err != nil {
		return err
	}
	if err := o.post(ctx, e, "/oauth2/revoke", url.Values{"token": {pos[0]}}); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "revoked")
	return nil
}

func tokenSignJWT(_ context.Context, e *cli, args []string) error {
	fs := e.newFlagSet("token sign-jwt", "token sign-jwt --key FILE --iss URL --sub SUB [--aud A] [--ttl 10m]")
	key := fs.String("key", "", "private JWK file (required)")
	iss := fs.String("iss", "", "issuer (required)")
	sub := fs.String("sub", "", "subject (required)")
	aud := fs.String("aud", "vigil", "audience")
	ttl := fs.Duration("ttl", 10*time.Minute, "lifetime")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *key == "" || *iss == "" || *sub == "" {
		fs.Usage()
		return errUsage
	}
	jwk, err := os.ReadFile(*key)
	if err != nil {
		return err
	}
	now := time.Now()
	raw, err := keys.SignWithJWK(jwk, "JWT", map[string]any{"iss": *iss, "sub": *sub, "aud": *aud,
		"iat": now.Unix(), "exp": now.Add(*ttl).Unix()})
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, raw)
	return nil
}

func setForm(f url.Values, k, v string) {
	if v != "" {
		f.Set(k, v)
	}
}

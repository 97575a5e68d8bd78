package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

var clientFields = []field{
	{"kind", "kind", "agent, service, workload, job or resource_server", fString},
	{"grant-types", "grant_types", "client_credentials, refresh_token, urn:ietf:params:oauth:grant-type:token-exchange", fList},
	{"scopes", "scopes", "scopes it may request", fList},
	{"audiences", "audiences", "audiences it may request tokens for", fList},
	{"introspect", "introspect", "audiences whose tokens a resource_server may introspect", fList},
	{"token-format", "token_format", "opaque (default) or jwt", fString},
	{"access-token-ttl", "access_token_ttl", "access token lifetime, e.g. 15m", fString},
	{"refresh-token-ttl", "refresh_token_ttl", "refresh token lifetime, e.g. 24h", fString},
	{"exchange-ttl", "exchange_ttl", "lifetime of tokens from token exchange, e.g. 5m", fString},
	{"jwks-uri", "jwks_uri", "https URL of its public keys (private_key_jwt instead of a secret)", fString},
	{"may-act", "may_act", "clients allowed to act on its behalf", fList},
	{"networks", "networks", "CIDR ranges it runs from", fList},
	{"purposes", "purposes", "declared purposes", fList},
	{"dpop", "dpop", "require DPoP-bound tokens", fBool},
	{"disabled", "disabled", "refuse it tokens", fBool},
	{"assertion-compat-token-endpoint-audience", "assertion_compat.token_endpoint_audience",
		"also accept the token endpoint URL as its client assertions' audience (off by default; see docs/LIMITS.md)", fBool},
	{"assertion-compat-max-lifetime", "assertion_compat.max_lifetime",
		"how far ahead its client assertions' exp may be, e.g. 1h (at most 1h; see docs/LIMITS.md)", fString},
}

func clientPath(id string) string { return "/admin/clients/" + url.PathEscape(id) }

func clientCommands() []command {
	rc := recordCmd{noun: "client", plural: "clients", key: "id", fields: clientFields,
		path: clientPath, table: clientTable}
	cmds := rc.crud()
	cmds[4].summary = "delete a client and terminate its live sessions"
	return append(cmds, command{"rotate-secret", "ID", "replace the client's secret with a new one, printed once", rotateSecret})
}

func clientTable(e *cli, b []byte) error {
	var ans clientList
	if err := json.Unmarshal(b, &ans); err != nil {
		return err
	}
	tw := e.newTable()
	fmt.Fprintln(tw, "ID\tKIND\tGRANTS\tSCOPES\tAUDIENCES")
	for _, c := range ans.Clients {
		kind, auds := c.Kind, c.Audiences
		if c.Disabled {
			kind += " (disabled)"
		}
		if len(c.Introspect) > 0 {
			auds = append(auds, prefixAll("introspect:", c.Introspect)...)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, kind, dash(strings.Join(shortGrants(c.GrantTypes), ",")),
			dash(strings.Join(c.Scopes, " ")), dash(strings.Join(auds, " ")))
	}
	return tw.Flush()
}

func shortGrants(gs []string) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = strings.TrimPrefix(g, "urn:ietf:params:oauth:grant-type:")
	}
	return out
}

func prefixAll(p string, xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = p + x
	}
	return out
}

func rotateSecret(ctx context.Context, e *cli, args []string) error {
	fs := e.newFlagSet("client rotate-secret", "client rotate-secret ID [flags]")
	af := e.addAdminFlags(fs)
	pos, err := parse(fs, args)
	if err == nil {
		err = wantArgs(fs, pos, 1)
	}
	if err != nil {
		return err
	}
	c, err := e.connect(af)
	if err != nil {
		return err
	}
	b, err := c.call(ctx, "POST", clientPath(pos[0])+"/secret", nil)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "note: the new client_secret is shown only this once; the old one no longer works")
	return printJSON(e.stdout, b)
}

// Command mcp-agent is an example AI agent on the official MCP Go SDK's
// client that gets its tokens from Vigil the way an MCP client meets a
// server it has never seen:
//
//  1. it calls the MCP endpoint without a token and follows the 401's
//     resource_metadata (RFC 9728) to the authorization server's RFC 8414
//     metadata;
//  2. it registers itself (RFC 7591, with an admin-issued initial access
//     token) for private_key_jwt with a key it generates, or uses a
//     configured client and key;
//  3. it opens a session: client_credentials with a private_key_jwt
//     assertion and a DPoP proof, for the MCP resource (RFC 8707);
//  4. for every tool call it exchanges the session token (RFC 8693) for a
//     short-lived DPoP-bound token naming the tool, so Vigil judges each
//     call;
//  5. it answers a step-up (a 401 insufficient_user_authentication, or
//     revalidation_required at the exchange) with a fresh assertion at
//     Vigil's revalidation endpoint, and reports refusals.
//
// Usage:
//
//	VIGIL_INITIAL_TOKEN=viat_... mcp-agent -server http://127.0.0.1:8090/mcp
//	mcp-agent -server http://127.0.0.1:8090/mcp -client-id my-agent -key agent-key.json
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, log); err != nil {
		fmt.Fprintln(os.Stderr, "mcp-agent:", err)
		os.Exit(1)
	}
}

// run connects and works through a small triage script: read, comment,
// escalate (Vigil's example policy asks for a step-up), delete (the policy
// refuses it), printing what happened.
func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("mcp-agent", flag.ContinueOnError)
	server := fs.String("server", "http://127.0.0.1:8090/mcp", "the MCP endpoint")
	clientID := fs.String("client-id", "", "a configured client ID (default: register with $VIGIL_INITIAL_TOKEN)")
	keyFile := fs.String("key", "", "the client's private EC P-256 JWK (required with -client-id)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := Config{Server: *server, ClientID: *clientID, InitialToken: getenv("VIGIL_INITIAL_TOKEN"), Log: log}
	if *keyFile != "" {
		k, err := loadKey(*keyFile)
		if err != nil {
			return err
		}
		cfg.Key = k
	}
	if cfg.ClientID != "" && cfg.Key == nil {
		return errors.New("-client-id needs -key")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	a, err := Connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	tools, err := a.Tools(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "client %s sees tools %v\n", a.ClientID, tools)
	for _, c := range script {
		_, _ = a.Call(ctx, c.tool, c.args)
	}
	for _, s := range a.Steps() {
		fmt.Fprintf(out, "%-18s %-18s %s\n", s.Tool, s.Outcome, s.Detail)
	}
	return nil
}

// script is the agent's work.
var script = []struct {
	tool string
	args map[string]any
}{
	{"tickets.get", map[string]any{"id": "T-1"}},
	{"tickets.comment", map[string]any{"id": "T-1", "text": "looking into it"}},
	{"tickets.escalate", map[string]any{"id": "T-1"}},
	{"tickets.delete", map[string]any{"id": "T-2"}},
}

// Command mcp-tool-server is a small MCP-style tool server protected by
// Vigil: JSON-RPC 2.0 over POST /mcp with the tools "tickets.get" (scope
// tickets.read) and "tickets.comment" (scope tickets.write). Every call is
// checked by the rs middleware, which introspects the caller's token at
// Vigil and reports the tool being called as usage context, so Vigil's risk
// engine sees which tool each agent uses.
//
// Usage:
//
//	VIGIL_RS_SECRET=... mcp-tool-server -issuer https://vigil.example \
//	    -client-id conf-rs1 -audience https://rs1.example -listen 127.0.0.1:8090
package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/vigil-auth/vigil/rs"
)

func main() {
	if err := run(os.Args[1:], os.Getenv, slog.New(slog.NewTextHandler(os.Stderr, nil))); err != nil {
		fmt.Fprintln(os.Stderr, "mcp-tool-server:", err)
		os.Exit(1)
	}
}

// run parses args, builds the middleware and serves until the listener fails.
func run(args []string, getenv func(string) string, log *slog.Logger) error {
	fs := flag.NewFlagSet("mcp-tool-server", flag.ContinueOnError)
	issuer := fs.String("issuer", "http://127.0.0.1:8080", "Vigil's issuer URL")
	clientID := fs.String("client-id", "conf-rs1", "this resource server's client ID at Vigil (secret in $VIGIL_RS_SECRET)")
	audience := fs.String("audience", "https://rs1.example", "this resource server's audience")
	publicURL := fs.String("public-url", "", "externally visible origin, for DPoP htu checks (default: from the request)")
	listen := fs.String("listen", "127.0.0.1:8090", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	secret := getenv("VIGIL_RS_SECRET")
	if secret == "" {
		return errors.New("set VIGIL_RS_SECRET to the resource server's client secret")
	}
	m, err := rs.New(rs.Config{IntrospectionURL: *issuer + "/oauth2/introspect", ClientID: *clientID,
		ClientSecret: secret, Audience: *audience, Issuer: *issuer, PublicURL: *publicURL},
		rs.WithTool(toolOf), rs.WithLogger(log))
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: *listen, Handler: newHandler(m, *issuer, *audience, newTickets()),
		ReadHeaderTimeout: 5 * time.Second}
	log.Info("serving", "addr", *listen, "issuer", *issuer, "audience", *audience)
	return srv.ListenAndServe()
}

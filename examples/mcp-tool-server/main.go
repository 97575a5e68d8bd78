// Command mcp-tool-server is an MCP server (the official Go SDK,
// streamable HTTP) whose tools are protected by Vigil: "tickets.get"
// needs the scope tickets:read; "tickets.comment", "tickets.escalate" and
// "tickets.delete" need tickets:write. Every request is checked by the rs
// middleware, which introspects the caller's token at Vigil and reports
// the tool being called as usage context, so Vigil's risk engine judges
// each tool call. The server publishes RFC 9728 metadata naming Vigil,
// and every 401 and 403 points to it, so an MCP client that has never met
// the server can find where to get a token.
//
// Usage:
//
//	VIGIL_RS_SECRET=... mcp-tool-server -issuer http://127.0.0.1:8080 \
//	    -client-id tickets-mcp -resource http://127.0.0.1:8090/mcp -listen 127.0.0.1:8090
package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/vigil-auth/vigil/examples/internal/tickets"
	"github.com/vigil-auth/vigil/rs"
)

func main() {
	if err := run(os.Args[1:], os.Getenv, slog.New(slog.NewTextHandler(os.Stderr, nil))); err != nil {
		fmt.Fprintln(os.Stderr, "mcp-tool-server:", err)
		os.Exit(1)
	}
}

// run parses args, builds the server and serves until the listener fails.
func run(args []string, getenv func(string) string, log *slog.Logger) error {
	o := tickets.Options{Log: log, Secret: getenv("VIGIL_RS_SECRET")}
	fs := flag.NewFlagSet("mcp-tool-server", flag.ContinueOnError)
	fs.StringVar(&o.Issuer, "issuer", "http://127.0.0.1:8080", "Vigil's issuer URL")
	fs.StringVar(&o.ClientID, "client-id", "tickets-mcp", "this resource server's client ID at Vigil (secret in $VIGIL_RS_SECRET)")
	fs.StringVar(&o.Resource, "resource", "http://127.0.0.1:8090/mcp",
		"this server's MCP endpoint as clients call it: its RFC 9728 resource and the audience of its tokens")
	listen := fs.String("listen", "127.0.0.1:8090", "address to listen on")
	fs.DurationVar(&o.CacheTTL, "cache-ttl", rs.DefaultCacheTTL, "how long an allowing verdict is reused (0: ask Vigil on every call)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.Secret == "" {
		return errors.New("set VIGIL_RS_SECRET to the resource server's client secret")
	}
	h, err := tickets.New(o)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: *listen, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	log.Info("serving", "addr", *listen, "issuer", o.Issuer, "resource", o.Resource)
	return srv.ListenAndServe()
}

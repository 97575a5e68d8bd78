// Package tickets is the example MCP tool server: ticket tools on the
// official Go SDK (streamable HTTP), each call checked by Vigil's rs
// middleware with the tool's name as usage context.
package tickets

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vigil-auth/vigil/rs"
)

// maxBody bounds one JSON-RPC message.
const maxBody = 64 << 10

// toolScopes are the tools and the scope each needs.
var toolScopes = map[string]string{
	"tickets.get":      "tickets:read",
	"tickets.comment":  "tickets:write",
	"tickets.escalate": "tickets:write",
	"tickets.delete":   "tickets:write",
}

// Scopes lists the scopes the server understands, for its RFC 9728 metadata.
var Scopes = []string{"tickets:read", "tickets:write"}

// Options configure the tool server.
type Options struct {
	// Issuer is Vigil's issuer URL.
	Issuer string
	// ClientID and Secret are the tool server's resource_server client at Vigil.
	ClientID, Secret string
	// Resource is the MCP endpoint as clients call it: the RFC 9728
	// resource and the audience tokens must carry.
	Resource string
	// CacheTTL is how long an allowing verdict is reused; 0 asks Vigil on every call.
	CacheTTL time.Duration
	Log      *slog.Logger
}

// New returns the MCP endpoint (at the resource URL's path) guarded by
// rs, and the RFC 9728 metadata at its well-known path.
func New(o Options) (http.Handler, error) {
	u, err := url.Parse(o.Resource)
	if err != nil || u.Path == "" || u.Host == "" {
		return nil, fmt.Errorf("resource %q must be an absolute URL with a path", o.Resource)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	m, err := rs.New(rs.Config{IntrospectionURL: o.Issuer + "/oauth2/introspect", ClientID: o.ClientID,
		ClientSecret: o.Secret, Audience: o.Resource, Issuer: o.Issuer, PublicURL: u.Scheme + "://" + u.Host},
		rs.WithTool(usage), rs.WithLogger(o.Log), rs.WithCache(rs.DefaultCacheSize, o.CacheTTL),
		rs.WithResourceMetadata(rs.ResourceMetadata{Resource: o.Resource, ScopesSupported: Scopes,
			ResourceName: "Vigil example tickets"}))
	if err != nil {
		return nil, err
	}
	return newHandler(m, u.Path, newTickets(), o.Log), nil
}

// newMCPServer is the MCP server with the ticket tools.
func newMCPServer(t *tickets) *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "vigil-example-tickets", Version: "1.0.0"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "tickets.get", Description: "Read a ticket by id (scope tickets:read)"}, t.get)
	mcp.AddTool(s, &mcp.Tool{Name: "tickets.comment", Description: "Comment on a ticket (scope tickets:write)"}, t.comment)
	mcp.AddTool(s, &mcp.Tool{Name: "tickets.escalate", Description: "Escalate a ticket to on-call (scope tickets:write)"}, t.escalate)
	mcp.AddTool(s, &mcp.Tool{Name: "tickets.delete", Description: "Delete a ticket (scope tickets:write)"}, t.remove)
	return s
}

// newHandler serves the MCP endpoint at path (streamable HTTP, stateless,
// JSON answers) behind guard, and the RFC 9728 metadata at its well-known
// path.
func newHandler(m *rs.Middleware, path string, t *tickets, log *slog.Logger) http.Handler {
	s := newMCPServer(t)
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s },
		&mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true, Logger: log})
	mux := http.NewServeMux()
	md, _ := m.Metadata()
	mux.Handle(md.MetadataPath(), m.MetadataHandler())
	mux.Handle(path, guard(m, h))
	return mux
}

// call is what a JSON-RPC message asks for.
type call struct {
	method string
	tool   string // params.name of tools/call
}

type callKey struct{}

// usage names the call for Vigil's usage context: the tool of tools/call,
// else the method.
func usage(r *http.Request) string {
	c, _ := r.Context().Value(callKey{}).(call)
	if c.tool != "" {
		return c.tool
	}
	return c.method
}

// guard checks every request with rs (the tool's name as usage context),
// then the scope of the tool a tools/call names: a token without it gets
// 403 insufficient_scope naming the scope, so that the client can ask for
// it. Batches are refused: one message, one decision.
func guard(m *rs.Middleware, next http.Handler) http.Handler {
	checked := m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Context().Value(callKey{}).(call)
		claims, _ := rs.FromContext(r.Context())
		if scope, ok := toolScopes[c.tool]; ok && !claims.HasScopes(scope) {
			m.Refuse(w, rs.InsufficientScope(scope).For(claims))
			return
		}
		next.ServeHTTP(w, r)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := peek(r)
		if !ok {
			http.Error(w, "one JSON-RPC message per request", http.StatusBadRequest)
			return
		}
		checked.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callKey{}, c)))
	})
}

// peek reads the JSON-RPC message of a POST and puts the body back. A GET
// or DELETE (no body) is a call without method.
func peek(r *http.Request) (call, bool) {
	if r.Method != http.MethodPost {
		return call{}, true
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		return call{}, false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var msg struct {
		Method string `json:"method"`
		Params struct {
			Name string `json:"name"`
		} `json:"params"`
	}
	if len(bytes.TrimSpace(body)) > 0 && bytes.TrimSpace(body)[0] == '[' {
		return call{}, false
	}
	if json.Unmarshal(body, &msg) != nil {
		return call{}, true // the SDK answers the parse error
	}
	c := call{method: truncate(msg.Method)}
	if msg.Method == "tools/call" {
		c.tool = truncate(msg.Params.Name)
	}
	return c, true
}

func truncate(s string) string {
	if len(s) > 128 {
		return s[:128]
	}
	return s
}

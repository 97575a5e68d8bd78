package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/vigil-auth/vigil/rs"
)

// maxBody bounds a JSON-RPC request.
const maxBody = 64 << 10

// tool is one callable tool and the scope it needs.
type tool struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Scope       string `json:"-"`
	call        func(claims rs.Claims, args json.RawMessage) (string, error)
}

// rpcRequest and rpcResponse are JSON-RPC 2.0 messages.
type rpcRequest struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"params"`
}

type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// newHandler serves POST /mcp behind m, and the RFC 9728 protected
// resource metadata that tells agents where to get tokens.
func newHandler(m *rs.Middleware, issuer, audience string, t *tickets) http.Handler {
	tools := map[string]tool{
		"tickets.get":     {Name: "tickets.get", Description: "Read a ticket by id", Scope: "tickets.read", call: t.get},
		"tickets.comment": {Name: "tickets.comment", Description: "Comment on a ticket", Scope: "tickets.write", call: t.comment},
	}
	mux := http.NewServeMux()
	mux.Handle("POST /mcp", m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { serveRPC(w, r, tools) })))
	mux.HandleFunc("GET /.well-known/oauth-protected-resource", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"resource": audience, "authorization_servers": []string{issuer},
			"scopes_supported": []string{"tickets.read", "tickets.write"}, "bearer_methods_supported": []string{"header"}})
	})
	return mux
}

// serveRPC answers one JSON-RPC request from a caller rs has verified.
func serveRPC(w http.ResponseWriter, r *http.Request, tools map[string]tool) {
	claims, _ := rs.FromContext(r.Context())
	var req rpcRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req); err != nil || req.JSONRPC != "2.0" {
		writeRPC(w, rpcResponse{Error: &rpcError{Code: -32700, Message: "parse error"}})
		return
	}
	resp := rpcResponse{ID: req.ID}
	switch req.Method {
	case "tools/list":
		list := []tool{}
		for _, name := range []string{"tickets.get", "tickets.comment"} {
			if claims.HasScopes(tools[name].Scope) {
				list = append(list, tools[name])
			}
		}
		resp.Result = map[string]any{"tools": list}
	case "tools/call":
		t, ok := tools[req.Params.Name]
		if !ok {
			resp.Error = &rpcError{Code: -32602, Message: "unknown tool"}
			break
		}
		if !claims.HasScopes(t.Scope) {
			rs.InsufficientScope(t.Scope).Write(w)
			return
		}
		resp.Result, resp.Error = callTool(t, claims, req.Params.Arguments)
	default:
		resp.Error = &rpcError{Code: -32601, Message: "method not found"}
	}
	writeRPC(w, resp)
}

func callTool(t tool, claims rs.Claims, args json.RawMessage) (any, *rpcError) {
	text, err := t.call(claims, args)
	if err != nil {
		return map[string]any{"isError": true, "content": []map[string]string{{"type": "text", "text": err.Error()}}}, nil
	}
	return map[string]any{"content": []map[string]string{{"type": "text", "text": text}}}, nil
}

func writeRPC(w http.ResponseWriter, resp rpcResponse) {
	resp.JSONRPC = "2.0"
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// toolOf names the tool a request calls, for Vigil's usage context: the
// params.name of tools/call, else the method. It reads the body and puts
// it back for the handler.
func toolOf(r *http.Request) string {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return ""
	}
	var req rpcRequest
	if json.Unmarshal(body, &req) != nil {
		return ""
	}
	if req.Method == "tools/call" {
		return fmt.Sprintf("%.64s", req.Params.Name)
	}
	return fmt.Sprintf("%.64s", req.Method)
}

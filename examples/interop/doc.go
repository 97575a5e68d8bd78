// Package interop checks that MCP clients nobody here wrote work against
// the example tool server protected by Vigil: the official MCP Go SDK's
// client with its own OAuth handler (client credentials, SEP-1046), with
// preconfigured credentials and with dynamic registration through the
// SDK's RFC 7591 client. The tests run in-process, or against separately
// started servers (see package mcptest); the TypeScript SDK's suite is in
// conformance/interop/mcp.
package interop

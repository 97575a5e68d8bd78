// Package rs protects resource servers with Vigil: HTTP middleware that
// takes the access token from a request (RFC 6750 Bearer or RFC 9449 DPoP),
// asks Vigil's introspection endpoint about it (RFC 7662) with the resource
// server's own credentials and the call's usage context (tool, client IP,
// tenant), and lets the request through only when the token is active, meant
// for this resource server, carries the required scopes, is presented with a
// valid DPoP proof when it is DPoP-bound (RFC 9449 §7), and Vigil's risk
// verdict allows it.
//
// Everything that is not a clear "allow" is refused: an introspection
// endpoint that cannot be reached or answers badly yields 503, never a pass.
// Verdicts are cached briefly and only while they allow the call: never past
// the token's expiry, and keyed by the token's hash and the usage context,
// so a call with a different tool or address is judged again.
//
// The handler reads what was verified with [FromContext].
//
// With [WithResourceMetadata] the middleware also publishes the resource's
// RFC 9728 metadata ([Middleware.MetadataHandler]) and every 401 and 403 it
// answers names that document in a resource_metadata challenge parameter
// (RFC 9728 §5.1), so a client that meets the resource for the first time
// (an MCP client, say) can find Vigil, register and get a token.
//
// Package rs imports only the standard library and Vigil's keys package
// (for DPoP proof verification).
package rs

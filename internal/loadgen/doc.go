// Package loadgen drives an OAuth 2.0 authorization server over plain
// HTTP and measures it: client_credentials issuance, RFC 7662
// introspection over a mix of valid, expired, revoked and unknown tokens,
// RFC 8693 token exchange per tool call, and a mixed agent workload, each at
// fixed concurrency (closed loop) or at a fixed rate (open loop, latency
// counted from each request's scheduled time). It reports requests per
// second, latency percentiles and errors by kind, as text and JSON, next to
// a trivial net/http handler measured the same way (package ceiling).
//
// It speaks only the standard protocols, so it can be pointed at any
// server; on Vigil it can also register its own clients through the admin
// API and read the server's CPU time and storage transaction counters.
// Load is spread over many sessions and clients, as a fleet of agents
// would spread it: a flood from one session is exactly what a risk engine
// should stop, and measuring that would measure the refusal.
//
// Its HTTP client is deliberately small (HTTP/1.1 keep-alive, one
// connection per worker, no allocation per request once warm) because the
// load generator usually shares the machine's cores with the server.
// It imports nothing from this module.
package loadgen

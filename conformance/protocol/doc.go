// Package protocol is Vigil's black-box protocol suite: one test per RFC
// requirement, named after its section, run over HTTP. By default it builds
// the real server in-process (internal/server with the in-memory store and a
// controllable clock); with VIGIL_CONFORMANCE_URL set it runs against that
// server instead, which must have the clients of conformance/vigil.yaml
// registered. Tests that need something only an in-process Vigil offers (a
// controllable clock, the admin API) say so and skip against other servers.
package protocol

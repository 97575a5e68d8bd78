// Package replay runs session-risk scenarios (docs/SCENARIOS.md, format
// v1) through Vigil's real request handlers, in process, and scores
// what the server decided.
//
// A scenario is a short story about non-human clients getting tokens,
// exchanging them per tool call, refreshing them, being introspected by
// resource servers, revalidating, receiving security signals and revoking.
// For each scenario the replay builds the server exactly as it ships
// (internal/server.New over storage/memory, the risk engine with its
// default policy) on a virtual clock, registers the scenario's resources and
// clients, replays its history in time order so the engine can learn
// baselines, then plays the scored steps as HTTP requests through the
// server's handler with the scenarios' source addresses (security signals
// arrive at the admin API's signals endpoint). Clients
// authenticate as real clients do: resource servers with a secret, every
// other client with a fresh private_key_jwt assertion per call, and
// DPoP-bound clients with a proof (answering the server's nonce demand).
//
// Parse reads and checks scenario files, reporting malformed input with its
// file, line and field. Run replays scenarios and returns a Report with the
// corpus metrics (containment, harmful calls allowed, benign friction,
// expectations met) and a per-scenario, per-step account.
package replay

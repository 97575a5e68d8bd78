// Package ssf speaks the OpenID Shared Signals Framework 1.0 (SSF) with the
// CAEP 1.0 and RISC 1.0 event types, both ways.
//
// As a transmitter ([Transmitter]) it publishes its configuration
// (/.well-known/ssf-configuration), lets receivers, registered as clients
// holding the [Scope] scope, manage event streams (SSF §8), queues each
// Security Event Token (RFC 8417) for every stream that wants it in a
// durable outbox written in the same transaction as the change it reports,
// and delivers it by push (RFC 8935, retried with backoff and jitter, in
// order per stream) or by poll (RFC 8936, removed when acknowledged). SETs
// carry RFC 9493 subject identifiers and are signed with Vigil's keys
// (typ secevent+jwt) when they are sent.
//
// As a receiver ([Receiver]) it takes SETs from trusted issuers by push or
// by polling them, validates them per RFC 8417 and RFC 8935 (signature,
// iss, aud, jti replay, freshness, event type) and turns CAEP and RISC
// events into the risk signals Vigil already understands.
package ssf

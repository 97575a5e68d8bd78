// Package security is Vigil's adversarial test catalogue: the cases of
// SECURITY.md §4 that the protocol suite (conformance/protocol) does not
// already cover, grouped by endpoint and named by case number
// (TestClientAuth_12_…, TestExchange_30_…), plus the reliability rules that
// need a server under stress: concurrency (one winner per single-use
// credential, one successor per refresh token, no active answer after a
// revocation returned), failing and closed storage (503, never a false
// success), request limits, the failed-authentication and token-scanning
// throttles, and the audit log.
//
// Each test runs the real server assembly (internal/server) in process, over
// a bbolt file or the memory store behind a store wrapper that can fail on
// demand, with a controllable clock. The tests that need the shipped binary
// (header timeout, header size, shutdown, damaged data files, the kill -9
// loop) are in conformance/crash.
package security

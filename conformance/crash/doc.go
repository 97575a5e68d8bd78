// Package crash holds Vigil's process-level reliability tests, run against
// the binary that ships (built and launched by package proc):
//
//   - the crash loop (SECURITY.md §5, D1 and D15): a mixed workload of
//     issuance, refresh rotation, exchange with actors, revocation, session
//     termination, private_key_jwt and DPoP, with the server killed by
//     SIGKILL at random moments and restarted; after every kill the bbolt
//     file must pass its consistency check and every acknowledged operation
//     must still hold;
//   - shutdown on SIGTERM under load (§5.1, D16);
//   - the HTTP server's own limits (header timeout, header size; #75, #89);
//   - startup on a damaged or locked data file (D7, D9).
//
// VIGIL_CRASH_CYCLES sets the number of kill cycles (default 20); the tests
// are skipped with -short.
package crash

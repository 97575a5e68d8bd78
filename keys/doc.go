// Package keys holds Vigil's signing keys and every piece of JOSE handling in
// the server. It is the only package that imports go-jose.
//
// It provides:
//   - the key-encryption key ([LoadKEK]) under which private signing keys are
//     stored encrypted (AES-256-GCM, the key ID as associated data);
//   - the [Manager], which keeps one active signing key and the retired keys
//     that stay published until every token they signed has expired, signs
//     JWTs ([Manager.Sign]) and verifies JWTs Vigil signed ([Manager.Verify]);
//   - verification of JWTs signed by others against a JWK Set
//     ([VerifyWithJWKS], [JWKSCache]): client assertions (RFC 7523) and
//     subject tokens from trusted issuers (RFC 8693);
//   - DPoP proof checking ([ParseDPoPProof], RFC 9449 §4.3) and JWK
//     thumbprints ([Thumbprint], RFC 7638).
//
// Every parse takes an explicit algorithm allow-list: "none" and the HMAC
// algorithms are never accepted (RFC 8725 §3.1). Raw input is capped at
// [MaxTokenSize] bytes before any JOSE parsing, and claim sets are decoded
// strictly: member names match case-sensitively and duplicate members are
// rejected (RFC 7519 §4).
package keys

// Package authz is Vigil's token endpoint and session authority: client
// authentication (client_secret_basic, client_secret_post, private_key_jwt),
// the client_credentials, refresh_token and token-exchange grants on fosite's
// handler chain, token minting (opaque or RFC 9068 JWT), revocation (RFC 7009)
// and session termination. Every token belongs to a session; the risk engine
// judges each grant before anything is written.
//
// authz is the only package that imports fosite. It never imports keys or
// introspect: it declares the small interfaces it needs (Signer, JWTVerifier,
// Risk) and internal/server connects them.
package authz

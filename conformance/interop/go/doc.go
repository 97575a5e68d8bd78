// Package interop holds interoperability tests: widely used third-party
// OAuth libraries (golang.org/x/oauth2 for clients, go-jose for resource
// servers verifying JWT access tokens) against Vigil. The tests run against
// an in-process Vigil, or against the server at VIGIL_INTEROP_URL when that
// is set (started with conformance/vigil.yaml). The package has no code of
// its own; everything is in its tests.
package interop

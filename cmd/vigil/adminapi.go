package main

import (
	"github.com/vigil-auth/vigil/internal/admin"
	"github.com/vigil-auth/vigil/storage"
)

// The admin API's bodies as the CLI sends and reads them. Each is held to
// its schema in the API's OpenAPI description (internal/admin/openapi.json)
// both ways by adminapi_test.go, and so are the field flags of create and
// update; the records inside are the server's own wire types, which the
// admin package's tests hold to the same description.

// clientList is the answer of GET /admin/clients (schema ClientList).
type clientList struct {
	Clients []admin.ClientOutput `json:"clients"`
}

// resourceList is the answer of GET /admin/resources (schema ResourceList).
type resourceList struct {
	Resources []storage.Resource `json:"resources"`
}

// issuerList is the answer of GET /admin/issuers (schema IssuerList).
type issuerList struct {
	Issuers []storage.Issuer `json:"issuers"`
}

// sessionList is the answer of GET /admin/sessions (schema SessionList).
type sessionList struct {
	Sessions []admin.SessionOutput `json:"sessions"`
}

// keyList is the answer of GET /admin/keys and POST /admin/keys/rotate
// (schema KeyList).
type keyList struct {
	Keys []admin.KeyOutput `json:"keys"`
}

// terminateBody is the body of POST /admin/sessions/{sid}/terminate
// (schema TerminateRequest).
type terminateBody struct {
	Reason string `json:"reason"`
}

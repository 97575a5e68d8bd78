package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
)

// Role is what an admin credential may do. The admin API, the console and
// anything else that acts for an administrator decide with CanChange.
type Role string

// The roles.
const (
	// RoleAdmin reads and changes everything.
	RoleAdmin Role = "admin"
	// RoleReadOnly reads everything and changes nothing: in the API it may
	// GET (and HEAD) but any other method is answered 403.
	RoleReadOnly Role = "read-only"
)

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleReadOnly }

// CanChange reports whether r may change state: create, update, delete,
// terminate, revoke, signal, rotate.
func (r Role) CanChange() bool { return r == RoleAdmin }

// Principal is an authenticated administrator: the name its actions are
// recorded under in the audit log, and its role.
type Principal struct {
	Name string
	Role Role
	// Via names the channel the request came through, recorded as the
	// audit reason: "admin api" or "console".
	Via string
}

// DefaultAdminName is the name of the credential held in the data
// directory's admin token file.
const DefaultAdminName = "admin"

// Credential is one admin credential: a bearer token known by its SHA-256
// digest (the token is random and long, so a fast hash suffices), the name
// its actions are recorded under, and its role.
type Credential struct {
	Name   string
	Role   Role
	Digest [sha256.Size]byte
}

// TokenCredential returns the credential for a plaintext token.
func TokenCredential(name string, role Role, token string) Credential {
	return Credential{Name: name, Role: role, Digest: sha256.Sum256([]byte(token))}
}

// DigestCredential returns the credential for a token's SHA-256 digest in
// hex (64 characters), as a configuration file names it.
func DigestCredential(name string, role Role, hexDigest string) (Credential, error) {
	c := Credential{Name: name, Role: role}
	b, err := hex.DecodeString(hexDigest)
	if err != nil || len(b) != sha256.Size {
		return c, fmt.Errorf("admin credential %q: token_sha256 must be 64 hex digits", name)
	}
	copy(c.Digest[:], b)
	return c, c.Validate()
}

var credentialName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// Validate reports what is wrong with c.
func (c Credential) Validate() error {
	var errs []error
	if !credentialName.MatchString(c.Name) {
		errs = append(errs, fmt.Errorf("admin credential name %q must be 1-64 letters, digits, '.', '_', '@' or '-'", c.Name))
	}
	if !c.Role.Valid() {
		errs = append(errs, fmt.Errorf("admin credential %q: role must be %q or %q", c.Name, RoleAdmin, RoleReadOnly))
	}
	if c.Digest == ([sha256.Size]byte{}) {
		errs = append(errs, fmt.Errorf("admin credential %q has no token", c.Name))
	}
	return errors.Join(errs...)
}

// Credentials is a set of admin credentials. The zero value accepts nothing.
type Credentials []Credential

// Validate reports every invalid credential and every repeated name.
func (cs Credentials) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for _, c := range cs {
		errs = append(errs, c.Validate())
		if seen[c.Name] {
			errs = append(errs, fmt.Errorf("admin credential name %q is used twice", c.Name))
		}
		seen[c.Name] = true
	}
	return errors.Join(errs...)
}

// Authenticate returns the principal whose token is token. It compares
// against every credential in constant time, so the time taken says
// nothing about which credential, if any, matched.
func (cs Credentials) Authenticate(token string) (Principal, bool) {
	if token == "" {
		return Principal{}, false
	}
	d := sha256.Sum256([]byte(token))
	var found Principal
	ok := 0
	for _, c := range cs {
		if subtle.ConstantTimeCompare(d[:], c.Digest[:]) == 1 && ok == 0 {
			found, ok = Principal{Name: c.Name, Role: c.Role}, 1
		}
	}
	return found, ok == 1
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p. Only code in this process can set
// it: the console uses it to call the admin API's handler for a signed-in
// administrator.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal ctx carries.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok && p.Name != "" && p.Role.Valid()
}

// readOnlyMethod reports whether an HTTP method only reads.
func readOnlyMethod(m string) bool { return m == http.MethodGet || m == http.MethodHead }

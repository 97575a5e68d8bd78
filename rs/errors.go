package rs

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/vigil-auth/vigil/keys"
)

// Reasons a request is refused. Every error Authorize returns is an *Error
// that matches exactly one of them with errors.Is.
var (
	// ErrNoToken: the request carries no access token (401, RFC 6750 §3.1).
	ErrNoToken = errors.New("rs: no access token")
	// ErrInvalidRequest: the Authorization or DPoP header is malformed (400).
	ErrInvalidRequest = errors.New("rs: invalid request")
	// ErrInactive: the token is not active for this resource server (401 invalid_token).
	ErrInactive = errors.New("rs: token inactive")
	// ErrInvalidProof: the DPoP proof is missing, invalid, replayed or by
	// another key (401 invalid_dpop_proof, RFC 9449 §7.1).
	ErrInvalidProof = errors.New("rs: invalid DPoP proof")
	// ErrInsufficientScope: a required scope was not granted (403).
	ErrInsufficientScope = errors.New("rs: insufficient scope")
	// ErrStepUp: Vigil asks the client to revalidate (401 with Vigil's challenge).
	ErrStepUp = errors.New("rs: step-up required")
	// ErrDenied: Vigil's risk verdict denies the call (403).
	ErrDenied = errors.New("rs: denied by risk verdict")
	// ErrUnavailable: no usable introspection answer (503); see ErrIntrospection.
	ErrUnavailable = errors.New("rs: authorization unavailable")
)

// Authentication schemes a token is presented with.
const (
	schemeBearer = "Bearer"
	schemeDPoP   = "DPoP"
)

// Error is a refusal: what to answer and why. Write renders it.
type Error struct {
	// Status is the HTTP status to answer with.
	Status int
	// Code is the error code (RFC 6750 §3.1, RFC 9449 §7.1), or "".
	Code string
	// Description is a human-readable, secret-free explanation.
	Description string
	// Challenge is the WWW-Authenticate value, or "" for none.
	Challenge string
	// challenges are the separate challenges of Challenge when there are
	// several, so that parameters can be added to each.
	challenges []string
	kind       error
	cause      error
}

// Error describes the refusal.
func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%v: %s: %v", e.kind, e.Description, e.cause)
	}
	return fmt.Sprintf("%v: %s", e.kind, e.Description)
}

// Unwrap returns the reason sentinel and the underlying cause.
func (e *Error) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

// Write answers with e: status, WWW-Authenticate (when set) and a JSON
// body {"error", "error_description"}; "error" is left out when e has no
// code (a request without a token, RFC 6750 §3.1).
func (e *Error) Write(w http.ResponseWriter) {
	h := w.Header()
	if e.Challenge != "" {
		h.Set("WWW-Authenticate", e.Challenge)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	body := map[string]string{"error_description": e.Description}
	if e.Code != "" {
		body["error"] = e.Code
	}
	_ = json.NewEncoder(w).Encode(body)
}

// InsufficientScope returns the 403 refusal for a call that needs scopes
// the token lacks (RFC 6750 §3.1), for handlers that check per operation.
func InsufficientScope(scopes ...string) *Error {
	sc := strings.Join(scopes, " ")
	return &Error{Status: http.StatusForbidden, Code: "insufficient_scope", Description: "the token lacks a required scope",
		Challenge: challenge(schemeBearer, "insufficient_scope", "the token lacks a required scope", "scope", sc),
		kind:      ErrInsufficientScope}
}

// For returns e as it should be answered to the holder of the token c
// describes: a DPoP-bound token's refusals use the DPoP scheme, with the
// proof algorithms (RFC 9449 §7.1), as a bearer token's use Bearer. Handlers
// that refuse per operation pass the request's claims: m.Refuse(w,
// rs.InsufficientScope("x").For(claims)). It returns a copy and leaves e
// alone.
func (e *Error) For(c Claims) *Error {
	if c.JKT == "" {
		return e
	}
	return e.inScheme(schemeDPoP)
}

// inScheme returns e with its single Bearer challenge (or, for a refusal
// with a code and no challenge, a new one) in scheme, DPoP also naming its
// algorithms; other errors are returned as they are.
func (e *Error) inScheme(scheme string) *Error {
	algs := `algs="` + strings.Join(keys.DPoPAlgs, " ") + `"`
	out := *e
	switch rest, ok := strings.CutPrefix(e.Challenge, schemeBearer+" "); {
	case scheme != schemeDPoP || len(e.challenges) > 0 || e.Status >= 500:
		return e
	case ok:
		out.Challenge = scheme + " " + rest + ", " + algs
	case e.Challenge == "" && e.Code != "":
		out.Challenge = challenge(scheme, e.Code, e.Description) + ", " + algs
	default:
		return e
	}
	return &out
}

func noToken() *Error {
	chs := []string{schemeBearer, dpopChallenge()}
	return &Error{Status: http.StatusUnauthorized, Description: "an access token is required",
		Challenge: strings.Join(chs, ", "), challenges: chs, kind: ErrNoToken}
}

func badRequest(desc string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Description: desc,
		Challenge: challenge(schemeBearer, "invalid_request", desc), kind: ErrInvalidRequest}
}

func inactive(scheme, desc string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "invalid_token", Description: desc,
		Challenge: challenge(scheme, "invalid_token", desc), kind: ErrInactive}
}

func invalidProof(desc string, cause error) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "invalid_dpop_proof", Description: desc,
		Challenge: challenge(schemeDPoP, "invalid_dpop_proof", desc, "algs", strings.Join(keys.DPoPAlgs, " ")),
		kind:      ErrInvalidProof, cause: cause}
}

func stepUp(challengeValue string) *Error {
	if challengeValue == "" {
		challengeValue = challenge(schemeBearer, "insufficient_user_authentication", "session revalidation required")
	}
	return &Error{Status: http.StatusUnauthorized, Code: "insufficient_user_authentication",
		Description: "session revalidation required", Challenge: challengeValue, kind: ErrStepUp}
}

func denied(desc string) *Error {
	return &Error{Status: http.StatusForbidden, Code: "access_denied", Description: desc, kind: ErrDenied}
}

func unavailable(cause error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable",
		Description: "the token cannot be checked now", kind: ErrUnavailable, cause: cause}
}

// dpopChallenge advertises DPoP with its proof algorithms (RFC 9449 §7.1).
func dpopChallenge() string { return schemeDPoP + ` algs="` + strings.Join(keys.DPoPAlgs, " ") + `"` }

// challenge builds a WWW-Authenticate value: scheme error="code",
// error_description="desc" and further name, value pairs (empty values
// are left out).
func challenge(scheme, code, desc string, more ...string) string {
	params := []string{"error", code, "error_description", desc}
	params = append(params, more...)
	var parts []string
	for i := 0; i+1 < len(params); i += 2 {
		if params[i+1] != "" {
			parts = append(parts, params[i]+"="+quote(params[i+1]))
		}
	}
	return scheme + " " + strings.Join(parts, ", ")
}

// quote renders an RFC 9110 quoted-string, dropping characters it cannot hold.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Package oauth holds Vigil's protocol vocabulary: error codes, the *Error
// value handlers return, the single place that renders errors as HTTP, and
// the URNs of RFC 8693 and its neighbours. It imports nothing from this
// module and no third-party library.
package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
)

// Error codes (RFC 6749 §5.2, RFC 7009 §2.2.1, RFC 8693 §2.2.2, RFC 9449 §7,
// and Vigil's own revalidation_required).
const (
	InvalidRequest         = "invalid_request"
	InvalidClient          = "invalid_client"
	InvalidGrant           = "invalid_grant"
	UnauthorizedClient     = "unauthorized_client"
	UnsupportedGrantType   = "unsupported_grant_type"
	InvalidScope           = "invalid_scope"
	InvalidTarget          = "invalid_target"
	UnsupportedTokenType   = "unsupported_token_type"
	InvalidDPoPProof       = "invalid_dpop_proof"
	UseDPoPNonce           = "use_dpop_nonce"
	AccessDenied           = "access_denied"
	ServerError            = "server_error"
	TemporarilyUnavailable = "temporarily_unavailable"
	RevalidationRequired   = "revalidation_required"
	InvalidToken           = "invalid_token"
	InsufficientScope      = "insufficient_scope"
	InsufficientUserAuthn  = "insufficient_user_authentication"
)

// Grant and token-type identifiers.
const (
	GrantClientCredentials = "client_credentials"
	GrantRefreshToken      = "refresh_token"
	GrantTokenExchange     = "urn:ietf:params:oauth:grant-type:token-exchange"

	TokenTypeAccessToken  = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeRefreshToken = "urn:ietf:params:oauth:token-type:refresh_token"
	TokenTypeIDToken      = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeJWT          = "urn:ietf:params:oauth:token-type:jwt"
	TokenTypeTxnToken     = "urn:ietf:params:oauth:token-type:txn_token"

	ClientAssertionJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// Error is an OAuth error response. Handlers return it as an ordinary error;
// only [WriteError] turns it into HTTP.
type Error struct {
	Code        string
	Description string
	// Status is the HTTP status; 0 means the code's default (400, or 401 for invalid_client).
	Status int
	// Header holds extra response headers (WWW-Authenticate, DPoP-Nonce, Retry-After).
	Header http.Header
	// Extra holds extension members of the JSON body (e.g. "revalidation").
	Extra map[string]any
}

// Error implements error.
func (e *Error) Error() string { return "oauth: " + e.Code + ": " + e.Description }

// HTTPStatus returns the status the error is sent with.
func (e *Error) HTTPStatus() int {
	switch {
	case e.Status != 0:
		return e.Status
	case e.Code == InvalidClient:
		return http.StatusUnauthorized
	case e.Code == ServerError:
		return http.StatusInternalServerError
	case e.Code == TemporarilyUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// Errorf returns an *Error with the given code and a formatted description.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

// WithHeader returns e with header k set to v.
func (e *Error) WithHeader(k, v string) *Error {
	if e.Header == nil {
		e.Header = http.Header{}
	}
	e.Header.Set(k, v)
	return e
}

// Unavailable reports that storage or another dependency failed: 503, never a
// false success.
func Unavailable(description string) *Error {
	return &Error{Code: TemporarilyUnavailable, Description: description, Status: http.StatusServiceUnavailable}
}

// WriteError renders err. An *Error anywhere in err's chain is sent as is;
// anything else is logged and sent as a bare server_error. Every error carries
// Cache-Control: no-store and Pragma: no-cache (RFC 6749 §5.1).
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var oe *Error
	if !errors.As(err, &oe) {
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		log.ErrorContext(r.Context(), "request failed", "err", err)
		oe = &Error{Code: ServerError, Description: "internal error"}
	}
	for k, v := range oe.Header {
		w.Header()[k] = v
	}
	body := make(map[string]any, 2+len(oe.Extra))
	for k, v := range oe.Extra {
		body[k] = v
	}
	body["error"] = oe.Code
	if oe.Description != "" {
		body["error_description"] = oe.Description
	}
	WriteJSON(w, oe.HTTPStatus(), body)
}

// WriteJSON writes v as JSON with status and the no-store headers every
// token-endpoint and introspection response carries.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

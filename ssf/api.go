package ssf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/vigil-auth/vigil/storage"
)

// Endpoint paths below the issuer.
const (
	PathConfiguration = "/.well-known/ssf-configuration"
	PathStreams       = "/ssf/streams"
	PathStatus        = "/ssf/status"
	PathAddSubject    = "/ssf/subjects:add"
	PathRemoveSubject = "/ssf/subjects:remove"
	PathVerify        = "/ssf/verify"
	// PathPoll is the poll endpoint of one stream; PathPoll + stream_id.
	PathPoll = "/ssf/poll/"
	// PathEvents is where trusted issuers push SETs to Vigil.
	PathEvents = "/ssf/events"
)

// maxBody bounds a management request body.
const maxBody = 64 << 10

// apiError is a management API error: an HTTP status and an OAuth-style body.
type apiError struct {
	status      int
	code        string
	description string
}

func (e *apiError) Error() string { return "ssf: " + e.code + ": " + e.description }

func badRequest(format string, a ...any) error {
	return &apiError{http.StatusBadRequest, "invalid_request", fmt.Sprintf(format, a...)}
}

var (
	errNoStream     = &apiError{http.StatusNotFound, "not_found", "no such stream"}
	errUnauthorized = &apiError{http.StatusUnauthorized, "invalid_token", "a bearer access token with scope " + Scope + " is required"}
	errNoScope      = &apiError{http.StatusForbidden, "insufficient_scope", "the access token lacks scope " + Scope}
)

// writeErr renders err; anything but an apiError is a 503 or 500.
func (t *Transmitter) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		status := http.StatusInternalServerError
		if errors.Is(err, storage.ErrUnavailable) {
			status = http.StatusServiceUnavailable
		}
		t.log.ErrorContext(r.Context(), "ssf: request failed", "err", err)
		ae = &apiError{status, "server_error", "the request could not be completed"}
	}
	if ae.status == http.StatusUnauthorized || ae == errNoScope {
		w.Header().Set("WWW-Authenticate", `Bearer error="`+ae.code+`", scope="`+Scope+`"`)
	}
	writeJSON(w, ae.status, map[string]string{"error": ae.code, "error_description": ae.description})
}

// writeEmpty answers status with no body (SSF 1.0 §8.1: 204, or the add
// subject endpoint's empty 200).
func writeEmpty(w http.ResponseWriter, status int) {
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a JSON body into v; members Vigil does not know are
// ignored, as SSF 1.0 asks of both parties.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return badRequest("Content-Type must be application/json")
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	if err := dec.Decode(v); err != nil {
		return badRequest("malformed JSON body: %v", err)
	}
	return nil
}

// receiver authenticates the caller: a bearer access token Vigil issued,
// live, not sender-constrained, of an enabled client, with scope Scope. It
// returns the client ID.
func (t *Transmitter) receiver(r *http.Request) (string, error) {
	ctx := r.Context()
	scheme, raw, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return "", errUnauthorized
	}
	tok, err := t.store.GetToken(ctx, t.tokenID(strings.TrimSpace(raw)))
	if errors.Is(err, storage.ErrNotFound) {
		return "", errUnauthorized
	}
	if err != nil {
		return "", err
	}
	now := t.now()
	if tok.Kind != storage.AccessToken || !tok.Active(now) || tok.JKT != "" {
		return "", errUnauthorized
	}
	sess, err := t.store.GetSession(ctx, tok.SessionID)
	if err != nil || !sess.Active(now) {
		return "", errUnauthorized
	}
	c, err := t.store.GetClient(ctx, tok.ClientID)
	if err != nil || c.Disabled {
		return "", errUnauthorized
	}
	if !slices.Contains(tok.Scopes, Scope) {
		return "", errNoScope
	}
	return c.ID, nil
}

// ownStream returns stream id if it belongs to client.
func (t *Transmitter) ownStream(ctx context.Context, client, id string) (storage.Stream, error) {
	if id == "" {
		return storage.Stream{}, badRequest("stream_id is required")
	}
	st, err := t.store.GetStream(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && st.ClientID != client) {
		return storage.Stream{}, errNoStream
	}
	return st, err
}

// Configuration serves the transmitter configuration metadata (SSF 1.0 §7.1).
func (t *Transmitter) Configuration(w http.ResponseWriter, _ *http.Request) {
	iss := t.cfg.Issuer
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, map[string]any{
		"spec_version":               "1_0",
		"issuer":                     iss,
		"jwks_uri":                   iss + "/.well-known/jwks.json",
		"delivery_methods_supported": []string{storage.DeliveryPush, storage.DeliveryPoll},
		"configuration_endpoint":     iss + PathStreams,
		"status_endpoint":            iss + PathStatus,
		"add_subject_endpoint":       iss + PathAddSubject,
		"remove_subject_endpoint":    iss + PathRemoveSubject,
		"verification_endpoint":      iss + PathVerify,
		"authorization_schemes":      []map[string]string{{"spec_urn": "urn:ietf:rfc:6749"}},
		"default_subjects":           "ALL",
	})
}

func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }

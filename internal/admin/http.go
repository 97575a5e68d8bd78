package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/storage"
)

// Error codes of the admin API beyond the OAuth ones.
const (
	codeNotFound      = "not_found"
	codeAlreadyExists = "already_exists"
)

func notFound(format string, args ...any) *oauth.Error {
	return &oauth.Error{Code: codeNotFound, Description: fmt.Sprintf(format, args...), Status: http.StatusNotFound}
}

func badRequest(format string, args ...any) *oauth.Error {
	return oauth.Errorf(oauth.InvalidRequest, format, args...)
}

// invalid turns a record's validation error into a 400 whose description
// lists every problem.
func invalid(what string, err error) *oauth.Error {
	return badRequest("%s: %s", what, strings.ReplaceAll(err.Error(), "\n", "; "))
}

// storeErr maps storage errors to answers: not found 404, exists 409,
// unavailable 503. An *oauth.Error in err's chain is kept; anything else
// becomes a logged 500.
func storeErr(err error, what string) error {
	var oe *oauth.Error
	switch {
	case errors.As(err, &oe):
		return oe
	case errors.Is(err, storage.ErrNotFound):
		return notFound("%s not found", what)
	case errors.Is(err, storage.ErrAlreadyExists):
		return &oauth.Error{Code: codeAlreadyExists, Description: what + " already exists", Status: http.StatusConflict}
	case errors.Is(err, storage.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return oauth.Unavailable("storage is unavailable")
	}
	return err
}

// conflict is the answer to a record that collides with another one.
func conflict(err error) *oauth.Error {
	return &oauth.Error{Code: codeAlreadyExists, Description: err.Error(), Status: http.StatusConflict}
}

// decodeBody reads r's JSON body into v strictly: at most MaxBodySize
// bytes, one JSON value, no unknown fields.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return &oauth.Error{Code: oauth.InvalidRequest, Description: "Content-Type must be application/json",
				Status: http.StatusUnsupportedMediaType}
		}
	}
	return decodeJSON(http.MaxBytesReader(w, r.Body, MaxBodySize), v)
}

// decodeJSON decodes exactly one JSON value from body into v, refusing
// unknown fields, and describes failures for the caller.
func decodeJSON(body io.Reader, v any) error {
	b, err := io.ReadAll(body)
	if err != nil {
		return describeJSONError(err)
	}
	if json.Valid(b) {
		if err := checkStrict(b, reflect.TypeOf(v)); err != nil {
			return badRequest("body: %s", err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return describeJSONError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return describeJSONError(err)
		}
		return badRequest("body must hold exactly one JSON object")
	}
	return nil
}

func describeJSONError(err error) *oauth.Error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return &oauth.Error{Code: oauth.InvalidRequest, Status: http.StatusRequestEntityTooLarge,
			Description: fmt.Sprintf("body is larger than %d bytes", mbe.Limit)}
	case errors.Is(err, io.EOF):
		return badRequest("body is empty; want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("body is truncated JSON")
	case errors.As(err, &syn):
		return badRequest("body is not valid JSON (at byte %d)", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequest("body must be a JSON object, not %s", typ.Value)
		}
		// Fields of the embedded record carry its Go name ("Client.scopes").
		return badRequest("field %s: want %s, not %s", strings.TrimPrefix(typ.Field, "Client."), typ.Type, typ.Value)
	}
	return badRequest("body: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// writeJSON sends v with the no-store headers: admin answers may carry a
// secret shown once.
func writeJSON(w http.ResponseWriter, status int, v any) { oauth.WriteJSON(w, status, v) }

func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	oauth.WriteError(w, r, a.d.Log, err)
}

// auditIn appends an admin audit record inside w, naming the
// administrator of ctx as its actor.
func (a *API) auditIn(ctx context.Context, w storage.Writer, rec storage.AuditRecord) error {
	rec.At, rec.Type = a.d.Now(), "admin"
	p, _ := PrincipalFrom(ctx)
	rec.Actor = p.Name
	if rec.Reason == "" {
		rec.Reason = p.Via
	}
	if rec.Reason == "" {
		rec.Reason = "admin api"
	}
	return w.AppendAudit(ctx, rec)
}

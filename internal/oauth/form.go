package oauth

import (
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/vigil-auth/vigil/internal/limits"
)

// Limits bound what a form request may carry before anything parses it.
type Limits struct {
	MaxBody   int64 // bytes of the request body
	MaxFields int   // distinct parameters plus repeats
	MaxValue  int   // bytes of one value
}

// DefaultLimits are generous for any real client and small for an attacker.
var DefaultLimits = Limits{MaxBody: limits.FormBody, MaxFields: limits.FormFields, MaxValue: limits.FormValue}

// repeatable lists the parameters that may appear more than once
// (RFC 8693 §2.1, RFC 8707 §2); every other one must appear at most once
// (RFC 6749 §3.1, §3.2).
var repeatable = map[string]bool{"resource": true, "audience": true}

// ParseForm reads an application/x-www-form-urlencoded POST body within lim
// and returns its parameters. Query-string parameters are ignored. Errors are
// *Error values with code invalid_request.
func ParseForm(r *http.Request, lim Limits) (url.Values, error) {
	if r.Method != http.MethodPost {
		return nil, &Error{Code: InvalidRequest, Description: "method must be POST", Status: http.StatusMethodNotAllowed,
			Header: http.Header{"Allow": {"POST"}}}
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, Errorf(InvalidRequest, "content type must be application/x-www-form-urlencoded")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, lim.MaxBody+1))
	if err != nil {
		return nil, Errorf(InvalidRequest, "cannot read request body")
	}
	if int64(len(body)) > lim.MaxBody {
		return nil, &Error{Code: InvalidRequest, Description: "request body too large", Status: http.StatusRequestEntityTooLarge}
	}
	return parseBody(string(body), lim)
}

func parseBody(body string, lim Limits) (url.Values, error) {
	form, err := url.ParseQuery(body)
	if err != nil {
		return nil, Errorf(InvalidRequest, "malformed form body")
	}
	n := 0
	for k, vs := range form {
		n += len(vs)
		if len(vs) > 1 && !repeatable[k] {
			return nil, Errorf(InvalidRequest, "parameter %q must not be repeated", truncate(k))
		}
		for _, v := range vs {
			if len(v) > lim.MaxValue {
				return nil, Errorf(InvalidRequest, "parameter %q is too long", truncate(k))
			}
		}
	}
	if n > lim.MaxFields {
		return nil, Errorf(InvalidRequest, "too many parameters")
	}
	return form, nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40]
	}
	return s
}

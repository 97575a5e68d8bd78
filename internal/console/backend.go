package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// recorder is the http.ResponseWriter of an in-process admin API call.
type recorder struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.h }

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.body.Write(b)
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

// apiError is a refusal of the admin API, shown to the administrator.
type apiError struct {
	Status      int
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *apiError) Error() string {
	if e.Description != "" {
		return e.Description
	}
	if e.Code != "" {
		return e.Code
	}
	return http.StatusText(e.Status)
}

// call sends one request to the admin API in process, as the signed-in
// administrator, and decodes a JSON answer into out (if non-nil). A
// non-2xx answer is returned as *apiError.
func (c *Console) call(ctx context.Context, s *session, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(asAdmin(ctx, s), method, path, rd)
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := &recorder{h: http.Header{}}
	c.d.Admin.ServeHTTP(rec, req)
	if rec.code == 0 {
		rec.code = http.StatusOK
	}
	if rec.code < 200 || rec.code > 299 {
		e := &apiError{Status: rec.code}
		_ = json.Unmarshal(rec.body.Bytes(), e)
		return e
	}
	if out != nil && rec.body.Len() > 0 {
		if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
			return fmt.Errorf("console: admin API answer: %w", err)
		}
	}
	return nil
}

// jsonBody encodes v for the admin API.
func jsonBody(v any) []byte {
	b, _ := json.Marshal(v) // plain maps and strings only
	return b
}

package oauth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseForm(t *testing.T) {
	lim := Limits{MaxBody: 256, MaxFields: 4, MaxValue: 32}
	tests := []struct {
		name, method, ctype, body string
		wantStatus                int // 0 = success
	}{
		{"ok", "POST", "application/x-www-form-urlencoded", "grant_type=client_credentials&scope=a", 0},
		{"charset param accepted", "POST", "application/x-www-form-urlencoded; charset=utf-8", "a=b", 0},
		{"repeatable resource", "POST", "application/x-www-form-urlencoded", "resource=a&resource=b", 0},
		{"GET refused", "GET", "application/x-www-form-urlencoded", "a=b", 405},
		{"json refused", "POST", "application/json", `{"a":1}`, 400},
		{"repeated scope refused", "POST", "application/x-www-form-urlencoded", "scope=a&scope=b", 400},
		{"too long value", "POST", "application/x-www-form-urlencoded", "a=" + strings.Repeat("x", 33), 400},
		{"too many fields", "POST", "application/x-www-form-urlencoded", "a=1&b=2&c=3&d=4&e=5", 400},
		{"body too large", "POST", "application/x-www-form-urlencoded", "a=" + strings.Repeat("x", 300), 413},
		{"malformed escape", "POST", "application/x-www-form-urlencoded", "a=%zz", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/token", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", tt.ctype)
			_, err := ParseForm(r, lim)
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("ParseForm: %v", err)
				}
				return
			}
			var oe *Error
			if !errors.As(err, &oe) || oe.HTTPStatus() != tt.wantStatus || oe.Code != InvalidRequest {
				t.Fatalf("ParseForm error = %v, want invalid_request with status %d", err, tt.wantStatus)
			}
		})
	}
}

func TestWriteErrorHeaders(t *testing.T) {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/token", nil)
	WriteError(rec, r, nil, Errorf(InvalidClient, "bad").WithHeader("WWW-Authenticate", "Basic"))
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("Cache-Control") != "no-store" ||
		rec.Header().Get("Pragma") != "no-cache" || rec.Header().Get("WWW-Authenticate") != "Basic" {
		t.Fatalf("got %d %v", rec.Code, rec.Header())
	}
	if !strings.Contains(rec.Body.String(), `"error":"invalid_client"`) {
		t.Fatalf("body %s", rec.Body)
	}
}

func FuzzParseForm(f *testing.F) {
	for _, s := range []string{"", "a=b", "resource=a&resource=b", "a=%zz", "scope=a&scope=b", "&&&=", "a=b;c=d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/token", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		form, err := ParseForm(r, DefaultLimits)
		if err == nil {
			for k, vs := range form {
				if len(vs) > 1 && !repeatable[k] {
					t.Fatalf("repeated %q accepted", k)
				}
			}
		}
	})
}

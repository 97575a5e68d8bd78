package rs

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzSignalHandler feeds arbitrary bodies to the SET push endpoint: it
// must answer 202, 400 or 401 and never panic, and nothing but a valid SET
// (impossible here: the JWKS is unreachable) may end a session.
func FuzzSignalHandler(f *testing.F) {
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJFUzI1NiIsInR5cCI6InNlY2V2ZW50K2p3dCJ9.eyJpc3MiOiJodHRwczovL3ZpZ2lsLmV4YW1wbGUifQ.c2ln")
	m, err := New(Config{IntrospectionURL: "https://vigil.example/oauth2/introspect", ClientID: "rs", ClientSecret: "s",
		Audience: "https://rs.example"})
	if err != nil {
		f.Fatal(err)
	}
	h, err := m.SignalHandler(SignalConfig{Issuer: "https://vigil.example", Audience: "rs", JWKSURL: "http://127.0.0.1:1/jwks"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/ssf/events", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/secevent+jwt")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusBadRequest {
			t.Fatalf("status %d for an unverifiable body", w.Code)
		}
	})
}

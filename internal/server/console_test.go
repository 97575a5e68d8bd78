package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-auth/vigil/internal/server"
	"github.com/vigil-auth/vigil/internal/server/servertest"
)

// TestConsoleCookiesSecureBehindTLS: the console's cookies are Secure when
// browsers reach Vigil over https (an https issuer, here behind a
// TLS-terminating proxy), and not on a plain-http issuer, where a browser
// would drop them.
func TestConsoleCookiesSecureBehindTLS(t *testing.T) {
	for _, tt := range []struct {
		issuer string
		secure bool
	}{{"https://vigil.example", true}, {"", false}} {
		s := servertest.Settings()
		s.Issuer = tt.issuer
		srv := servertest.Start(t, s, server.WithGetenv(servertest.Env(regAdminToken)))
		res, err := http.Get(srv.URL + "/console/login")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		cks := res.Header.Values("Set-Cookie")
		if res.StatusCode != http.StatusOK || len(cks) == 0 {
			t.Fatalf("issuer %q: GET /console/login: status %d, cookies %q", tt.issuer, res.StatusCode, cks)
		}
		for _, ck := range cks {
			if strings.Contains(ck, "; Secure") != tt.secure || !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Strict") {
				t.Errorf("issuer %q: cookie %q; want Secure %v, HttpOnly, SameSite=Strict", tt.issuer, ck, tt.secure)
			}
		}
	}
}

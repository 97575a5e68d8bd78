package interop

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2/clientcredentials"
)

// resourceAlgs is the resource server's algorithm allow-list: asymmetric
// only, never none or HS*.
var resourceAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.EdDSA, jose.RS256, jose.PS256}

// atClaims are RFC 9068 §2.2's claims.
type atClaims struct {
	jwt.Claims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

// verifyAccessToken verifies raw as a resource server would with go-jose:
// signature against the JWKS from jwks_uri, typ at+jwt (RFC 9068 §4), then
// iss, aud and exp.
func verifyAccessToken(raw string, jwks *jose.JSONWebKeySet, issuer, audience string, now time.Time) (atClaims, error) {
	var c atClaims
	tok, err := jwt.ParseSigned(raw, resourceAlgs)
	if err != nil {
		return c, err
	}
	if typ, _ := tok.Headers[0].ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, "at+jwt") &&
		!strings.EqualFold(typ, "application/at+jwt") {
		return c, errTyp(typ)
	}
	if err := tok.Claims(jwks, &c); err != nil {
		return c, err
	}
	return c, c.ValidateWithLeeway(jwt.Expected{Issuer: issuer, AnyAudience: jwt.Audience{audience}, Time: now}, 0)
}

type errTyp string

func (e errTyp) Error() string { return "typ " + string(e) + " is not at+jwt" }

func jwtToken(t *testing.T, v *vigil) string {
	t.Helper()
	cc := clientcredentials.Config{ClientID: "conf-jwt", ClientSecret: v.secrets["conf-jwt"], TokenURL: v.TokenEndpoint,
		Scopes: []string{"tickets.read"}, EndpointParams: url.Values{"audience": {"https://rs1.example"}}}
	tok, err := cc.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// TestGoJose_VerifyJWTAccessToken verifies a conf-jwt access token with
// go-jose against the JWKS Vigil publishes.
func TestGoJose_VerifyJWTAccessToken(t *testing.T) {
	v := newVigil(t)
	var jwks jose.JSONWebKeySet
	getJSON(t, v.JWKSURI, &jwks)
	for _, k := range jwks.Keys {
		if !k.IsPublic() || !k.Valid() {
			t.Fatalf("JWKS holds a non-public or invalid key %q", k.KeyID)
		}
	}
	raw := jwtToken(t, v)
	c, err := verifyAccessToken(raw, &jwks, v.Issuer, "https://rs1.example", time.Now())
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if c.ClientID != "conf-jwt" || c.Subject == "" || c.ID == "" || c.IssuedAt == nil || c.Scope != "tickets.read" {
		t.Errorf("claims %+v", c)
	}

	tests := []struct {
		name  string
		token string
		iss   string
		aud   string
		at    time.Time
	}{
		{"other audience", raw, v.Issuer, "https://rs2.example", time.Now()},
		{"other issuer", raw, "https://evil.example", "https://rs1.example", time.Now()},
		{"after exp", raw, v.Issuer, "https://rs1.example", c.Expiry.Time().Add(time.Second)},
		{"tampered payload", tamper(raw), v.Issuer, "https://rs1.example", time.Now()},
		{"alg none", algNone(raw), v.Issuer, "https://rs1.example", time.Now()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := verifyAccessToken(tt.token, &jwks, tt.iss, tt.aud, tt.at); err == nil {
				t.Fatal("verified")
			}
		})
	}
}

// tamper changes the payload's client_id without re-signing.
func tamper(raw string) string {
	p := strings.Split(raw, ".")
	b, _ := base64.RawURLEncoding.DecodeString(p[1])
	b = []byte(strings.Replace(string(b), `"conf-jwt"`, `"conf-agt"`, 1))
	return p[0] + "." + base64URL(b) + "." + p[2]
}

// algNone re-heads the token with alg none and drops the signature.
func algNone(raw string) string {
	p := strings.Split(raw, ".")
	return base64URL([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + p[1] + "."
}

func base64URL(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

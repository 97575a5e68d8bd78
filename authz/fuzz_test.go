package authz

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/oauth"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/memory"
)

// The fuzz targets drive authz's parsers of untrusted input with a verifier
// that accepts every signature, so that the fuzzer reaches the claim checks
// that run after verification, and state what any accepted input must be.

const (
	fuzzIssuer   = "https://vigil.example"
	fuzzWorkload = "https://workload.example"
	fuzzSecret   = "s3cret-value-of-the-fuzz-client-0123456789"
)

var fuzzNow = time.Unix(1_800_000_000, 0)

// acceptAll verifies nothing: it decodes a compact JWS's payload into out,
// matching member names case-sensitively as Vigil's verifier (package keys)
// does: members that are not spelled exactly like a claim are ignored.
type acceptAll struct{}

func (acceptAll) VerifyClientJWT(_ context.Context, raw string, _ storage.Client, out any) error {
	return payloadInto(raw, out)
}

func (acceptAll) VerifyIssuerJWT(_ context.Context, raw string, _ storage.Issuer, out any) error {
	return payloadInto(raw, out)
}

func payloadInto(raw string, out any) error {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return errors.New("not a compact JWS")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return err
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(b, &members); err != nil {
		return err
	}
	exact := map[string]json.RawMessage{}
	for _, k := range []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "may_act"} {
		if v, ok := members[k]; ok {
			exact[k] = v
		}
	}
	b, _ = json.Marshal(exact)
	return json.Unmarshal(b, out)
}

// plainSecrets stores "h:" + secret and compares in constant time.
type plainSecrets struct{}

func (plainSecrets) Verify(hash, s string) error {
	if subtle.ConstantTimeCompare([]byte(hash), []byte("h:"+s)) != 1 {
		return errors.New("mismatch")
	}
	return nil
}

type allowAll struct{}

func (allowAll) Observe(risk.Event) risk.Decision { return risk.Decision{Action: risk.Allow} }

type noSigner struct{}

func (noSigner) Sign(string, any) (string, error) { return "signed", nil }

// fuzzServer is an authority over a memory store with a secret client, a
// private_key_jwt client and a trusted workload issuer. Throttling is off:
// each input must be judged on its own.
func fuzzServer(f *testing.F) *Server {
	ctx := context.Background()
	st := memory.New()
	err := st.Update(ctx, func(w storage.Writer) error {
		for _, c := range []storage.Client{
			{ID: "fz-secret", Kind: "service", SecretHash: "h:" + fuzzSecret, GrantTypes: []string{"client_credentials"}},
			{ID: "fz-pkjwt", Kind: "workload", JWKS: json.RawMessage(`{"keys":[]}`), GrantTypes: []string{"client_credentials"}},
		} {
			if err := w.PutClient(ctx, c); err != nil {
				return err
			}
		}
		return w.PutIssuer(ctx, storage.Issuer{Issuer: fuzzWorkload, Audience: "vigil",
			Subjects: []storage.SubjectMapping{{Subject: "ci:*", ClientID: "fz-pkjwt"}, {Subject: "exact", ClientID: "fz-pkjwt"}}})
	})
	if err != nil {
		f.Fatal(err)
	}
	s, err := New(Config{Issuer: fuzzIssuer, RefreshKey: make([]byte, 32)}, st, noSigner{}, acceptAll{}, plainSecrets{}, allowAll{},
		WithClock(func() time.Time { return fuzzNow }), WithAuthLimits(AuthLimits{}))
	if err != nil {
		f.Fatal(err)
	}
	return s
}

func jws(claims string) string {
	return "eyJhbGciOiJFUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".c2ln"
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// claimsOf decodes a JWS payload loosely, for checking what was accepted.
func claimsOf(t *testing.T, raw string) map[string]any {
	var m map[string]any
	if err := payloadInto(raw, &m); err != nil {
		t.Fatalf("accepted an undecodable token %q: %v", raw, err)
	}
	return m
}

func numClaim(m map[string]any, k string) (float64, bool) { v, ok := m[k].(float64); return v, ok }

// Property: an accepted client assertion names the client as iss and sub,
// the issuer alone as aud, a jti, and an exp that has not passed and is
// not too far ahead (RFC 7523 §3, SECURITY.md #7-#10).
func FuzzClientAssertion(f *testing.F) {
	s := fuzzServer(f)
	exp := unix(fuzzNow.Add(time.Minute))
	good := `{"iss":"fz-pkjwt","sub":"fz-pkjwt","aud":"` + fuzzIssuer + `","jti":"j1","exp":` + exp + `}`
	f.Add(jws(good), "")
	f.Add(jws(good), "fz-pkjwt")
	f.Add(jws(good), "fz-secret")
	f.Add(jws(strings.Replace(good, `"aud":"`+fuzzIssuer+`"`, `"aud":["`+fuzzIssuer+`","x"]`, 1)), "")
	f.Add(jws(strings.Replace(good, exp, unix(fuzzNow.Add(365*24*time.Hour)), 1)), "")
	f.Add(jws(`{"sub":"fz-pkjwt","exp":1e308}`), "")
	f.Add("a.b.c", "")
	f.Add(strings.Repeat(".", 300), "")
	f.Fuzz(func(t *testing.T, raw, clientID string) {
		form := url.Values{"client_assertion_type": {oauth.ClientAssertionJWTBearer}, "client_assertion": {raw}}
		if clientID != "" {
			form.Set("client_id", clientID)
		}
		r := httptest.NewRequest("POST", "/oauth2/token", nil)
		c, err := s.authenticate(context.Background(), r, form)
		if err != nil {
			return
		}
		cl := claimsOf(t, raw)
		aud, single := cl["aud"].(string)
		if list, ok := cl["aud"].([]any); ok && len(list) == 1 {
			aud, single = list[0].(string)
		}
		e, hasExp := numClaim(cl, "exp")
		jti, _ := cl["jti"].(string)
		switch {
		case c.client.ID != "fz-pkjwt" || cl["iss"] != c.client.ID || cl["sub"] != c.client.ID:
			t.Fatalf("accepted as %q with iss %v sub %v", c.client.ID, cl["iss"], cl["sub"])
		case clientID != "" && clientID != c.client.ID:
			t.Fatalf("client_id %q accepted for %q", clientID, c.client.ID)
		case !single || aud != fuzzIssuer:
			t.Fatalf("accepted aud %v", cl["aud"])
		case !hasExp || e < float64(fuzzNow.Add(-clockLeeway).Unix()) || e > float64(fuzzNow.Add(s.cfg.MaxAssertionLifetime).Unix()):
			t.Fatalf("accepted exp %v", cl["exp"])
		case jti == "" || len(jti) > 256:
			t.Fatalf("accepted jti %q", jti)
		}
	})
}

// Property: client_secret_basic and client_secret_post authenticate a
// client only with its secret, however the header and body are formed.
func FuzzClientSecret(f *testing.F) {
	s := fuzzServer(f)
	basic := func(id, sec string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(sec)))
	}
	f.Add(basic("fz-secret", fuzzSecret), "grant_type=client_credentials")
	f.Add(basic("fz-secret", "wrong"), "")
	f.Add("", "client_id=fz-secret&client_secret="+url.QueryEscape(fuzzSecret))
	f.Add(basic("fz-secret", fuzzSecret), "client_id=fz-secret&client_secret=x")
	f.Add(basic("fz-pkjwt", ""), "client_id=fz-secret")
	f.Add("Basic %%%", "client_id=%zz")
	f.Fuzz(func(t *testing.T, authorization, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		r := httptest.NewRequest("POST", "/oauth2/token", nil)
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		c, err := s.authenticate(context.Background(), r, form)
		if err != nil {
			return
		}
		id, sec, ok := r.BasicAuth()
		if ok {
			id, _ = url.QueryUnescape(id)
			sec, _ = url.QueryUnescape(sec)
		} else {
			id, sec = form.Get("client_id"), form.Get("client_secret")
		}
		if c.client.ID != "fz-secret" || id != "fz-secret" || sec != fuzzSecret {
			t.Fatalf("authenticated %q with presented id %q secret %q", c.client.ID, id, sec)
		}
	})
}

// Property: an accepted external subject token comes from the trusted
// issuer, carries its audience, has not expired, and its subject maps to
// the calling client; the session it opens belongs to that client and ends
// with the token (SECURITY.md #24, #79, #80).
func FuzzExternalSubject(f *testing.F) {
	s := fuzzServer(f)
	caller, err := s.store.GetClient(context.Background(), "fz-pkjwt")
	if err != nil {
		f.Fatal(err)
	}
	exp := unix(fuzzNow.Add(time.Hour))
	good := `{"iss":"` + fuzzWorkload + `","sub":"ci:job","aud":"vigil","exp":` + exp + `}`
	f.Add(jws(good))
	f.Add(jws(strings.Replace(good, `"aud":"vigil"`, `"aud":["x","vigil"]`, 1)))
	f.Add(jws(strings.Replace(good, `"sub":"ci:job"`, `"sub":"exact","may_act":{"sub":"a"}`, 1)))
	f.Add(jws(strings.Replace(good, exp, "1", 1)))
	f.Add(jws(`{"iss":"` + fuzzWorkload + `","sub":"ci:","aud":[],"exp":"x"}`))
	f.Add("x.y")
	f.Fuzz(func(t *testing.T, raw string) {
		st, err := s.externalSubject(context.Background(), raw, caller)
		if err != nil {
			return
		}
		cl := claimsOf(t, raw)
		sub, _ := cl["sub"].(string)
		e, hasExp := numClaim(cl, "exp")
		var auds []string
		switch a := cl["aud"].(type) {
		case string:
			auds = []string{a}
		case []any:
			for _, x := range a {
				if s, ok := x.(string); ok {
					auds = append(auds, s)
				}
			}
		}
		switch {
		case cl["iss"] != fuzzWorkload:
			t.Fatalf("accepted iss %v", cl["iss"])
		case sub != "exact" && !strings.HasPrefix(sub, "ci:"):
			t.Fatalf("accepted unmapped sub %q", sub)
		case !slices.Contains(auds, "vigil"):
			t.Fatalf("accepted aud %v", cl["aud"])
		case !hasExp || float64(fuzzNow.Add(-clockLeeway).Unix()) >= e:
			t.Fatalf("accepted exp %v", cl["exp"])
		case st.session.ClientID != caller.ID || st.token.Subject != sub || st.token.ExpiresAt.Unix() != int64(e):
			t.Fatalf("session %+v token %+v", st.session, st.token)
		}
	})
}

// Property: parseTargets accepts a request only when every resource is an
// absolute URI without a fragment (RFC 8707 §2), and returns every
// requested target once, sorted.
func FuzzParseTargets(f *testing.F) {
	for _, s := range []string{"resource=https://rs.example/api", "resource=https://rs.example/%23x", "resource=rs.example",
		"resource=https://rs.example/#frag", "audience=a+b&audience=b", "resource=urn:x:y&audience=urn:x:y", "resource=%zz",
		"resource=https://[::1]:443/x&resource=mailto:a@b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		out, err := parseTargets(form)
		if err != nil {
			var oe *oauth.Error
			if !errors.As(err, &oe) || oe.Code != oauth.InvalidTarget {
				t.Fatalf("error %v is not invalid_target", err)
			}
			return
		}
		for _, res := range form["resource"] {
			u, err := url.Parse(res)
			if err != nil || !u.IsAbs() || strings.Contains(res, "#") {
				t.Fatalf("accepted resource %q", res)
			}
			if !slices.Contains(out, res) {
				t.Fatalf("resource %q lost", res)
			}
		}
		if !slices.IsSorted(out) || len(slices.Compact(slices.Clone(out))) != len(out) {
			t.Fatalf("targets %q not sorted and unique", out)
		}
	})
}

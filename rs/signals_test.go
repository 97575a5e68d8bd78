package rs

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/internal/server"
	"github.com/vigil-auth/vigil/internal/server/servertest"
	"github.com/vigil-auth/vigil/keys"
	"github.com/vigil-auth/vigil/storage"
)

// TestSignalsEndCachedSessions runs Vigil, a resource server whose verdict
// cache keeps allowing verdicts for a minute, and its signal handler as a
// push stream: a terminated session's token is refused as soon as the
// session-revoked SET arrives, long before the cached verdict would expire.
func TestSignalsEndCachedSessions(t *testing.T) {
	f, err := config.Load("../conformance/vigil.yaml")
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{}
	for _, c := range f.Clients {
		secrets[c.ID] = c.Secret
	}
	f.Clients = append(f.Clients, config.Client{Client: storage.Client{ID: "conf-rs-ssf", Kind: "service",
		GrantTypes: []string{"client_credentials"}, Scopes: []string{"ssf:manage"}}, Secret: "conf-rs-ssf-secret-0123456789abcdef"})
	secrets["conf-rs-ssf"] = "conf-rs-ssf-secret-0123456789abcdef"
	srv := servertest.Start(t, servertest.Settings(), server.WithConfigFile(f, ""))
	v := &vigil{url: srv.URL, secrets: secrets}

	rs1 := v.resourceServer(t, nil, WithCache(100, time.Minute))
	sig, err := rs1.m.SignalHandler(SignalConfig{Issuer: v.url, Audience: "conf-rs-ssf", Authorization: "Bearer push-secret"})
	if err != nil {
		t.Fatal(err)
	}
	rcv := httptest.NewServer(sig)
	defer rcv.Close()
	mgmt := v.token(t, "conf-rs-ssf", url.Values{"scope": {"ssf:manage"}}, "")
	createStream(t, v.url, mgmt, rcv.URL)

	agent := v.token(t, "conf-agent", url.Values{"audience": {"https://rs1.example"}, "scope": {"tickets.read"}}, "")
	w, c := rs1.get("Bearer "+agent, "tickets.get", "")
	if w.Code != http.StatusNoContent || c.SessionID == "" {
		t.Fatalf("first call: %d %s", w.Code, w.Body)
	}
	if err := srv.Authority().TerminateSession(t.Context(), c.SessionID, "test"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		w, _ := rs1.get("Bearer "+agent, "tickets.get", "")
		if w.Code == http.StatusUnauthorized {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the terminated session's token is still allowed: %d", w.Code)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// A SET signed with another key is refused with RFC 8935's error and ends nothing.
	other := v.token(t, "conf-agent", url.Values{"audience": {"https://rs1.example"}, "scope": {"tickets.read"}}, "")
	if w, c = rs1.get("Bearer "+other, "tickets.get", ""); w.Code != http.StatusNoContent {
		t.Fatalf("second session: %d", w.Code)
	}
	forged, _ := keys.SignWithJWK(forgedKey(t), "secevent+jwt", map[string]any{"iss": v.url, "aud": "conf-rs-ssf",
		"iat": time.Now().Unix(), "jti": "forged-1", "sub_id": map[string]any{"format": "complex",
			"session": map[string]string{"format": "opaque", "id": c.SessionID}},
		"events": map[string]any{EventSessionRevoked: map[string]any{}}})
	req, _ := http.NewRequest(http.MethodPost, rcv.URL, strings.NewReader(forged))
	req.Header.Set("Content-Type", "application/secevent+jwt")
	req.Header.Set("Authorization", "Bearer push-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var e setError
	_ = json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || e.Err != "invalid_key" {
		t.Errorf("forged SET: %d %+v", resp.StatusCode, e)
	}
	if w, _ := rs1.get("Bearer "+other, "tickets.get", ""); w.Code != http.StatusNoContent {
		t.Errorf("a forged SET ended a session: %d", w.Code)
	}
}

func createStream(t *testing.T, issuer, token, endpoint string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"events_requested": []string{EventSessionRevoked, EventRiskLevelChange},
		"delivery": map[string]string{"method": "urn:ietf:rfc:8935", "endpoint_url": endpoint,
			"authorization_header": "Bearer push-secret"}})
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, issuer+"/ssf/streams", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create stream: %d", resp.StatusCode)
	}
}

func forgedKey(t *testing.T) []byte {
	t.Helper()
	return []byte(`{"kty":"EC","crv":"P-256","kid":"forged","alg":"ES256","x":"oGZxXTpGBCihjrV6n7Ckrvwh7ohObHJV1c52r0l5CrA","y":"KwfNRvNM8ClVAO3O2MLDQBkLCHJkjLXKJk_7YdoEv4c","d":"0DWhg-yLfzqjOCdoU_XZ7Y-PN6lyXEzGQT1h96Wnjcg"}`)
}

// TestSignalHandlerActsAtOnce: with a verdict cached for a minute and an
// introspection endpoint that would still allow, a session-revoked SET
// refuses the session's token on the very next call without asking, and a
// risk-level-change makes the next call ask again. Refused SETs (RFC 8935
// errors) change nothing.
func TestSignalHandlerActsAtOnce(t *testing.T) {
	e := newEnv(t, nil, WithCache(100, time.Minute))
	now := e.clock.Now()
	e.as.set("tok-1", active(now, nil))
	e.as.set("tok-2", active(now, map[string]any{"sid": "sess-2", "jti": "tok-2"}))
	key := forgedKey(t)
	var pub map[string]any
	_ = json.Unmarshal(key, &pub)
	delete(pub, "d")
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{pub}})
	}))
	defer jwks.Close()
	h, err := e.m.SignalHandler(SignalConfig{Issuer: testIssuer, Audience: "rs1-stream", JWKSURL: jwks.URL, Authorization: "Bearer push"})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(uri, sid string, over map[string]any) string {
		c := map[string]any{"iss": testIssuer, "aud": "rs1-stream", "iat": now.Unix(), "jti": randomID(t),
			"sub_id": map[string]any{"format": "complex", "session": map[string]string{"format": "opaque", "id": sid}},
			"events": map[string]any{uri: map[string]any{"event_timestamp": now.Unix()}}}
		for k, v := range over {
			c[k] = v
		}
		s, err := keys.SignWithJWK(key, "secevent+jwt", c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	push := func(set, auth string) (int, string) {
		r := httptest.NewRequest(http.MethodPost, "/ssf/events", strings.NewReader(set))
		r.Header.Set("Content-Type", "application/secevent+jwt")
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var body setError
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		return w.Code, body.Err
	}
	call := func(tok string, wantStatus int, wantCalls int32) {
		t.Helper()
		if w := e.serve(request("Bearer " + tok)); w.Code != wantStatus || e.as.calls.Load() != wantCalls {
			t.Fatalf("%s: status %d after %d introspections, want %d after %d", tok, w.Code, e.as.calls.Load(), wantStatus, wantCalls)
		}
	}
	call("tok-1", 200, 1)
	call("tok-1", 200, 1) // cached
	call("tok-2", 200, 2)

	other := otherSigned(t, now)
	for _, tt := range []struct {
		name, set, auth string
		status          int
		err             string
	}{
		{"no authorization", mk(EventSessionRevoked, "sess-1", nil), "", 401, "authentication_failed"},
		{"wrongly signed", other, "Bearer push", 400, "invalid_key"},
		{"expired", mk(EventSessionRevoked, "sess-1", map[string]any{"iat": now.Add(-2 * time.Hour).Unix()}), "Bearer push", 400, "invalid_request"},
		{"wrong audience", mk(EventSessionRevoked, "sess-1", map[string]any{"aud": "someone-else"}), "Bearer push", 400, "invalid_audience"},
		{"wrong issuer", mk(EventSessionRevoked, "sess-1", map[string]any{"iss": "https://evil.example"}), "Bearer push", 400, "invalid_issuer"},
		{"malformed", "not.a.set", "Bearer push", 400, "invalid_key"},
	} {
		if code, errCode := push(tt.set, tt.auth); code != tt.status || errCode != tt.err {
			t.Errorf("%s: %d %s, want %d %s", tt.name, code, errCode, tt.status, tt.err)
		}
	}
	call("tok-1", 200, 2) // the refused SETs changed nothing: still cached

	revoked := mk(EventSessionRevoked, "sess-1", nil)
	if code, errCode := push(revoked, "Bearer push"); code != 202 {
		t.Fatalf("session-revoked: %d %s", code, errCode)
	}
	call("tok-1", 401, 2) // refused at once, without asking
	if code, errCode := push(revoked, "Bearer push"); code != 400 || errCode != "invalid_request" {
		t.Errorf("replayed SET: %d %s", code, errCode)
	}

	call("tok-2", 200, 2) // cached
	if code, errCode := push(mk(EventRiskLevelChange, "sess-2", nil), "Bearer push"); code != 202 {
		t.Fatalf("risk-level-change: %d %s", code, errCode)
	}
	call("tok-2", 200, 3) // asked again
}

// otherSigned is a SET signed with a key the JWKS does not hold.
func otherSigned(t *testing.T, now time.Time) string {
	t.Helper()
	pk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	pt, _ := pk.PublicKey.ECDH()
	raw := pt.Bytes()                                                                                    // 0x04 || X || Y
	k, _ := json.Marshal(map[string]string{"kty": "EC", "crv": "P-256", "kid": "forged", "alg": "ES256", // same kid, another key
		"x": enc(raw[1:33]), "y": enc(raw[33:]), "d": enc(pk.D.FillBytes(make([]byte, 32)))})
	s, err := keys.SignWithJWK(k, "secevent+jwt", map[string]any{"iss": testIssuer, "aud": "rs1-stream", "iat": now.Unix(), "jti": "x",
		"events": map[string]any{EventSessionRevoked: map[string]any{}}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

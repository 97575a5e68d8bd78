package rs

import (
	"bytes"
	"context"
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

// Command signals-rs is a resource server that caches Vigil's verdicts and
// still drops a session the moment Vigil ends it: it creates a Shared
// Signals push stream at Vigil and serves the stream's endpoint with
// rs.Middleware.SignalHandler, so session-revoked and risk-level-change
// evict its cached verdicts.
//
// Vigil needs two clients for it: a resource_server (introspection rights
// for the audience) and a service with grant client_credentials and scope
// ssf:manage (the stream's owner). See docs/SIGNALS.md.
//
//	VIGIL=http://127.0.0.1:8080 RS_ID=reports-api RS_SECRET=... \
//	SSF_ID=reports-signals SSF_SECRET=... AUDIENCE=https://tickets.example \
//	go run ./examples/signals-rs
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/rs"
)

func main() {
	if err := run(context.Background(), os.Getenv); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, env func(string) string) error {
	vigil := env("VIGIL")
	m, err := rs.New(rs.Config{IntrospectionURL: vigil + "/oauth2/introspect", ClientID: env("RS_ID"),
		ClientSecret: env("RS_SECRET"), Audience: env("AUDIENCE"), Issuer: vigil},
		rs.WithCache(1024, time.Minute)) // verdicts reused for a minute: the stream keeps them honest
	if err != nil {
		return err
	}
	pushSecret := "Bearer " + fmt.Sprint(time.Now().UnixNano())
	signals, err := m.SignalHandler(rs.SignalConfig{Issuer: vigil, Audience: env("SSF_ID"), Authorization: pushSecret})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("POST /ssf/events", signals)
	mux.Handle("GET /reports", m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := rs.FromContext(r.Context())
		fmt.Fprintf(w, "report for %s (session %s)\n", c.ClientID, c.SessionID)
	})))
	base := "http://" + ln.Addr().String()
	if err := createStream(ctx, vigil, env("SSF_ID"), env("SSF_SECRET"), base+"/ssf/events", pushSecret); err != nil {
		return err
	}
	log.Printf("serving %s/reports; Vigil pushes signals to %s/ssf/events", base, base)
	return http.Serve(ln, mux)
}

// createStream gets a token with scope ssf:manage and creates a push
// stream for session-revoked and risk-level-change (SSF 1.0 §8.1.1).
func createStream(ctx context.Context, vigil, id, secret, endpoint, auth string) error {
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"ssf:manage"}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, vigil+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := do(req, http.StatusOK, &tok); err != nil {
		return fmt.Errorf("token: %w", err)
	}
	body, _ := json.Marshal(map[string]any{
		"events_requested": []string{rs.EventSessionRevoked, rs.EventRiskLevelChange},
		"delivery":         map[string]string{"method": "urn:ietf:rfc:8935", "endpoint_url": endpoint, "authorization_header": auth},
		"description":      "signals-rs example"})
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, vigil+"/ssf/streams", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	var stream map[string]any
	if err := do(req, http.StatusCreated, &stream); err != nil {
		return fmt.Errorf("create stream: %w", err)
	}
	log.Printf("stream %v created", stream["stream_id"])
	return nil
}

func do(req *http.Request, want int, out any) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

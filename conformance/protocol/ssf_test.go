package protocol

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/storage"
)

// Vigil extension: OpenID Shared Signals Framework 1.0 (SSF) with CAEP and
// RISC events, RFC 8417 SETs, RFC 8935 push and RFC 8936 poll delivery.

const (
	pathSSFConfig = "/.well-known/ssf-configuration"
	pathSSFEvents = "/ssf/events"
	ssfReceiver   = "conf-ssf"
	workloadIss   = "https://workload-issuer.example"

	evSessionRevoked  = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
	evCredential      = "https://schemas.openid.net/secevent/caep/event-type/credential-change"
	evClaims          = "https://schemas.openid.net/secevent/caep/event-type/token-claims-change"
	evRiskLevel       = "https://schemas.openid.net/secevent/caep/event-type/risk-level-change"
	evAssurance       = "https://schemas.openid.net/secevent/caep/event-type/assurance-level-change"
	evVerification    = "https://schemas.openid.net/secevent/ssf/event-type/verification"
	evAccountDisabled = "https://schemas.openid.net/secevent/risc/event-type/account-disabled"
	deliveryPoll      = "urn:ietf:rfc:8936"
	deliveryPush      = "urn:ietf:rfc:8935"
)

// newSSFTarget starts Vigil in-process with a Shared Signals receiver
// client (scope ssf:manage) and the workload issuer trusted for security
// events as well as for token exchange.
func newSSFTarget(t *testing.T) *target {
	t.Helper()
	if os.Getenv("VIGIL_CONFORMANCE_URL") != "" {
		t.Skip("registers a receiver and trusts an issuer for security events: in-process Vigil only")
	}
	f, err := config.Load("../vigil.yaml")
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{}
	for _, c := range f.Clients {
		secrets[c.ID] = c.Secret
	}
	secrets[ssfReceiver] = "conf-ssf-secret-0123456789abcdef"
	f.Clients = append(f.Clients, config.Client{Client: storage.Client{ID: ssfReceiver, Kind: "service",
		GrantTypes: []string{"client_credentials"}, Scopes: []string{"ssf:manage"}}, Secret: secrets[ssfReceiver]})
	for i := range f.TrustedIssuers {
		if f.TrustedIssuers[i].Issuer == workloadIss {
			f.TrustedIssuers[i].SSF = &storage.IssuerSSF{}
		}
	}
	return startInProcess(t, f, secrets)
}

// api calls an SSF management endpoint with a JSON body and bearer token.
func (tg *target) api(t *testing.T, method, url, token string, body any) result {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		rd = bytes.NewReader(mustJSON(t, body))
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return tg.do(t, req)
}

func want(t *testing.T, what string, r result, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: %d %s, want %d", what, r.status, r.raw, status)
	}
}

// set is a received SET: its header and claims, after the signature was
// checked against Vigil's JWKS.
type set struct {
	hdr, claims map[string]any
	uri         string
	event       map[string]any
}

func (s set) subID() map[string]any { m, _ := s.claims["sub_id"].(map[string]any); return m }

func (s set) member(name string) map[string]any { m, _ := s.subID()[name].(map[string]any); return m }

// checkSET verifies raw's signature with Vigil's published keys and the
// RFC 8417 / SSF 1.0 claims every SET Vigil sends must have.
func checkSET(t *testing.T, tg *target, raw string) set {
	t.Helper()
	verifyWithJWKS(t, tg, raw)
	hdr, c := splitJWT(t, raw)
	if hdr["typ"] != "secevent+jwt" {
		t.Errorf("typ = %v", hdr["typ"])
	}
	aud := c["aud"]
	if l, ok := aud.([]any); ok && len(l) == 1 {
		aud = l[0]
	}
	if c["iss"] != tg.issuer || aud != ssfReceiver {
		t.Errorf("iss %v aud %v", c["iss"], c["aud"])
	}
	for _, k := range []string{"iat", "jti", "txn", "toe", "sub_id", "events"} {
		if c[k] == nil {
			t.Errorf("claim %s missing: %v", k, c)
		}
	}
	for _, k := range []string{"sub", "exp"} {
		if c[k] != nil {
			t.Errorf("claim %s present (SSF 1.0 §4.1.2, §4.1.5): %v", k, c)
		}
	}
	evs, _ := c["events"].(map[string]any)
	if len(evs) != 1 {
		t.Fatalf("events = %v", c["events"])
	}
	s := set{hdr: hdr, claims: c}
	for uri, ev := range evs {
		s.uri = uri
		s.event, _ = ev.(map[string]any)
	}
	return s
}

// poller polls one stream and acknowledges what it got.
type poller struct {
	tg    *target
	url   string
	token string
	ack   []string
}

// next returns the SETs queued now (each checked), acknowledging the
// previous answer's.
func (p *poller) next(t *testing.T) []set {
	t.Helper()
	body := map[string]any{"returnImmediately": true, "maxEvents": 50}
	if len(p.ack) > 0 {
		body["ack"] = p.ack
	}
	r := p.tg.api(t, http.MethodPost, p.url, p.token, body)
	want(t, "poll", r, 200)
	sets, _ := r.body["sets"].(map[string]any)
	p.ack = nil
	var out []set
	for jti, raw := range sets {
		s := checkSET(t, p.tg, raw.(string))
		if s.claims["jti"] != jti {
			t.Errorf("sets key %s names a SET with jti %v", jti, s.claims["jti"])
		}
		p.ack = append(p.ack, jti)
		out = append(out, s)
	}
	return out
}

// wait polls until n SETs came (some are queued a moment after the change
// they report), then checks nothing more is queued.
func (p *poller) wait(t *testing.T, what string, n int) []set {
	t.Helper()
	var got []set
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		got = append(got, p.next(t)...)
		if len(got) < n {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if len(got) != n {
		t.Fatalf("%s: %d SETs, want %d: %v", what, len(got), n, got)
	}
	if more := p.next(t); len(more) != 0 {
		t.Fatalf("%s: more SETs than expected: %v", what, more)
	}
	return got
}

// openSession gets a token for conf-agent and returns it with its session ID.
func (tg *target) openSession(t *testing.T) (string, string) {
	t.Helper()
	at := tg.cc(t, "conf-agent", "audience", "https://rs1.example").str("access_token")
	return at, tg.introspect(t, "conf-rs1", at).str("sid")
}

func wantSessionEvent(t *testing.T, tg *target, s set, uri, sid, client string) {
	t.Helper()
	if s.uri != uri || s.subID()["format"] != "complex" || s.member("session")["format"] != "opaque" ||
		s.member("session")["id"] != sid || s.member("user")["format"] != "iss_sub" ||
		s.member("user")["iss"] != tg.issuer || s.member("user")["sub"] != client {
		t.Fatalf("want %s about session %s of %s, got %s %v", uri, sid, client, s.uri, s.subID())
	}
	if s.event["event_timestamp"] == nil {
		t.Errorf("event_timestamp missing: %v", s.event)
	}
}

func wantClientEvent(t *testing.T, tg *target, s set, uri, client string) {
	t.Helper()
	if s.uri != uri || s.subID()["format"] != "iss_sub" || s.subID()["iss"] != tg.issuer || s.subID()["sub"] != client {
		t.Fatalf("want %s about client %s, got %s %v", uri, client, s.uri, s.subID())
	}
}

func TestSSF_TransmitterMetadata(t *testing.T) {
	tg := newSSFTarget(t)
	r := tg.get(t, pathSSFConfig)
	want(t, "metadata", r, 200)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	for k, v := range map[string]string{"spec_version": "1_0", "issuer": tg.issuer, "jwks_uri": tg.issuer + pathJWKS,
		"configuration_endpoint": tg.issuer + "/ssf/streams", "status_endpoint": tg.issuer + "/ssf/status",
		"add_subject_endpoint": tg.issuer + "/ssf/subjects:add", "remove_subject_endpoint": tg.issuer + "/ssf/subjects:remove",
		"verification_endpoint": tg.issuer + "/ssf/verify", "default_subjects": "ALL"} {
		if r.str(k) != v {
			t.Errorf("%s = %v, want %s", k, r.body[k], v)
		}
	}
	methods, _ := r.body["delivery_methods_supported"].([]any)
	if !slices.Contains(methods, any(deliveryPush)) || !slices.Contains(methods, any(deliveryPoll)) {
		t.Errorf("delivery_methods_supported = %v", methods)
	}
	schemes, _ := r.body["authorization_schemes"].([]any)
	if len(schemes) != 1 || schemes[0].(map[string]any)["spec_urn"] != "urn:ietf:rfc:6749" {
		t.Errorf("authorization_schemes = %v", schemes)
	}
	for k, v := range r.body {
		if l, ok := v.([]any); ok && len(l) == 0 {
			t.Errorf("%s is an empty array; SSF 1.0 §7.2.2 wants it omitted", k)
		}
	}
}

// TestSSF_StreamManagement walks the SSF 1.0 §8 management API: methods,
// status codes and members.
func TestSSF_StreamManagement(t *testing.T) {
	tg := newSSFTarget(t)
	cfg := tg.issuer + "/ssf/streams"
	tok := tg.cc(t, ssfReceiver, "scope", "ssf:manage").str("access_token")

	want(t, "no token", tg.api(t, http.MethodGet, cfg, "", nil), 401)
	other := tg.cc(t, "conf-agent").str("access_token")
	want(t, "a token without ssf:manage", tg.api(t, http.MethodGet, cfg, other, nil), 403)
	want(t, "no streams yet", tg.api(t, http.MethodGet, cfg, tok, nil), 200)

	r := tg.api(t, http.MethodPost, cfg, tok, map[string]any{"events_requested": []string{evSessionRevoked, "https://example.com/unknown"},
		"description": "conformance"})
	want(t, "create", r, 201)
	id := r.str("stream_id")
	aud, _ := r.body["aud"].([]any)
	if id == "" || r.str("iss") != tg.issuer || r.body["aud"] != ssfReceiver && !slices.Equal(aud, []any{ssfReceiver}) {
		t.Fatalf("created: %s", r.raw)
	}
	d, _ := r.body["delivery"].(map[string]any)
	if d["method"] != deliveryPoll || d["endpoint_url"] != tg.issuer+"/ssf/poll/"+id {
		t.Fatalf("a stream without delivery is polled at the transmitter's URL: %v", d)
	}
	if del, _ := r.body["events_delivered"].([]any); !slices.Equal(del, []any{evSessionRevoked}) {
		t.Errorf("events_delivered = %v", r.body["events_delivered"])
	}

	r = tg.api(t, http.MethodGet, cfg+"?stream_id="+id, tok, nil)
	want(t, "read", r, 200)
	if r.str("stream_id") != id || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("read: %s %v", r.raw, r.header)
	}
	all := tg.api(t, http.MethodGet, cfg, tok, nil)
	var list []map[string]any
	if json.Unmarshal(all.raw, &list) != nil || len(list) != 1 || list[0]["stream_id"] != id {
		t.Errorf("list: %s", all.raw)
	}
	want(t, "someone else's stream", tg.api(t, http.MethodGet, cfg+"?stream_id=nope", tok, nil), 404)

	r = tg.api(t, http.MethodPatch, cfg, tok, map[string]any{"stream_id": id, "events_requested": []string{evSessionRevoked, evCredential}})
	want(t, "update", r, 200)
	if r.str("description") != "conformance" || len(r.body["events_delivered"].([]any)) != 2 {
		t.Errorf("PATCH keeps what it does not name: %s", r.raw)
	}
	want(t, "update with a changed aud", tg.api(t, http.MethodPatch, cfg, tok, map[string]any{"stream_id": id, "aud": "someone"}), 400)
	r = tg.api(t, http.MethodPut, cfg, tok, map[string]any{"stream_id": id, "events_requested": []string{evCredential}})
	want(t, "replace", r, 200)
	if r.body["description"] != nil {
		t.Errorf("PUT clears what it does not name: %s", r.raw)
	}

	st := tg.issuer + "/ssf/status"
	r = tg.api(t, http.MethodGet, st+"?stream_id="+id, tok, nil)
	if r.status != 200 || r.str("status") != "enabled" || r.str("stream_id") != id {
		t.Errorf("status: %d %s", r.status, r.raw)
	}
	r = tg.api(t, http.MethodPost, st, tok, map[string]any{"stream_id": id, "status": "paused", "reason": "maintenance"})
	if r.status != 200 || r.str("status") != "paused" || r.str("reason") != "maintenance" {
		t.Errorf("pause: %d %s", r.status, r.raw)
	}
	want(t, "bad status", tg.api(t, http.MethodPost, st, tok, map[string]any{"stream_id": id, "status": "gone"}), 400)
	want(t, "enable", tg.api(t, http.MethodPost, st, tok, map[string]any{"stream_id": id, "status": "enabled"}), 200)

	subj := map[string]any{"format": "iss_sub", "iss": tg.issuer, "sub": "conf-other"}
	want(t, "remove subject", tg.api(t, http.MethodPost, tg.issuer+"/ssf/subjects:remove", tok, map[string]any{"stream_id": id, "subject": subj}), 204)
	want(t, "add subject", tg.api(t, http.MethodPost, tg.issuer+"/ssf/subjects:add", tok, map[string]any{"stream_id": id, "subject": subj, "verified": true}), 200)
	want(t, "add a subject to an unknown stream", tg.api(t, http.MethodPost, tg.issuer+"/ssf/subjects:add", tok, map[string]any{"stream_id": "nope", "subject": subj}), 404)

	r = tg.api(t, http.MethodPost, tg.issuer+"/ssf/verify", tok, map[string]any{"stream_id": id, "state": "conf-state"})
	if r.status != 204 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("verify: %d %v", r.status, r.header)
	}
	p := &poller{tg: tg, url: tg.issuer + "/ssf/poll/" + id, token: tok}
	v := p.wait(t, "verification", 1)[0]
	if v.uri != evVerification || v.event["state"] != "conf-state" || v.subID()["format"] != "opaque" || v.subID()["id"] != id {
		t.Errorf("verification SET: %v", v.claims)
	}

	r = tg.api(t, http.MethodDelete, cfg+"?stream_id="+id, tok, nil)
	if r.status != 204 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("delete: %d %v", r.status, r.header)
	}
	want(t, "read a deleted stream", tg.api(t, http.MethodGet, cfg+"?stream_id="+id, tok, nil), 404)
	want(t, "poll a deleted stream", tg.api(t, http.MethodPost, p.url, tok, map[string]any{"returnImmediately": true}), 404)
}

// TestSSF_Events: every change Vigil reports reaches a polled stream as
// a signed SET about the right subject (CAEP 1.0).
func TestSSF_Events(t *testing.T) {
	tg := newSSFTarget(t)
	clk := tg.needClock(t)
	tok := tg.cc(t, ssfReceiver, "scope", "ssf:manage").str("access_token")
	// Risk levels move with ordinary use too, so they have a stream of
	// their own; the other stream's events are counted exactly.
	r := tg.api(t, http.MethodPost, tg.issuer+"/ssf/streams", tok, map[string]any{
		"events_requested": []string{evSessionRevoked, evCredential, evClaims, evAssurance}})
	want(t, "create", r, 201)
	p := &poller{tg: tg, url: tg.issuer + "/ssf/poll/" + r.str("stream_id"), token: tok}
	r = tg.api(t, http.MethodPost, tg.issuer+"/ssf/streams", tok, map[string]any{"events_requested": []string{evRiskLevel}})
	want(t, "create", r, 201)
	levels := &poller{tg: tg, url: tg.issuer + "/ssf/poll/" + r.str("stream_id"), token: tok}

	t.Run("session-revoked by an admin", func(t *testing.T) {
		_, sid := tg.openSession(t)
		want(t, "terminate", tg.admin(t, http.MethodPost, "/admin/sessions/"+sid+"/terminate", map[string]any{"reason": "compromised"}), 200)
		s := p.wait(t, "termination", 1)[0]
		wantSessionEvent(t, tg, s, evSessionRevoked, sid, "conf-agent")
		if s.event["initiating_entity"] != "admin" {
			t.Errorf("event = %v", s.event)
		}
	})
	var reusedSID string
	t.Run("session-revoked by refresh token reuse", func(t *testing.T) {
		first := tg.cc(t, "conf-agent")
		sid := tg.introspect(t, "conf-rs1", first.str("access_token")).str("sid")
		reusedSID = sid
		want(t, "refresh", tg.post(t, pathToken, form("grant_type", "refresh_token", "refresh_token", first.str("refresh_token")), tg.as("conf-agent")), 200)
		clk.Advance(time.Minute)
		want(t, "reuse", tg.post(t, pathToken, form("grant_type", "refresh_token", "refresh_token", first.str("refresh_token")), tg.as("conf-agent")), 400)
		s := p.wait(t, "reuse", 1)[0]
		wantSessionEvent(t, tg, s, evSessionRevoked, sid, "conf-agent")
		if s.event["initiating_entity"] != "policy" {
			t.Errorf("event = %v", s.event)
		}
	})
	t.Run("session-revoked when the client revokes its last tokens", func(t *testing.T) {
		first := tg.cc(t, "conf-agent")
		sid := tg.introspect(t, "conf-rs1", first.str("access_token")).str("sid")
		want(t, "revoke", tg.post(t, pathRevoke, form("token", first.str("refresh_token")), tg.as("conf-agent")), 200)
		s := p.wait(t, "revocation", 1)[0]
		wantSessionEvent(t, tg, s, evSessionRevoked, sid, "conf-agent")
		if s.event["initiating_entity"] != "user" {
			t.Errorf("event = %v", s.event)
		}
	})
	t.Run("credential-change on a new secret", func(t *testing.T) {
		want(t, "rotate", tg.admin(t, http.MethodPost, "/admin/clients/conf-other/secret", nil), 200)
		s := p.wait(t, "rotation", 1)[0]
		wantClientEvent(t, tg, s, evCredential, "conf-other")
		if s.event["credential_type"] != "password" || s.event["change_type"] != "update" {
			t.Errorf("event = %v", s.event)
		}
	})
	t.Run("token-claims-change when a client's scopes change", func(t *testing.T) {
		c := tg.admin(t, http.MethodGet, "/admin/clients/conf-other", nil)
		want(t, "get client", c, 200)
		c.body["scopes"] = []string{"tickets.read", "kb.read"}
		want(t, "replace client", tg.admin(t, http.MethodPut, "/admin/clients/conf-other", c.body), 200)
		s := p.wait(t, "scope change", 1)[0]
		wantClientEvent(t, tg, s, evClaims, "conf-other")
		claims, _ := s.event["claims"].(map[string]any)
		if claims["scope"] != "tickets.read kb.read" {
			t.Errorf("event = %v", s.event)
		}
	})
	t.Run("risk-level-change of a session and of its client", func(t *testing.T) {
		// Everything so far moved levels: the reused refresh token's session
		// went to HIGH (a hard fact), and conf-agent's many new sessions to
		// MEDIUM and back, and with them the client's highest level.
		var session, client bool
		valid := []any{"LOW", "MEDIUM", "HIGH"}
		// The level changes are queued a moment after the calls that made them.
		var got []set
		seen := func(p func(set) bool) bool { return slices.ContainsFunc(got, p) }
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			got = append(got, levels.next(t)...)
			if seen(func(s set) bool { return s.member("session")["id"] == reusedSID }) &&
				seen(func(s set) bool { return s.event["principal"] == "USER" }) {
				break
			}
		}
		for _, s := range got {
			if s.uri != evRiskLevel || !slices.Contains(valid, s.event["current_level"]) ||
				!slices.Contains(valid, s.event["previous_level"]) || s.event["current_level"] == s.event["previous_level"] ||
				s.event["risk_reason"] == nil {
				t.Fatalf("risk-level-change stream: %s %v", s.uri, s.event)
			}
			switch s.event["principal"] {
			case "SESSION":
				wantSessionEvent(t, tg, s, evRiskLevel, s.member("session")["id"].(string), s.member("user")["sub"].(string))
				session = session || s.member("session")["id"] == reusedSID && s.event["current_level"] == "HIGH" &&
					strings.Contains(s.event["risk_reason"].(string), "cred.refresh_reuse")
			case "USER":
				wantClientEvent(t, tg, s, evRiskLevel, "conf-agent")
				client = true
			default:
				t.Fatalf("principal %v", s.event["principal"])
			}
		}
		if !session || !client {
			t.Fatalf("risk-level-change: the reused session's HIGH %v, a client's level %v", session, client)
		}
	})
	t.Run("assurance-level-change after a revalidation", func(t *testing.T) {
		f := withAssertion(form("grant_type", "client_credentials", "scope", "tickets.read"), tg.assertion(t, "conf-pkjwt", nil))
		at := tg.post(t, pathToken, f)
		want(t, "private_key_jwt token", at, 200)
		sid := tg.introspect(t, "conf-rs1", at.str("access_token")).str("sid")
		rv := withAssertion(form("token", at.str("access_token")), tg.assertion(t, "conf-pkjwt", nil))
		want(t, "revalidate", tg.post(t, "/oauth2/revalidate", rv), 200)
		s := p.wait(t, "revalidation", 1)[0]
		wantSessionEvent(t, tg, s, evAssurance, sid, "conf-pkjwt")
		if s.event["namespace"] != "RFC8176" || s.event["current_level"] != "hwk" || s.event["change_direction"] != "increase" {
			t.Errorf("event = %v", s.event)
		}
	})
	t.Run("credential-change on new keys", func(t *testing.T) {
		c := tg.admin(t, http.MethodGet, "/admin/clients/conf-pkjwt", nil)
		want(t, "get client", c, 200)
		jwks, _ := c.body["jwks"].(map[string]any)
		ks, _ := jwks["keys"].([]any)
		if len(ks) == 0 {
			t.Fatalf("conf-pkjwt has no jwks: %s", c.raw)
		}
		ks[0].(map[string]any)["kid"] = "rotated-" + randomID()
		want(t, "replace client", tg.admin(t, http.MethodPut, "/admin/clients/conf-pkjwt", c.body), 200)
		s := p.wait(t, "key change", 1)[0]
		wantClientEvent(t, tg, s, evCredential, "conf-pkjwt")
		if s.event["credential_type"] != "jwk" || s.event["change_type"] != "update" {
			t.Errorf("event = %v", s.event)
		}
	})
}

// TestSSF_Receiver: SETs a trusted issuer pushes (RFC 8935) reach the
// sessions it opened; malformed, wrongly signed, expired, replayed or
// misaddressed ones are refused with RFC 8935's error and change nothing.
func TestSSF_Receiver(t *testing.T) {
	tg := newSSFTarget(t)
	idp := loadSigner(t, "issuer")
	exchange := func(sub string) (string, string) {
		now := tg.now()
		subject := idp.sign(t, nil, map[string]any{"iss": workloadIss, "sub": sub, "aud": "vigil",
			"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()})
		f := withAssertion(form("grant_type", grantExchange, "subject_token", subject, "subject_token_type", typeJWT,
			"audience", "https://rs1.example"), tg.assertion(t, "conf-pkjwt", nil))
		r := tg.post(t, pathToken, f)
		want(t, "exchange", r, 200)
		return r.str("access_token"), tg.introspect(t, "conf-rs1", r.str("access_token")).str("sid")
	}
	builder, sid := exchange("system:serviceaccount:ci:builder")
	deployer, _ := exchange("system:serviceaccount:ci:deployer")
	mk := func(uri string, subject any, over map[string]any) map[string]any {
		c := map[string]any{"iss": workloadIss, "aud": tg.issuer, "iat": tg.now().Unix(), "jti": randomID(),
			"sub_id": subject, "events": map[string]any{uri: map[string]any{"event_timestamp": tg.now().Unix()}}}
		for k, v := range over {
			c[k] = v
		}
		return c
	}
	session := map[string]any{"format": "complex", "session": map[string]any{"format": "opaque", "id": sid}}
	push := func(body, contentType string) result {
		req, _ := http.NewRequest(http.MethodPost, tg.url+pathSSFEvents, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		return tg.do(t, req)
	}
	active := func(at string) bool { return tg.introspect(t, "conf-rs1", at).body["active"] == true }
	store := tg.needStore(t)
	facts := func() int { s, _ := store.GetSession(t.Context(), sid); return len(s.Facts) }
	before := facts()

	replayed := idp.sign(t, map[string]any{"typ": "secevent+jwt"}, mk(evRiskLevel, session, map[string]any{
		"events": map[string]any{evRiskLevel: map[string]any{"current_level": "LOW", "principal": "SESSION"}}}))
	want(t, "a low risk level", push(replayed, "application/secevent+jwt"), 202)
	before = facts()

	refused := []struct {
		name, body, contentType, err string
	}{
		{"malformed", "not-a-set", "application/secevent+jwt", "invalid_request"},
		{"wrong content type", idp.sign(t, map[string]any{"typ": "secevent+jwt"}, mk(evSessionRevoked, session, nil)), "application/json", "invalid_request"},
		{"wrongly signed", loadSigner(t, "client").sign(t, map[string]any{"typ": "secevent+jwt", "kid": idp.kid}, mk(evSessionRevoked, session, nil)), "application/secevent+jwt", "invalid_key"},
		{"expired", idp.sign(t, map[string]any{"typ": "secevent+jwt"}, mk(evSessionRevoked, session, map[string]any{"iat": tg.now().Add(-2 * time.Hour).Unix()})), "application/secevent+jwt", "invalid_request"},
		{"replayed", replayed, "application/secevent+jwt", "invalid_request"},
		{"not a SET (typ JWT)", idp.sign(t, map[string]any{"typ": "JWT"}, mk(evSessionRevoked, session, nil)), "application/secevent+jwt", "invalid_request"},
		{"untrusted issuer", idp.sign(t, map[string]any{"typ": "secevent+jwt"}, mk(evSessionRevoked, session, map[string]any{"iss": "https://evil.example"})), "application/secevent+jwt", "invalid_issuer"},
		{"wrong audience", idp.sign(t, map[string]any{"typ": "secevent+jwt"}, mk(evSessionRevoked, session, map[string]any{"aud": "https://other.example"})), "application/secevent+jwt", "invalid_audience"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			r := push(tt.body, tt.contentType)
			if r.status != 400 || r.str("err") != tt.err || r.str("description") == "" {
				t.Fatalf("%d %s, want 400 err %s", r.status, r.raw, tt.err)
			}
			if !active(builder) || facts() != before {
				t.Fatal("a refused SET changed the session")
			}
		})
	}

	// RISC account-disabled about the deployer (iss_sub of the issuer, a
	// prefix-mapped subject): its session ends, the builder's does not.
	disabled := idp.sign(t, map[string]any{"typ": "secevent+jwt"}, mk(evAccountDisabled,
		map[string]any{"format": "iss_sub", "iss": workloadIss, "sub": "system:serviceaccount:ci:deployer"}, nil))
	want(t, "account-disabled", push(disabled, "application/secevent+jwt"), 202)
	if active(deployer) || !active(builder) {
		t.Fatalf("account-disabled: deployer active %v, builder active %v", active(deployer), active(builder))
	}
	// CAEP session-revoked of the builder's session.
	revoked := idp.sign(t, map[string]any{"typ": "secevent+jwt"}, mk(evSessionRevoked, session, nil))
	want(t, "session-revoked", push(revoked, "application/secevent+jwt"), 202)
	if active(builder) {
		t.Fatal("session-revoked left the session active")
	}
	if r := push(revoked, "application/secevent+jwt"); r.status != 400 || r.str("err") != "invalid_request" {
		t.Errorf("replayed session-revoked: %d %s", r.status, r.raw)
	}
}

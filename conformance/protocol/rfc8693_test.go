package protocol

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// exchange runs a token exchange as client caller with the given parameters.
func (tg *target) exchange(t *testing.T, caller string, kv ...string) result {
	t.Helper()
	return tg.post(t, pathToken, form(append([]string{"grant_type", grantExchange}, kv...)...), tg.as(caller))
}

func TestRFC8693_2_2_1_Response(t *testing.T) {
	tg := newTarget(t)
	sess := tg.cc(t, "conf-agent").str("access_token")
	r := tg.exchange(t, "conf-agent", "subject_token", sess, "subject_token_type", typeAccess,
		"audience", "https://rs1.example", "scope", "tickets.read")
	if r.status != 200 {
		t.Fatalf("exchange: %d %s", r.status, r.raw)
	}
	if r.str("issued_token_type") != typeAccess || !strings.EqualFold(r.str("token_type"), "Bearer") || r.body["expires_in"] == nil {
		t.Fatalf("response: %s", r.raw)
	}
	if r.str("refresh_token") != "" {
		t.Fatal("per-call exchanged token came with a refresh token")
	}
	if exp := r.body["expires_in"].(float64); exp > 300 {
		t.Fatalf("per-call token lives %vs, want <= 300", exp)
	}
	in := tg.introspect(t, "conf-rs1", r.str("access_token"))
	if in.body["active"] != true || in.str("aud") != "https://rs1.example" || in.str("scope") != "tickets.read" {
		t.Fatalf("introspection: %s", in.raw)
	}
	orig := tg.introspect(t, "conf-rs1", sess)
	if in.str("sid") == "" || in.str("sid") != orig.str("sid") {
		t.Fatalf("exchanged token left the session: %q vs %q", in.str("sid"), orig.str("sid"))
	}
}

// SECURITY.md #17: exchange needs client authentication.
func TestRFC8693_2_1_ClientAuthRequired(t *testing.T) {
	tg := newTarget(t)
	sess := tg.cc(t, "conf-agent").str("access_token")
	r := tg.post(t, pathToken, form("grant_type", grantExchange, "subject_token", sess, "subject_token_type", typeAccess))
	wantError(t, r, 401, "invalid_client")
}

// SECURITY.md #21-#26: the parameter and type rules of §2.1.
func TestRFC8693_2_1_Parameters(t *testing.T) {
	tg := newTarget(t)
	first := tg.cc(t, "conf-agent")
	sess, rt := first.str("access_token"), first.str("refresh_token")
	actor := tg.cc(t, "conf-actor").str("access_token")
	tests := []struct {
		name string
		kv   []string
		code string
	}{
		{"no subject_token", []string{"subject_token_type", typeAccess}, "invalid_request"},
		{"no subject_token_type", []string{"subject_token", sess}, "invalid_request"},
		{"actor_token without type", []string{"subject_token", sess, "subject_token_type", typeAccess, "actor_token", actor}, "invalid_request"},
		{"actor_token_type without token", []string{"subject_token", sess, "subject_token_type", typeAccess, "actor_token_type", typeAccess}, "invalid_request"},
		{"refresh token as subject", []string{"subject_token", rt, "subject_token_type", typeRefresh}, "invalid_request"},
		{"refresh token declared access", []string{"subject_token", rt, "subject_token_type", typeAccess}, "invalid_request"},
		{"access token declared jwt", []string{"subject_token", sess, "subject_token_type", typeJWT}, "invalid_request"},
		{"access token declared id_token", []string{"subject_token", sess, "subject_token_type", typeIDToken}, "invalid_request"},
		{"unknown subject", []string{"subject_token", "vgl_at_nope", "subject_token_type", typeAccess}, "invalid_request"},
		{"requested refresh token", []string{"subject_token", sess, "subject_token_type", typeAccess, "requested_token_type", typeRefresh}, "invalid_request"},
		{"requested id token", []string{"subject_token", sess, "subject_token_type", typeAccess, "requested_token_type", typeIDToken}, "invalid_request"},
		{"repeated subject_token", []string{"subject_token", sess, "subject_token", sess, "subject_token_type", typeAccess}, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, tg.exchange(t, "conf-agent", tt.kv...), 400, tt.code)
		})
	}
}

// SECURITY.md #19, #20: only narrowing.
func TestRFC8693_2_2_2_NarrowingOnly(t *testing.T) {
	tg := newTarget(t)
	sess := tg.cc(t, "conf-agent", "scope", "tickets.read").str("access_token")
	wantError(t, tg.exchange(t, "conf-agent", "subject_token", sess, "subject_token_type", typeAccess,
		"scope", "tickets.write"), 400, "invalid_scope")
	wantError(t, tg.exchange(t, "conf-agent", "subject_token", sess, "subject_token_type", typeAccess,
		"audience", "https://admin.example"), 400, "invalid_target")
	wantError(t, tg.exchange(t, "conf-agent", "subject_token", sess, "subject_token_type", typeAccess,
		"resource", "https://internal-admin.example/"), 400, "invalid_target")
}

// The issued token never outlives its subject.
func TestRFC8693_2_2_1_LifetimeBoundBySubject(t *testing.T) {
	tg := newTarget(t)
	clk := tg.needClock(t)
	sess := tg.cc(t, "conf-agent").str("access_token")
	ttl := tg.introspect(t, "conf-rs1", sess).body["exp"].(float64) - float64(clk.Now().Unix())
	clk.Advance(time.Duration(ttl-60) * time.Second)
	r := tg.exchange(t, "conf-agent", "subject_token", sess, "subject_token_type", typeAccess, "audience", "https://rs1.example")
	if r.status != 200 || r.body["expires_in"].(float64) > 60 {
		t.Fatalf("exchange near subject expiry: %d %s", r.status, r.raw)
	}
}

// SECURITY.md #34: a delegation: act names the actor, no may_act, same session.
func TestRFC8693_4_1_Delegation(t *testing.T) {
	tg := newTarget(t)
	sess := tg.cc(t, "conf-agent").str("access_token")
	actor := tg.cc(t, "conf-actor").str("access_token")
	r := tg.exchange(t, "conf-actor", "subject_token", sess, "subject_token_type", typeAccess,
		"actor_token", actor, "actor_token_type", typeAccess, "audience", "https://rs1.example", "scope", "tickets.read")
	if r.status != 200 {
		t.Fatalf("delegation: %d %s", r.status, r.raw)
	}
	in := tg.introspect(t, "conf-rs1", r.str("access_token"))
	act, _ := in.body["act"].(map[string]any)
	if in.str("sub") != "conf-agent" || act["sub"] != "conf-actor" || in.body["may_act"] != nil {
		t.Fatalf("introspection: %s", in.raw)
	}
	if d, _ := in.body["chain_depth"].(float64); d != 1 {
		t.Fatalf("chain_depth = %v", in.body["chain_depth"])
	}
	// A second hop nests the chain, current actor outermost.
	actor2 := tg.cc(t, "conf-actor2").str("access_token")
	r2 := tg.exchange(t, "conf-actor2", "subject_token", r.str("access_token"), "subject_token_type", typeAccess,
		"actor_token", actor2, "actor_token_type", typeAccess, "audience", "https://rs1.example")
	if r2.status != 200 {
		// conf-agent's registration names only conf-actor: the second hop must be refused.
		wantError(t, r2, 400, "invalid_request")
	}
}

// SECURITY.md #18, #27, #29, #31, #35, #36: delegation rules.
func TestRFC8693_4_4_DelegationRules(t *testing.T) {
	tg := newTarget(t)
	sess := tg.cc(t, "conf-agent").str("access_token")
	actorOwn := tg.cc(t, "conf-actor").str("access_token")
	otherTok := tg.cc(t, "conf-other").str("access_token")
	delegated := tg.exchange(t, "conf-actor", "subject_token", sess, "subject_token_type", typeAccess,
		"actor_token", actorOwn, "actor_token_type", typeAccess).str("access_token")
	// The current actor may narrow its delegated token again; the chain stays.
	r := tg.exchange(t, "conf-actor", "subject_token", delegated, "subject_token_type", typeAccess, "scope", "kb.read")
	if r.status != 200 {
		t.Fatalf("re-narrowing by the current actor: %d %s", r.status, r.raw)
	}
	in := tg.introspect(t, "conf-rs1", r.str("access_token"))
	if act, _ := in.body["act"].(map[string]any); act["sub"] != "conf-actor" {
		t.Fatalf("chain lost: %s", in.raw)
	}
	// Refusals are session-level facts: enough of them end the session, so
	// they run last.
	tests := []struct {
		name, caller string
		kv           []string
	}{
		{"actor not named in may_act", "conf-other", []string{"subject_token", sess, "subject_token_type", typeAccess,
			"actor_token", otherTok, "actor_token_type", typeAccess}},
		{"actor token of another client", "conf-other", []string{"subject_token", sess, "subject_token_type", typeAccess,
			"actor_token", actorOwn, "actor_token_type", typeAccess}},
		{"impersonation without permission", "conf-other", []string{"subject_token", sess, "subject_token_type", typeAccess}},
		{"chain cannot be dropped by another client", "conf-agent", []string{"subject_token", delegated, "subject_token_type", typeAccess}},
		{"actor repeats (subject acts for itself)", "conf-agent", []string{"subject_token", delegated, "subject_token_type", typeAccess,
			"actor_token", tg.cc(t, "conf-agent").str("access_token"), "actor_token_type", typeAccess}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tg.exchange(t, tt.caller, tt.kv...)
			if r.status == 200 {
				t.Fatalf("accepted: %s", r.raw)
			}
			if code := r.str("error"); code != "invalid_request" && code != "invalid_target" && code != "access_denied" {
				t.Fatalf("error %s", r.raw)
			}
		})
	}
}

// SECURITY.md #38: revoking a token revokes everything derived from it.
func TestRFC8693_2_1_RevocationCascades(t *testing.T) {
	tg := newTarget(t)
	sess := tg.cc(t, "conf-agent").str("access_token")
	hop1 := tg.exchange(t, "conf-agent", "subject_token", sess, "subject_token_type", typeAccess).str("access_token")
	hop2 := tg.exchange(t, "conf-agent", "subject_token", hop1, "subject_token_type", typeAccess, "audience", "https://rs1.example").str("access_token")
	if r := tg.post(t, pathRevoke, form("token", sess), tg.as("conf-agent")); r.status != 200 {
		t.Fatalf("revoke: %d", r.status)
	}
	for _, tok := range []string{sess, hop1, hop2} {
		wantInactive(t, tg.introspect(t, "conf-rs1", tok))
	}
}

func TestRFC8693_2_2_1_TransactionToken(t *testing.T) {
	tg := newTarget(t)
	sess := tg.cc(t, "conf-agent").str("access_token")
	r := tg.exchange(t, "conf-agent", "subject_token", sess, "subject_token_type", typeAccess,
		"requested_token_type", typeTxn, "audience", "https://rs1.example", "scope", "tickets.read", "tool", "tickets.get")
	if r.status != 200 || r.str("issued_token_type") != typeTxn || r.str("token_type") != "N_A" || r.str("refresh_token") != "" {
		t.Fatalf("txn token: %d %s", r.status, r.raw)
	}
	hdr, claims := splitJWT(t, r.str("access_token"))
	if hdr["typ"] != "txntoken+jwt" {
		t.Fatalf("typ = %v", hdr["typ"])
	}
	for _, k := range []string{"txn", "sub", "scope", "aud", "iat", "exp"} {
		if claims[k] == nil {
			t.Errorf("txn token lacks %q: %v", k, claims)
		}
	}
	verifyWithJWKS(t, tg, r.str("access_token"))
}

func TestRFC8693_2_1_JWTRequested(t *testing.T) {
	tg := newTarget(t)
	sess := tg.cc(t, "conf-agent").str("access_token")
	r := tg.exchange(t, "conf-agent", "subject_token", sess, "subject_token_type", typeAccess,
		"requested_token_type", typeJWT, "audience", "https://rs1.example")
	if r.status != 200 || r.str("issued_token_type") != typeJWT {
		t.Fatalf("jwt: %d %s", r.status, r.raw)
	}
	if hdr, _ := splitJWT(t, r.str("access_token")); hdr["typ"] != "at+jwt" {
		t.Fatalf("typ = %v", hdr["typ"])
	}
}

// A federated workload exchanges a trusted issuer's JWT and opens a session.
func TestRFC8693_2_1_ExternalSubject(t *testing.T) {
	tg := newTarget(t)
	now := tg.now()
	iss := loadSigner(t, "issuer")
	good := map[string]any{"iss": "https://workload-issuer.example", "sub": "system:serviceaccount:ci:builder",
		"aud": "vigil", "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	mk := func(over map[string]any) string {
		c := map[string]any{}
		for k, v := range good {
			c[k] = v
		}
		for k, v := range over {
			c[k] = v
		}
		return iss.sign(t, nil, c)
	}
	ex := func(subject string) result {
		f := withAssertion(form("grant_type", grantExchange, "subject_token", subject, "subject_token_type", typeJWT,
			"audience", "https://rs1.example"), tg.assertion(t, "conf-pkjwt", nil))
		return tg.post(t, pathToken, f)
	}
	r := ex(mk(nil))
	if r.status != 200 {
		t.Fatalf("external subject: %d %s", r.status, r.raw)
	}
	in := tg.introspect(t, "conf-rs1", r.str("access_token"))
	if in.str("sub") != "system:serviceaccount:ci:builder" || in.str("scope") != "tickets.read" || in.str("sid") == "" {
		t.Fatalf("introspection: %s", in.raw)
	}
	// SECURITY.md #24: expired, foreign-signed, wrong audience, unmapped subject.
	for name, tok := range map[string]string{
		"expired":          mk(map[string]any{"exp": now.Add(-time.Hour).Unix()}),
		"wrong audience":   mk(map[string]any{"aud": "someone-else"}),
		"unmapped subject": mk(map[string]any{"sub": "system:serviceaccount:prod:x"}),
		"untrusted issuer": mk(map[string]any{"iss": "https://staging-issuer.example"}),
		"foreign key":      loadSigner(t, "client").sign(t, map[string]any{"kid": "conf-1"}, good),
	} {
		t.Run(name, func(t *testing.T) { wantError(t, ex(tok), 400, "invalid_request") })
	}
}

func TestRFC8414_3_ExchangeAdvertised(t *testing.T) {
	tg := newTarget(t)
	var grants []string
	for _, g := range tg.get(t, pathMetadata).body["grant_types_supported"].([]any) {
		grants = append(grants, g.(string))
	}
	if !slices.Contains(grants, grantExchange) {
		t.Fatalf("grant_types_supported = %v", grants)
	}
}

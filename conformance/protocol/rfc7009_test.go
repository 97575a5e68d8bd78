package protocol

import "testing"

func TestRFC7009_2_1_RevokeAccessToken(t *testing.T) {
	tg := newTarget(t)
	at := tg.cc(t, "conf-agent").str("access_token")
	r := tg.post(t, pathRevoke, form("token", at, "token_type_hint", "access_token"), tg.as("conf-agent"))
	if r.status != 200 || len(r.raw) != 0 {
		t.Fatalf("revoke: %d %q", r.status, r.raw)
	}
	wantInactive(t, tg.introspect(t, "conf-rs1", at))
}

// SECURITY.md #61: revoking a refresh token revokes the access tokens of its grant.
func TestRFC7009_2_1_RevokeRefreshRevokesGrant(t *testing.T) {
	tg := newTarget(t)
	first := tg.cc(t, "conf-agent")
	second := tg.post(t, pathToken, form("grant_type", "refresh_token", "refresh_token", first.str("refresh_token")), tg.as("conf-agent"))
	// SECURITY.md #60: a wrong hint does not stop the revocation.
	if r := tg.post(t, pathRevoke, form("token", second.str("refresh_token"), "token_type_hint", "access_token"), tg.as("conf-agent")); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	for _, tok := range []string{first.str("access_token"), second.str("access_token")} {
		wantInactive(t, tg.introspect(t, "conf-rs1", tok))
	}
	wantError(t, tg.post(t, pathToken, form("grant_type", "refresh_token", "refresh_token", second.str("refresh_token")), tg.as("conf-agent")), 400, "invalid_grant")
}

// SECURITY.md #57: another client's token is refused and stays active.
func TestRFC7009_2_1_OnlyOwnerRevokes(t *testing.T) {
	tg := newTarget(t)
	at := tg.cc(t, "conf-agent").str("access_token")
	wantError(t, tg.post(t, pathRevoke, form("token", at), tg.as("conf-other")), 400, "unauthorized_client")
	if r := tg.introspect(t, "conf-rs1", at); r.body["active"] != true {
		t.Fatalf("token revoked by another client: %s", r.raw)
	}
}

// SECURITY.md #58: unknown, garbage and already revoked tokens answer 200.
func TestRFC7009_2_2_UnknownTokenIsOK(t *testing.T) {
	tg := newTarget(t)
	at := tg.cc(t, "conf-agent").str("access_token")
	for _, tok := range []string{"nonsense", randomID(), at, at} {
		if r := tg.post(t, pathRevoke, form("token", tok, "token_type_hint", "weird"), tg.as("conf-agent")); r.status != 200 {
			t.Fatalf("revoke %q: %d %s", tok, r.status, r.raw)
		}
	}
}

func TestRFC7009_2_1_RequiresAuthentication(t *testing.T) {
	tg := newTarget(t)
	at := tg.cc(t, "conf-agent").str("access_token")
	wantError(t, tg.post(t, pathRevoke, form("token", at)), 401, "invalid_client")
	wantError(t, tg.post(t, pathRevoke, form(), tg.as("conf-agent")), 400, "invalid_request")
}

package protocol

import (
	"crypto/sha256"
	"net/http"
	"testing"
)

// Vigil extension: an administrator revokes one token by its id (the
// base64url SHA-256 of its value); the rest of the session goes on.
func TestAdminRevokeOneToken(t *testing.T) {
	tg := newTarget(t)
	first := tg.cc(t, "conf-agent")
	at, rt := first.str("access_token"), first.str("refresh_token")
	if rt == "" {
		t.Fatalf("conf-agent got no refresh token: %s", first.raw)
	}
	sum := sha256.Sum256([]byte(at))
	if r := tg.admin(t, http.MethodPost, "/admin/tokens/"+b64(sum[:])+"/revoke", nil); r.status != 200 {
		t.Fatalf("revoke by id: %d %s", r.status, r.raw)
	}
	wantInactive(t, tg.introspect(t, "conf-rs1", at))
	next := tg.post(t, pathToken, form("grant_type", "refresh_token", "refresh_token", rt), tg.as("conf-agent"))
	if next.status != 200 {
		t.Fatalf("refresh after one access token was revoked: %d %s", next.status, next.raw)
	}
	if r := tg.admin(t, http.MethodPost, "/admin/tokens/"+randomID()+"/revoke", nil); r.status != 404 {
		t.Fatalf("unknown token id: %d %s", r.status, r.raw)
	}
}

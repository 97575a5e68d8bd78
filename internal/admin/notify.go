package admin

import (
	"bytes"
	"context"
	"slices"
	"strings"

	"github.com/vigil-auth/vigil/storage"
)

// Notifier queues the security events of a client's registration changes
// for Shared Signals receivers, inside the transaction that makes the
// change. ssf.Transmitter implements it.
type Notifier interface {
	// CredentialChanged reports a change of the client's credential (CAEP
	// credential-change).
	CredentialChanged(ctx context.Context, w storage.Writer, clientID, credType, changeType string) error
	// TokenClaimsChanged reports new values of claims the client's tokens
	// carry (CAEP token-claims-change).
	TokenClaimsChanged(ctx context.Context, w storage.Writer, clientID string, claims map[string]any) error
}

// notifySecret reports a new client secret. CAEP names a shared secret's
// credential_type "password".
func (a *API) notifySecret(ctx context.Context, w storage.Writer, id string) error {
	if a.d.Notify == nil {
		return nil
	}
	return a.d.Notify.CredentialChanged(ctx, w, id, "password", "update")
}

// notifyReplaced reports what a replacement of prev by c changed: the
// secret, and the scope and audiences its tokens may carry.
func (a *API) notifyReplaced(ctx context.Context, w storage.Writer, prev, c storage.Client) error {
	if a.d.Notify == nil {
		return nil
	}
	if c.SecretHash != "" && c.SecretHash != prev.SecretHash {
		if err := a.notifySecret(ctx, w, c.ID); err != nil {
			return err
		}
	}
	if change := keyChange(prev, c); change != "" {
		// A public key set for private_key_jwt: CAEP's list has no such
		// credential_type, so Vigil names it "jwk".
		if err := a.d.Notify.CredentialChanged(ctx, w, c.ID, "jwk", change); err != nil {
			return err
		}
	}
	if slices.Equal(prev.Scopes, c.Scopes) && slices.Equal(prev.Audiences, c.Audiences) {
		return nil
	}
	return a.d.Notify.TokenClaimsChanged(ctx, w, c.ID, map[string]any{
		"scope": strings.Join(c.Scopes, " "), "aud": append([]string{}, c.Audiences...)})
}

// keyChange is the CAEP change_type of the client's public keys between
// prev and c (create, update, delete), or "" when they did not change.
func keyChange(prev, c storage.Client) string {
	switch had, has := usesKeys(prev), usesKeys(c); {
	case !had && has:
		return "create"
	case had && !has:
		return "delete"
	case had && (!bytes.Equal(prev.JWKS, c.JWKS) || prev.JWKSURI != c.JWKSURI):
		return "update"
	}
	return ""
}

package introspect

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/vigil-auth/vigil/storage"
)

// tokenJTI is the jti introspection reports for tok, presented as raw
// (RFC 7662 §2.2). A JWT or transaction token answers with its own jti
// claim, so a resource server that keys replay or deny lists on jti sees
// one identifier per token. An opaque token has no claims: it answers with
// a stable identifier derived from the storage key under a label of its own,
// which names the token without revealing the key it is stored under.
func tokenJTI(raw string, tok storage.Token) string {
	if tok.Format != "opaque" {
		if jti := jwtID(raw); jti != "" {
			return jti
		}
	}
	sum := sha256.Sum256([]byte("vigil introspection jti\x00" + tok.ID))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// jwtID reads the jti claim of a compact JWS. raw has already been matched
// to a stored token by its hash, so it is a token Vigil signed; the claim is
// read, not verified.
func jwtID(raw string) string {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var cl struct {
		JTI string `json:"jti"`
	}
	if json.Unmarshal(payload, &cl) != nil {
		return ""
	}
	return cl.JTI
}

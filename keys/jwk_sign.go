package keys

import (
	"encoding/json"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// SignWithJWK signs claims as a compact JWS with the private key in jwkJSON
// (a JWK with its private members; its alg and kid go into the header), with
// header typ when non-empty. It serves tools and tests that play another
// party, such as a workload's identity provider; Vigil's own tokens are
// signed by [Manager.Sign].
func SignWithJWK(jwkJSON []byte, typ string, claims any) (string, error) {
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(jwkJSON); err != nil {
		return "", fmt.Errorf("keys: parse JWK: %w", err)
	}
	if k.IsPublic() || k.Algorithm == "" {
		return "", errors.New("keys: the JWK must be a private key with an alg")
	}
	opts := (&jose.SignerOptions{}).WithHeader(jose.HeaderKey("kid"), k.KeyID)
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.Algorithm), Key: k.Key}, opts)
	if err != nil {
		return "", fmt.Errorf("keys: signer: %w", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("keys: encode claims: %w", err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("keys: sign: %w", err)
	}
	return obj.CompactSerialize()
}

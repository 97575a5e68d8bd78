package keys

import "context"

// CheckJWKS reports whether b is a JWK Set holding at least one usable
// public signing key, parsed exactly as client assertions are verified
// (strict JSON, private members refused, at most the usual number of keys).
func CheckJWKS(b []byte) error {
	_, err := parseKeySet(b)
	return err
}

// Check fetches the JWK Set at uri (or takes it from the cache) under the
// cache's size, timeout and refetch limits, and reports whether it holds a
// usable public signing key.
func (c *JWKSCache) Check(ctx context.Context, uri string) error {
	_, err := c.Get(ctx, uri)
	return err
}

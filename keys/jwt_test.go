package keys

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestVerifyRejects(t *testing.T) {
	m, _, clk := newTestManager(t, Config{})
	now := clk.Now()
	active := m.ring.Load().active
	kid := active.kid
	good := mustJSON(t, validClaims(now))
	hdr := map[string]any{"kid": kid, "typ": "at+jwt"}
	sign := func(alg string, key any, h map[string]any, payload []byte) string {
		return signJWS(t, alg, key, h, payload)
	}
	withHdr := func(extra map[string]any) map[string]any {
		h := map[string]any{"kid": kid, "typ": "at+jwt"}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	claims := func(mut func(*testClaims)) []byte {
		c := validClaims(now)
		mut(&c)
		return mustJSON(t, c)
	}
	valid := sign(ES256, active.signer, hdr, good)
	if err := m.Verify(valid, "at+jwt", nil); err != nil {
		t.Fatalf("hand-built token rejected: %v", err)
	}
	parts := strings.Split(valid, ".")
	tamperedSig := parts[0] + "." + parts[1] + "." + flipMiddle(parts[2])
	malleable := parts[0] + "." + parts[1] + "." + strayBits(parts[2])
	tamperedBody := parts[0] + "." + b64(claims(func(c *testClaims) { c.Subject = "admin" })) + "." + parts[2]
	other := newECKey(t)

	tests := []struct {
		name string
		raw  string
		want error
	}{
		{"alg none", sign("none", nil, hdr, good), nil},
		{"alg none no kid", sign("none", nil, map[string]any{"typ": "at+jwt"}, good), nil},
		{"HS256 with public JWK as secret", sign("HS256", m.JWKS(), hdr, good), nil},
		{"HS256 with public key JSON as secret", sign("HS256", m.ring.Load().published[0].jwkJSON(t), hdr, good), nil},
		{"ES384 alg", strings.Replace(valid, parts[0], b64(mustJSON(t, withHdr(map[string]any{"alg": "ES384"}))), 1), nil},
		{"wrong typ", sign(ES256, active.signer, withHdr(map[string]any{"typ": "dpop+jwt"}), good), nil},
		{"no typ", sign(ES256, active.signer, map[string]any{"kid": kid}, good), nil},
		{"typ not a string", sign(ES256, active.signer, withHdr(map[string]any{"typ": 7}), good), nil},
		{"unknown kid", sign(ES256, active.signer, withHdr(map[string]any{"kid": "nope"}), good), ErrUnknownKey},
		{"path kid", sign(ES256, active.signer, withHdr(map[string]any{"kid": "../../etc/passwd"}), good), ErrUnknownKey},
		{"no kid", sign(ES256, active.signer, map[string]any{"typ": "at+jwt"}, good), ErrUnknownKey},
		{"our kid, other key", sign(ES256, other, hdr, good), nil},
		{"tampered signature", tamperedSig, nil},
		{"tampered payload", tamperedBody, nil},
		{"stray bits in signature encoding", malleable, nil},
		{"oversized", sign(ES256, active.signer, withHdr(map[string]any{"pad": strings.Repeat("a", MaxTokenSize)}), good), nil},
		{"many dots", strings.Repeat(".", 100000), nil},
		{"empty", "", nil},
		{"crit header", sign(ES256, active.signer, withHdr(map[string]any{"crit": []string{"exp"}, "exp": 1}), good), nil},
		{"b64 false", sign(ES256, active.signer, withHdr(map[string]any{"b64": false, "crit": []string{"b64"}}), good), nil},
		{"expired", sign(ES256, active.signer, hdr, claims(func(c *testClaims) { c.Expiry = NewNumericDate(now.Add(-time.Minute)) })), ErrExpired},
		{"expired and bad signature", sign(ES256, other, hdr, claims(func(c *testClaims) { c.Expiry = NewNumericDate(now.Add(-time.Minute)) })), nil},
		{"nbf in future", sign(ES256, active.signer, hdr, claims(func(c *testClaims) { c.NotBefore = NewNumericDate(now.Add(time.Minute)) })), ErrNotYetValid},
		{"iat in future", sign(ES256, active.signer, hdr, claims(func(c *testClaims) { c.IssuedAt = NewNumericDate(now.Add(time.Hour)) })), ErrNotYetValid},
		{"no exp", sign(ES256, active.signer, hdr, claims(func(c *testClaims) { c.Expiry = nil })), ErrMissingExpiry},
		{"exp as string", sign(ES256, active.signer, hdr, []byte(`{"sub":"a","exp":"9999999999"}`)), nil},
		{"duplicate member", sign(ES256, active.signer, hdr, []byte(`{"sub":"a","sub":"admin","exp":9999999999}`)), nil},
		{"nested duplicate", sign(ES256, active.signer, hdr, []byte(`{"act":{"sub":"a","sub":"b"},"exp":9999999999}`)), nil},
		{"trailing garbage", sign(ES256, active.signer, hdr, []byte(`{"sub":"a","exp":9999999999}xyz`)), nil},
		{"payload not object", sign(ES256, active.signer, hdr, []byte(`[1,2]`)), nil},
		{"payload null", sign(ES256, active.signer, hdr, []byte(`null`)), nil},
		{"aud empty array", sign(ES256, active.signer, hdr, []byte(`{"aud":[],"exp":9999999999}`)), nil},
		{"aud empty string", sign(ES256, active.signer, hdr, []byte(`{"aud":[""],"exp":9999999999}`)), nil},
		{"aud number", sign(ES256, active.signer, hdr, []byte(`{"aud":123,"exp":9999999999}`)), nil},
		{"aud mixed", sign(ES256, active.signer, hdr, []byte(`{"aud":["api",{"x":1}],"exp":9999999999}`)), nil},
		{"sub number", sign(ES256, active.signer, hdr, []byte(`{"sub":1,"exp":9999999999}`)), nil},
		{"JWE PBES2 with huge p2c", b64([]byte(`{"alg":"PBES2-HS512+A256KW","p2c":2147483647,"p2s":"AAAA","enc":"A256GCM","kid":"`+kid+`"}`)) + ".AAAA.AAAA.AAAA.AAAA", nil},
		{"JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out testClaims
			err := m.Verify(tt.raw, "at+jwt", &out)
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify = %v, want ErrInvalidToken", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			if out.Subject != "" {
				t.Fatalf("claims decoded from a rejected token: %+v", out)
			}
		})
	}
}

// jwkJSON returns the key's public JWK as JSON.
func (k publicKey) jwkJSON(t *testing.T) []byte {
	b, err := k.jwk.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// flipMiddle changes a base64url character in the middle of s.
func flipMiddle(s string) string {
	i := len(s) / 2
	repl := byte('A')
	if s[i] == 'A' {
		repl = 'B'
	}
	return s[:i] + string(repl) + s[i+1:]
}

// strayBits sets the unused low bits of the last character of s, which a
// lenient decoder ignores.
func strayBits(s string) string {
	i := strings.IndexByte(b64Alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(b64Alphabet[i|1])
}

func TestVerifyLeeway(t *testing.T) {
	m, _, clk := newTestManager(t, Config{})
	c := validClaims(clk.Now())
	c.Expiry = NewNumericDate(clk.Now().Add(time.Minute))
	c.NotBefore = NewNumericDate(clk.Now().Add(5 * time.Second))
	raw, _ := m.Sign("at+jwt", c)
	if err := m.Verify(raw, "at+jwt", nil); err != nil {
		t.Fatalf("nbf within leeway: %v", err)
	}
	clk.Add(time.Minute + DefaultLeeway - time.Second)
	if err := m.Verify(raw, "at+jwt", nil); err != nil {
		t.Fatalf("exp within leeway: %v", err)
	}
	clk.Add(time.Second)
	if err := m.Verify(raw, "at+jwt", nil); !errors.Is(err, ErrExpired) {
		t.Fatalf("exp past leeway: %v", err)
	}
}

func TestAudienceJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{`"a"`, []string{"a"}, false},
		{`["a","b"]`, []string{"a", "b"}, false},
		{`[]`, nil, true},
		{`[""]`, nil, true},
		{`""`, nil, true},
		{`123`, nil, true},
		{`null`, nil, true},
		{`["a",1]`, nil, true},
		{`{"a":1}`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var a Audience
			err := a.UnmarshalJSON([]byte(tt.in))
			if (err != nil) != tt.wantErr || (err == nil && strings.Join(a, ",") != strings.Join(tt.want, ",")) {
				t.Fatalf("Unmarshal(%s) = %v, %v", tt.in, a, err)
			}
		})
	}
	one, _ := Audience{"x"}.MarshalJSON()
	two, _ := Audience{"x", "y"}.MarshalJSON()
	if string(one) != `"x"` || string(two) != `["x","y"]` {
		t.Fatalf("Marshal: %s %s", one, two)
	}
}

func TestNumericDateJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{`1700000000`, 1700000000, false},
		{`1700000000.9`, 1700000000, false},
		{`1.7e9`, 1700000000, false},
		{`"1700000000"`, 0, true},
		{`-1`, 0, true},
		{`1e300`, 0, true},
		{`true`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var d NumericDate
			err := d.UnmarshalJSON([]byte(tt.in))
			if (err != nil) != tt.wantErr || (err == nil && int64(d) != tt.want) {
				t.Fatalf("Unmarshal(%s) = %d, %v", tt.in, d, err)
			}
		})
	}
}

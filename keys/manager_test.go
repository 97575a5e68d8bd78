package keys

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// publishedKIDs returns the kids in m's JWKS, checking no private member leaks.
func publishedKIDs(t *testing.T, m *Manager) []string {
	t.Helper()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(m.JWKS(), &set); err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	var kids []string
	for _, k := range set.Keys {
		for _, priv := range privateMembers {
			if _, ok := k[priv]; ok {
				t.Fatalf("JWKS key has private member %q", priv)
			}
		}
		if k["use"] != "sig" || k["alg"] == "" {
			t.Fatalf("JWKS key lacks use/alg: %v", k)
		}
		kids = append(kids, k["kid"].(string))
	}
	return kids
}

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, alg := range []string{"", ES256, EdDSA} {
		t.Run("alg="+alg, func(t *testing.T) {
			m, _, clk := newTestManager(t, Config{Alg: alg})
			want := validClaims(clk.Now())
			raw, err := m.Sign("at+jwt", want)
			if err != nil {
				t.Fatal(err)
			}
			var got testClaims
			if err := m.Verify(raw, "at+jwt", &got); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.Subject != want.Subject || got.ClientID != want.ClientID || !slices.Equal(got.Audience, want.Audience) ||
				*got.Expiry != *want.Expiry {
				t.Fatalf("claims = %+v, want %+v", got, want)
			}
			wantAlg := alg
			if wantAlg == "" {
				wantAlg = ES256
			}
			if algs := m.SigningAlgs(); !slices.Equal(algs, []string{wantAlg}) {
				t.Fatalf("SigningAlgs = %v", algs)
			}
			if kids := publishedKIDs(t, m); !slices.Equal(kids, []string{m.ActiveKeyID()}) {
				t.Fatalf("JWKS kids = %v, active %s", kids, m.ActiveKeyID())
			}
		})
	}
}

func TestVerifyTypHeader(t *testing.T) {
	m, _, clk := newTestManager(t, Config{})
	raw, err := m.Sign("at+jwt", validClaims(clk.Now()))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		typ string
		ok  bool
	}{
		{"at+jwt", true},
		{"AT+JWT", true},
		{"application/at+jwt", true},
		{"", true}, // not checked
		{"token-introspection+jwt", false},
		{"jwt", false},
		{"dpop+jwt", false},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			err := m.Verify(raw, tt.typ, nil)
			if (err == nil) != tt.ok {
				t.Fatalf("Verify(typ=%q) = %v, want ok=%v", tt.typ, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error does not match ErrInvalidToken: %v", err)
			}
		})
	}
}

func TestOpenReusesStoredKey(t *testing.T) {
	ctx := context.Background()
	m, st, clk := newTestManager(t, Config{})
	raw, _ := m.Sign("at+jwt", validClaims(clk.Now()))
	again, err := Open(ctx, st, testKEK, Config{}, WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	if again.ActiveKeyID() != m.ActiveKeyID() || len(st.all()) != 1 {
		t.Fatalf("second Open made a new key: %s vs %s, %d stored", again.ActiveKeyID(), m.ActiveKeyID(), len(st.all()))
	}
	if err := again.Verify(raw, "at+jwt", nil); err != nil {
		t.Fatalf("token from first Manager: %v", err)
	}
}

func TestRotationKeepsOldTokensUntilPublishUntil(t *testing.T) {
	ctx := context.Background()
	m, st, clk := newTestManager(t, Config{MaxTokenTTL: time.Hour})
	claims := validClaims(clk.Now())
	claims.Expiry = NewNumericDate(clk.Now().Add(30 * 24 * time.Hour)) // outlives the key on purpose
	oldKID := m.ActiveKeyID()
	oldTok, _ := m.Sign("at+jwt", claims)

	if err := m.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	newKID := m.ActiveKeyID()
	newTok, _ := m.Sign("at+jwt", claims)
	if newKID == oldKID {
		t.Fatal("Rotate kept the same key")
	}
	for name, tok := range map[string]string{"old": oldTok, "new": newTok} {
		if err := m.Verify(tok, "at+jwt", nil); err != nil {
			t.Fatalf("%s token after rotation: %v", name, err)
		}
	}
	if kids := publishedKIDs(t, m); !slices.Equal(kids, []string{newKID, oldKID}) {
		t.Fatalf("JWKS kids = %v, want [%s %s]", kids, newKID, oldKID)
	}
	retired := findKey(t, st.all(), oldKID)
	if !retired.RetiredAt.Equal(clk.Now()) || !retired.PublishUntil.Equal(clk.Now().Add(time.Hour)) {
		t.Fatalf("retired record = %+v", retired)
	}

	clk.Add(time.Hour - time.Second)
	if kids := publishedKIDs(t, m); len(kids) != 2 {
		t.Fatalf("retired key dropped early: %v", kids)
	}
	clk.Add(time.Second)
	if kids := publishedKIDs(t, m); !slices.Equal(kids, []string{newKID}) {
		t.Fatalf("JWKS after PublishUntil = %v", kids)
	}
	if err := m.Verify(oldTok, "at+jwt", nil); !errors.Is(err, ErrUnknownKey) || !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("old token after PublishUntil: %v", err)
	}
	if err := m.Verify(newTok, "at+jwt", nil); err != nil {
		t.Fatalf("new token: %v", err)
	}
}

func findKey(t *testing.T, recs []storage.Key, kid string) storage.Key {
	t.Helper()
	for _, k := range recs {
		if k.ID == kid {
			return k
		}
	}
	t.Fatalf("key %s not stored", kid)
	return storage.Key{}
}

func TestRotateIfDue(t *testing.T) {
	ctx := context.Background()
	st, clk := newFakeStore(), newClock()
	cfg := Config{RotateAfter: 24 * time.Hour}
	a, err := Open(ctx, st, testKEK, cfg, WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(ctx, st, testKEK, cfg, WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	if rotated, err := a.RotateIfDue(ctx); rotated || err != nil {
		t.Fatalf("fresh key rotated: %v %v", rotated, err)
	}
	clk.Add(24 * time.Hour)
	if rotated, err := a.RotateIfDue(ctx); !rotated || err != nil {
		t.Fatalf("due key not rotated: %v %v", rotated, err)
	}
	// b still holds the old snapshot, but the store says the key is fresh.
	if rotated, err := b.RotateIfDue(ctx); rotated || err != nil {
		t.Fatalf("second process rotated again: %v %v", rotated, err)
	}
	if n := len(st.all()); n != 2 {
		t.Fatalf("%d keys stored, want 2", n)
	}
	if a.ActiveKeyID() != b.ActiveKeyID() {
		t.Fatal("processes disagree on the active key")
	}
	never, _, _ := newTestManager(t, Config{})
	if rotated, err := never.RotateIfDue(ctx); rotated || err != nil {
		t.Fatalf("RotateAfter=0 rotated: %v %v", rotated, err)
	}
}

func TestReloadPicksUpOtherProcessRotation(t *testing.T) {
	ctx := context.Background()
	st, clk := newFakeStore(), newClock()
	server, _ := Open(ctx, st, testKEK, Config{}, WithClock(clk.Now))
	cli, err := Open(ctx, st, testKEK, Config{}, WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	tok, _ := cli.Sign("at+jwt", validClaims(clk.Now()))
	if err := server.Verify(tok, "at+jwt", nil); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("before Reload: %v", err)
	}
	if err := server.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if server.ActiveKeyID() != cli.ActiveKeyID() {
		t.Fatal("Reload did not switch the active key")
	}
	if err := server.Verify(tok, "at+jwt", nil); err != nil {
		t.Fatalf("after Reload: %v", err)
	}
}

func TestPrivateKeysEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	for _, alg := range []string{ES256, EdDSA} {
		t.Run(alg, func(t *testing.T) {
			m, st, clk := newTestManager(t, Config{Alg: alg})
			rec := st.all()[0]
			priv := m.ring.Load().active.signer
			der, err := x509.MarshalPKCS8PrivateKey(priv)
			if err != nil {
				t.Fatal(err)
			}
			secret := rawPrivate(t, priv)
			blob, _ := json.Marshal(rec)
			for name, needle := range map[string][]byte{"pkcs8": der, "scalar": secret} {
				if bytes.Contains(blob, needle) || bytes.Contains(blob, []byte(b64(needle))) {
					t.Fatalf("stored record contains the raw %s private key", name)
				}
			}
			if strings.Contains(string(rec.Public), `"d"`) {
				t.Fatal("public JWK holds d")
			}
			wrong := bytes.Repeat([]byte{9}, KEKSize)
			if _, err := Open(ctx, st, wrong, Config{Alg: alg}, WithClock(clk.Now)); !errors.Is(err, ErrKeyDecrypt) {
				t.Fatalf("Open with wrong KEK: %v", err)
			}
		})
	}
}

// rawPrivate returns the secret scalar or seed of a private key.
func rawPrivate(t *testing.T, s any) []byte {
	switch k := s.(type) {
	case *ecdsa.PrivateKey:
		b, err := k.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return b
	case ed25519.PrivateKey:
		return k.Seed()
	}
	t.Fatalf("unexpected key %T", s)
	return nil
}

func TestOpenRejectsBadStoredKeys(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		mutate func(*storage.Key)
	}{
		{"private moved to another kid", func(k *storage.Key) { k.ID = "other" }},
		{"public key swapped", func(k *storage.Key) {
			other, _ := newKeyRecord(testKEK, ES256, k.CreatedAt)
			k.Public = other.Public
		}},
		{"alg does not fit key", func(k *storage.Key) { k.Alg = EdDSA }},
		{"garbage public", func(k *storage.Key) { k.Public = []byte("{") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, st, clk := newTestManager(t, Config{})
			k := st.all()[0]
			delete(st.keys, k.ID)
			tt.mutate(&k)
			st.keys[k.ID] = k
			m := &Manager{store: st, kek: testKEK, cfg: Config{}.withDefaults(), now: clk.Now}
			if err := m.Reload(ctx); err == nil {
				t.Fatal("Reload accepted a bad key record")
			}
		})
	}
}

func TestAlgChangeRotates(t *testing.T) {
	ctx := context.Background()
	ec, st, clk := newTestManager(t, Config{Alg: ES256})
	ecTok, _ := ec.Sign("at+jwt", validClaims(clk.Now()))
	ed, err := Open(ctx, st, testKEK, Config{Alg: EdDSA}, WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	if algs := ed.SigningAlgs(); !slices.Equal(algs, []string{EdDSA, ES256}) {
		t.Fatalf("SigningAlgs = %v", algs)
	}
	edTok, _ := ed.Sign("at+jwt", validClaims(clk.Now()))
	for _, tok := range []string{ecTok, edTok} {
		if err := ed.Verify(tok, "at+jwt", nil); err != nil {
			t.Fatalf("Verify after alg change: %v", err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	storeDown := newFakeStore()
	storeDown.updateErr = errors.New("disk full")
	tests := []struct {
		name  string
		store Store
		kek   []byte
		cfg   Config
	}{
		{"bad alg", newFakeStore(), testKEK, Config{Alg: "HS256"}},
		{"negative rotate", newFakeStore(), testKEK, Config{RotateAfter: -1}},
		{"negative ttl", newFakeStore(), testKEK, Config{MaxTokenTTL: -1}},
		{"short kek", newFakeStore(), testKEK[:16], Config{}},
		{"store fails", storeDown, testKEK, Config{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Open(ctx, tt.store, tt.kek, tt.cfg); err == nil {
				t.Fatal("Open succeeded")
			}
		})
	}
	err := Config{Alg: "none", RotateAfter: -1, MaxTokenTTL: -1}.Validate()
	if err == nil || strings.Count(err.Error(), "\n") != 2 {
		t.Fatalf("Validate should report three problems: %v", err)
	}
}

func TestSignRejects(t *testing.T) {
	m, _, _ := newTestManager(t, Config{})
	tests := []struct {
		name   string
		typ    string
		claims any
	}{
		{"no typ", "", map[string]any{"sub": "x"}},
		{"array claims", "at+jwt", []string{"a"}},
		{"string claims", "at+jwt", "x"},
		{"unencodable", "at+jwt", map[string]any{"f": func() {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := m.Sign(tt.typ, tt.claims); err == nil {
				t.Fatal("Sign succeeded")
			}
		})
	}
}

func TestConcurrentSignVerifyRotate(t *testing.T) {
	ctx := context.Background()
	m, _, clk := newTestManager(t, Config{})
	claims := validClaims(clk.Now())
	done := make(chan error, 4)
	for range 3 {
		go func() {
			for range 50 {
				raw, err := m.Sign("at+jwt", claims)
				if err == nil {
					err = m.Verify(raw, "at+jwt", nil)
				}
				if err != nil && !errors.Is(err, ErrUnknownKey) {
					done <- err
					return
				}
				_ = m.JWKS()
			}
			done <- nil
		}()
	}
	go func() {
		for range 5 {
			if err := m.Rotate(ctx); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if kids := publishedKIDs(t, m); len(kids) != 6 {
		t.Fatalf("%d published keys after 5 rotations, want 6", len(kids))
	}
}

func TestLogsRotationWithoutSecrets(t *testing.T) {
	var buf bytes.Buffer
	st, clk := newFakeStore(), newClock()
	log := slog.New(slog.NewTextHandler(&buf, nil))
	m, err := Open(context.Background(), st, testKEK, Config{}, WithClock(clk.Now), WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "signing key created") || !strings.Contains(out, "signing key rotated") {
		t.Fatalf("log = %s", out)
	}
	for _, k := range st.all() {
		if strings.Contains(out, b64(k.Private)) || strings.Contains(out, string(testKEK)) {
			t.Fatal("log holds key material")
		}
	}
}

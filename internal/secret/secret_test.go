package secret

import (
	"errors"
	"strings"
	"testing"
)

func TestHasher(t *testing.T) {
	h, err := NewHasher([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewHasher([]byte(strings.Repeat("o", 32)))
	gen := Generate("vcs_")
	tests := []struct {
		name, secret, scheme string
	}{
		{"generated secret uses the fast hash", gen, schemeHMAC},
		{"short secret uses the slow hash", "hunter2", schemePBKDF2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hash := h.Hash(tt.secret)
			if !strings.HasPrefix(hash, tt.scheme+"$") {
				t.Fatalf("hash %q not of scheme %s", hash, tt.scheme)
			}
			if strings.Contains(hash, tt.secret) {
				t.Fatal("hash contains the secret")
			}
			if err := h.Verify(hash, tt.secret); err != nil {
				t.Fatalf("Verify(right) = %v", err)
			}
			if err := h.Verify(hash, tt.secret+"x"); !errors.Is(err, ErrMismatch) {
				t.Fatalf("Verify(wrong) = %v", err)
			}
		})
	}
	if err := other.Verify(h.Hash(gen), gen); !errors.Is(err, ErrMismatch) {
		t.Fatal("a different server key verified the fast hash")
	}
	if h.Hash(gen) != h.Hash(gen) {
		t.Fatal("fast hash not deterministic")
	}
	for _, bad := range []string{"", "$", "hmac-sha256$!!", "pbkdf2-sha256$x$y$z", "pbkdf2-sha256$99999999999$AA$AA", "plain"} {
		if err := h.Verify(bad, "s"); !errors.Is(err, ErrMismatch) {
			t.Errorf("Verify(%q) = %v", bad, err)
		}
	}
	if _, err := NewHasher([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
}

func TestEqual(t *testing.T) {
	if !Equal("a", "a") || Equal("a", "b") || Equal("", "a") {
		t.Fatal("Equal wrong")
	}
}

func BenchmarkVerifyFast(b *testing.B) {
	h, _ := NewHasher([]byte(strings.Repeat("k", 32)))
	s := Generate("vcs_")
	hash := h.Hash(s)
	for b.Loop() {
		_ = h.Verify(hash, s)
	}
}

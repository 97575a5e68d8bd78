package keys

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func env(vals map[string]string) func(string) string {
	return func(k string) string { return vals[k] }
}

func TestLoadKEKFromSecret(t *testing.T) {
	a, err := LoadKEK(env(map[string]string{SecretEnv: "a long enough secret value"}), "")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := LoadKEK(env(map[string]string{SecretEnv: "a long enough secret value"}), "")
	other, _ := LoadKEK(env(map[string]string{SecretEnv: "another long enough secret"}), "")
	if len(a) != KEKSize || !bytes.Equal(a, again) {
		t.Fatalf("derivation not deterministic or wrong size: %x vs %x", a, again)
	}
	if bytes.Equal(a, other) {
		t.Fatal("different secrets derived the same key")
	}
	if bytes.Contains(a, []byte("secret")) {
		t.Fatal("derived key contains the secret")
	}
	if _, err := LoadKEK(env(map[string]string{SecretEnv: "short"}), ""); err == nil {
		t.Fatal("short secret accepted")
	}
}

func TestLoadKEKFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kek")
	first, err := LoadKEK(env(nil), path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 || info.Size() != KEKSize {
		t.Fatalf("created file mode %v size %d", info.Mode().Perm(), info.Size())
	}
	second, err := LoadKEK(env(nil), path)
	if err != nil || !bytes.Equal(first, second) {
		t.Fatalf("reload: %v, equal=%v", err, bytes.Equal(first, second))
	}
}

func TestLoadKEKFileRejected(t *testing.T) {
	tests := []struct {
		name    string
		mode    os.FileMode
		content []byte
		wantErr error
	}{
		{"group readable", 0o640, bytes.Repeat([]byte{1}, KEKSize), ErrWeakKEKFile},
		{"world readable", 0o604, bytes.Repeat([]byte{1}, KEKSize), ErrWeakKEKFile},
		{"too short", 0o600, []byte("short"), nil},
		{"too long", 0o600, bytes.Repeat([]byte{1}, KEKSize+1), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kek")
			if err := os.WriteFile(path, tt.content, tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			_, err := LoadKEK(env(nil), path)
			if err == nil {
				t.Fatal("accepted")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	if _, err := LoadKEK(env(nil), ""); err == nil {
		t.Fatal("no secret and no path accepted")
	}
}

func TestSealUnseal(t *testing.T) {
	plain := []byte("private key bytes")
	sealed, err := seal(testKEK, "kid-1", plain)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, plain) {
		t.Fatal("sealed bytes contain the plaintext")
	}
	got, err := unseal(testKEK, "kid-1", sealed)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("round trip: %v %q", err, got)
	}
	wrongKEK := bytes.Repeat([]byte{7}, KEKSize)
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	tests := []struct {
		name   string
		kek    []byte
		kid    string
		sealed []byte
	}{
		{"wrong kek", wrongKEK, "kid-1", sealed},
		{"wrong kid", testKEK, "kid-2", sealed},
		{"tampered", testKEK, "kid-1", tampered},
		{"truncated", testKEK, "kid-1", sealed[:10]},
		{"empty", testKEK, "kid-1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := unseal(tt.kek, tt.kid, tt.sealed); !errors.Is(err, ErrKeyDecrypt) {
				t.Fatalf("err = %v, want ErrKeyDecrypt", err)
			}
		})
	}
}

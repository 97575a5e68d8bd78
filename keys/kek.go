package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/vigil-auth/vigil/internal/limits"
)

// SecretEnv is the environment variable that, when set, supplies the secret
// the key-encryption key is derived from.
const SecretEnv = "VIGIL_SECRET"

// KEKSize is the size in bytes of a key-encryption key (AES-256).
const KEKSize = 32

// minSecretLen is the shortest VIGIL_SECRET accepted.
const minSecretLen = limits.SecretMinLength

// kekInfo labels the HKDF derivation so the derived key is used for nothing else.
const kekInfo = "vigil key-encryption key v1"

// sealVersion prefixes every sealed private key so the format can change later.
const sealVersion byte = 1

// ErrWeakKEKFile reports a key-encryption key file readable or writable by
// group or others.
var ErrWeakKEKFile = errors.New("keys: key-encryption key file permissions are looser than 0600")

// LoadKEK returns the 32-byte key-encryption key that protects stored private
// keys.
//
// When getenv(SecretEnv) is non-empty, the key is derived from it with
// HKDF-SHA256 (the secret must be at least 16 bytes). Otherwise the key is read
// from path, which must hold exactly 32 bytes and have mode 0600 or stricter
// (ErrWeakKEKFile otherwise); when path does not exist it is created with 32
// random bytes and mode 0600.
func LoadKEK(getenv func(string) string, path string) ([]byte, error) {
	if secret := getenv(SecretEnv); secret != "" {
		return deriveKEK(secret)
	}
	if path == "" {
		return nil, fmt.Errorf("keys: no %s and no key-encryption key file", SecretEnv)
	}
	kek, err := readKEKFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKEKFile(path)
	}
	return kek, err
}

// deriveKEK derives the key-encryption key from a configured secret.
func deriveKEK(secret string) ([]byte, error) {
	if len(secret) < minSecretLen {
		return nil, fmt.Errorf("keys: %s must be at least %d bytes", SecretEnv, minSecretLen)
	}
	kek, err := hkdf.Key(sha256.New, []byte(secret), nil, kekInfo, KEKSize)
	if err != nil {
		return nil, fmt.Errorf("keys: derive key-encryption key: %w", err)
	}
	return kek, nil
}

// readKEKFile reads an existing key file after checking its permissions.
func readKEKFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("keys: key-encryption key file: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o", ErrWeakKEKFile, path, info.Mode().Perm())
	}
	kek, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keys: read key-encryption key: %w", err)
	}
	if len(kek) != KEKSize {
		return nil, fmt.Errorf("keys: key-encryption key file %s holds %d bytes, want %d", path, len(kek), KEKSize)
	}
	return kek, nil
}

// createKEKFile writes a new random key file, never replacing an existing one.
// If another process created the file first, that file is read instead.
func createKEKFile(path string) ([]byte, error) {
	kek := make([]byte, KEKSize)
	if _, err := rand.Read(kek); err != nil {
		return nil, fmt.Errorf("keys: generate key-encryption key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readKEKFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: create key-encryption key file: %w", err)
	}
	if err := writeAndSync(f, kek); err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("keys: write key-encryption key file: %w", err)
	}
	return kek, nil
}

// writeAndSync writes b to f, flushes it to stable storage and closes f.
func writeAndSync(f *os.File, b []byte) error {
	_, err := f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// newAEAD returns AES-256-GCM under kek.
func newAEAD(kek []byte) (cipher.AEAD, error) {
	if len(kek) != KEKSize {
		return nil, fmt.Errorf("keys: key-encryption key is %d bytes, want %d", len(kek), KEKSize)
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("keys: key-encryption cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keys: key-encryption cipher: %w", err)
	}
	return aead, nil
}

// seal encrypts plaintext under kek, binding it to kid. The result is
// version || nonce || ciphertext.
func seal(kek []byte, kid string, plaintext []byte) ([]byte, error) {
	aead, err := newAEAD(kek)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("keys: nonce: %w", err)
	}
	return aead.Seal(out, out[1:], plaintext, []byte(kid)), nil
}

// ErrKeyDecrypt reports a stored private key that cannot be decrypted: a
// wrong key-encryption key, a record moved to another key ID, or tampering.
var ErrKeyDecrypt = errors.New("keys: cannot decrypt private key (wrong key-encryption key?)")

// unseal reverses seal.
func unseal(kek []byte, kid string, sealed []byte) ([]byte, error) {
	aead, err := newAEAD(kek)
	if err != nil {
		return nil, err
	}
	n := aead.NonceSize()
	if len(sealed) < 1+n+aead.Overhead() || sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w: key %s: malformed record", ErrKeyDecrypt, kid)
	}
	plain, err := aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(kid))
	if err != nil {
		return nil, fmt.Errorf("%w: key %s", ErrKeyDecrypt, kid)
	}
	return plain, nil
}

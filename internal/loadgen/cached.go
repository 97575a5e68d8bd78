package loadgen

import "github.com/vigil-auth/vigil/storage/bolt"

// FileCachedMiB returns how much of the file at path the kernel's page
// cache holds, whoever maps it ([bolt.FileCachedBytes]; Linux only).
func FileCachedMiB(path string) (float64, error) {
	n, err := bolt.FileCachedBytes(path)
	return float64(n) / (1 << 20), err
}

//go:build !linux

package loadgen

import "errors"

// FileCachedMiB is not measured on this platform.
func FileCachedMiB(string) (float64, error) {
	return 0, errors.New("loadgen: page cache residency is measured on Linux only")
}

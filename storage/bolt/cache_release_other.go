//go:build !linux

package bolt

import "errors"

const cacheControl = false

var errNoCacheControl = errors.New("bolt: the page cache cannot be handed back on this platform")

func residentBytes(uintptr, int64) (int64, error) { return 0, errNoCacheControl }
func pageOut(uintptr, int64) error                { return errNoCacheControl }
func dropCached(string) error                     { return errNoCacheControl }
func fileCached(string) (int64, error)            { return 0, errNoCacheControl }

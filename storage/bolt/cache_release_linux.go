package bolt

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cacheControl reports whether this platform can hand cached pages back.
const cacheControl = true

// residentBytes counts the pages of [addr, addr+size) held in the page cache.
func residentBytes(addr uintptr, size int64) (int64, error) {
	ps := int64(os.Getpagesize())
	vec := make([]byte, (size+ps-1)/ps)
	if len(vec) == 0 {
		return 0, nil
	}
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, addr, uintptr(size), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		return 0, e
	}
	var n int64
	for _, v := range vec {
		n += int64(v & 1)
	}
	return n * ps, nil
}

// pageOut reclaims the mapped pages of [addr, addr+size) (MADV_PAGEOUT).
func pageOut(addr uintptr, size int64) error {
	if _, _, e := unix.Syscall(unix.SYS_MADVISE, addr, uintptr(size), unix.MADV_PAGEOUT); e != 0 {
		return e
	}
	return nil
}

// dropCached drops the clean cached pages of the file at path that no
// process maps (POSIX_FADV_DONTNEED).
func dropCached(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}

// fileCached returns how many bytes of the file at path the page cache
// holds, whoever maps it (mincore over a mapping of the file, which itself
// reads nothing).
func fileCached(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return 0, err
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return 0, err
	}
	defer unix.Munmap(m)
	return residentBytes(uintptr(unsafe.Pointer(&m[0])), int64(len(m)))
}

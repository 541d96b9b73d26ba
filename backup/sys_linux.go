//go:build linux

package backup

import (
	"fmt"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// oNoAtime opens without updating atime where permitted (Linux O_NOATIME).
const oNoAtime = syscall.O_NOATIME

// futimens sets atime and mtime of an open file (utimensat with a NULL path).
func futimens(fd int, t time.Time) error {
	ts := unix.NsecToTimespec(t.UnixNano())
	times := [2]unix.Timespec{ts, ts}
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&times[0])), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// syncFilesystem writes out the filesystem holding dir (syncfs(2)): one call
// for a whole extracted tree instead of an fsync per file.
var syncFilesystem = func(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

// FreeBytes returns the bytes available to an unprivileged user on the
// filesystem holding dir (statfs f_bavail).
func FreeBytes(dir string) (uint64, error) {
	var s unix.Statfs_t
	if err := unix.Statfs(dir, &s); err != nil {
		return 0, fmt.Errorf("free space of %s: %w", dir, err)
	}
	return s.Bavail * uint64(s.Bsize), nil
}

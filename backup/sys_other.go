//go:build !linux

package backup

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// oNoAtime: no O_NOATIME outside Linux; reading updates atime as usual.
const oNoAtime = 0

// futimens sets atime and mtime of an open file (futimes; microseconds).
func futimens(fd int, t time.Time) error {
	tv := unix.NsecToTimeval(t.UnixNano())
	return unix.Futimes(fd, []unix.Timeval{tv, tv})
}

// syncFilesystem has no syncfs(2) outside Linux: sync(2) writes out every
// filesystem, which includes the one holding dir.
var syncFilesystem = func(dir string) error {
	if _, err := os.Stat(dir); err != nil {
		return err
	}
	syscall.Sync()
	return nil
}

// FreeBytes returns the bytes available to an unprivileged user on the
// filesystem holding dir (statvfs f_bavail).
func FreeBytes(dir string) (uint64, error) {
	var s unix.Statvfs_t
	if err := unix.Statvfs(dir, &s); err != nil {
		return 0, fmt.Errorf("free space of %s: %w", dir, err)
	}
	return s.Bavail * uint64(s.Frsize), nil
}

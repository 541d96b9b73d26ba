//go:build linux

package steps

import "golang.org/x/sys/unix"

// syncfsFD flushes the filesystem holding the open file (syncfs(2)).
func syncfsFD(fd int) error { return unix.Syncfs(fd) }

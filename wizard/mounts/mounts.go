// Package mounts answers, in one place, whether a path is a mount point and
// what is mounted there, from the device numbers and /proc/self/mountinfo
// (proc(5)). The store step, the installer step and the restore all ask it, so
// they cannot disagree about the same server root.
package mounts

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Entry is one line of /proc/self/mountinfo: what a remount needs.
type Entry struct {
	Target  string `json:"target"`
	Root    string `json:"root"` // the mounted subtree of the source; "/" unless a bind mount
	FSType  string `json:"fstype"`
	Source  string `json:"source"`
	Options string `json:"options"` // per-mount options, as mount -o takes them
}

// MountInfo is the table this package reads; tests of callers never need to
// change it, since every answer also holds for the host the test runs on.
const MountInfo = "/proc/self/mountinfo"

// At returns the mount whose mount point is path, if any: the last one
// listed, which is the one visible there.
func At(path string) (Entry, bool, error) {
	f, err := os.Open(MountInfo)
	if err != nil {
		return Entry{}, false, err
	}
	defer f.Close()
	return Find(f, path)
}

// Find reads a mountinfo table from r and returns the last mount on path.
func Find(r io.Reader, path string) (Entry, bool, error) {
	path = filepath.Clean(path)
	var found Entry
	ok := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || Unescape(fields[4]) != path {
			continue
		}
		sep := -1
		for i := 6; i < len(fields); i++ {
			if fields[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+2 >= len(fields) {
			continue
		}
		found = Entry{Target: path, Root: Unescape(fields[3]), FSType: fields[sep+1],
			Source: Unescape(fields[sep+2]), Options: fields[5]}
		ok = true
	}
	return found, ok, sc.Err()
}

// IsMountPoint reports whether path, once absolute and its symbolic links
// resolved, is a directory something is mounted on: on another device than its
// parent (or "/"), or listed in mountinfo (a bind mount of the same
// filesystem). Nothing is mounted on a path that does not exist, nor, here, on
// a file (the callers move directories); any other failure to read is an error.
func IsMountPoint(path string) (bool, error) {
	p, err := filepath.Abs(path)
	if err != nil {
		return false, err
	}
	real, err := filepath.EvalSymlinks(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	p = real
	var sd, sp syscall.Stat_t
	if err := syscall.Stat(p, &sd); err != nil {
		return false, &fs.PathError{Op: "stat", Path: p, Err: err}
	}
	if sd.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return false, nil
	}
	if p == "/" {
		return true, nil
	}
	if err := syscall.Stat(filepath.Dir(p), &sp); err != nil {
		return false, &fs.PathError{Op: "stat", Path: filepath.Dir(p), Err: err}
	}
	if sd.Dev != sp.Dev {
		return true, nil
	}
	_, ok, err := At(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // no /proc: the device check is all there is
	}
	return ok, err
}

// Unescape undoes the octal escapes mountinfo and fstab use for space, tab,
// newline and backslash in paths.
func Unescape(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

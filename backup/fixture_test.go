package backup

import (
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// fixtureEntry declares one name of a test tree.
type fixtureEntry struct {
	path string
	kind EntryType
	mode Perm
	data []byte // files; for hardlinks and symlinks see link
	link string // symlink target, or hardlink's first name
	uid  int    // applied when running as root
	gid  int
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// everyKind is a tree with every kind of entry Create handles.
func everyKind() []fixtureEntry {
	long := "deep/" + string(slices.Repeat([]byte("n"), 120)) + "-long-name.txt"
	return []fixtureEntry{
		{path: ".", kind: TypeDir, mode: 0o755},
		{path: "bin", kind: TypeDir, mode: 0o755},
		{path: "bin/sgid", kind: TypeFile, mode: 0o2711, data: []byte("#!/bin/sh\n")},
		{path: "bin/stored", kind: TypeFile, mode: 0o4755, data: randBytes(1, 3000)},
		{path: "config", kind: TypeDir, mode: 0o750, uid: 100, gid: 200},
		{path: "config/empty", kind: TypeFile, mode: 0o600},
		{path: "config/msg.conf", kind: TypeFile, mode: 0o640, uid: 100, gid: 200, data: []byte("service.imap.enable = 1\n")},
		{path: "deep", kind: TypeDir, mode: 0o755},
		{path: long, kind: TypeFile, mode: 0o644, data: []byte("pax path\n")},
		{path: "emptydir", kind: TypeDir, mode: 0o555},
		{path: "links", kind: TypeDir, mode: 0o755},
		{path: "links/abs", kind: TypeSymlink, link: "/etc/hostname"},
		{path: "links/dangling", kind: TypeSymlink, link: "nowhere"},
		{path: "links/hard1", kind: TypeFile, mode: 0o640, data: []byte("two names, one inode\n")},
		{path: "links/rel", kind: TypeSymlink, link: "../config/msg.conf"},
		{path: "links/zz-hard2", kind: TypeHardlink, link: "links/hard1"},
		{path: "queue", kind: TypeDir, mode: 0o700, uid: 1001, gid: 1001},
		{path: "queue/ZZ01.00", kind: TypeFile, mode: 0o600, uid: 1001, gid: 1001, data: randBytes(2, 40<<10)},
		{path: "queue/big.db", kind: TypeFile, mode: 0o644, data: append(randBytes(3, 5<<20), make([]byte, 5<<20)...)},
		{path: "run", kind: TypeDir, mode: 0o755},
		{path: "run/fifo", kind: TypeFIFO, mode: 0o620},
		{path: "run/sock", kind: TypeSocket},
		{path: "tmp", kind: TypeDir, mode: 0o1777},
		{path: "日本語", kind: TypeFile, mode: 0o644, data: []byte("non-ascii name\n")},
	}
}

// makeTree builds entries under dir with owners (as root), modes and
// nanosecond mtimes, directory mtimes last.
func makeTree(t *testing.T, dir string, entries []fixtureEntry) {
	t.Helper()
	root := os.Geteuid() == 0
	for _, e := range entries {
		p := filepath.Join(dir, e.path)
		var err error
		switch e.kind {
		case TypeDir:
			if e.path != "." {
				err = os.Mkdir(p, 0o700)
			}
		case TypeFile:
			err = os.WriteFile(p, e.data, 0o600)
		case TypeSymlink:
			err = os.Symlink(e.link, p)
		case TypeHardlink:
			err = os.Link(filepath.Join(dir, e.link), p)
		case TypeFIFO:
			err = unix.Mkfifo(p, 0o600)
		case TypeSocket:
			var l net.Listener
			l, err = net.Listen("unix", p)
			if err == nil {
				l.(*net.UnixListener).SetUnlinkOnClose(false)
				l.Close()
			}
		}
		if err != nil {
			t.Fatalf("fixture %s: %v", e.path, err)
		}
		if root && (e.kind == TypeFile || e.kind == TypeDir || e.kind == TypeFIFO) {
			if err := os.Lchown(p, e.uid, e.gid); err != nil {
				t.Fatal(err)
			}
		}
		if e.kind == TypeFile || e.kind == TypeDir || e.kind == TypeFIFO {
			if err := unix.Chmod(p, uint32(e.mode)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if e.kind == TypeHardlink {
			continue
		}
		ns := int64(1_600_000_000_123_456_789) + int64(i)*1_000_003_001
		ts := unix.NsecToTimespec(ns)
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(dir, e.path), []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatalf("fixture mtime %s: %v", e.path, err)
		}
	}
}

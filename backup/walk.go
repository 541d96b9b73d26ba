package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// node is one name met by the walk, with its lstat result.
type node struct {
	rel string // "." for the root, else slash-separated relative path
	abs string
	fi  fs.FileInfo
	st  *syscall.Stat_t
}

// walkTree visits root and everything below it in archive order: a
// directory, then its children sorted by byte order of name, depth first.
// It holds one directory listing per level, never the whole tree. skip
// reports relative paths to leave out (with everything below them).
//
// A root that is a symlink is followed (a queue or partition on its own
// volume): the tree archived is the directory it points to.
func walkTree(ctx context.Context, root string, skip func(rel string) bool, fn func(n node) error) error {
	return walkTreeLenient(ctx, root, skip, fn, false)
}

// walkTreeLenient is walkTree; with lenient, a name that vanishes between the
// directory read and its lstat (a live queue delivering while a preflight sizes
// it) is passed over instead of failing the walk.
func walkTreeLenient(ctx context.Context, root string, skip func(rel string) bool, fn func(n node) error, lenient bool) error {
	fi, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("walk: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("walk %s: not a directory", root)
	}
	return walkNode(ctx, node{rel: ".", abs: root, fi: fi, st: fi.Sys().(*syscall.Stat_t)}, skip, fn, lenient)
}

func walkNode(ctx context.Context, n node, skip func(string) bool, fn func(node) error, lenient bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := fn(n); err != nil {
		return err
	}
	if !n.fi.IsDir() {
		return nil
	}
	names, err := readNames(n.abs)
	if lenient && errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("walk %s: %w", n.rel, err)
	}
	for _, name := range names {
		rel := name
		if n.rel != "." {
			rel = n.rel + "/" + name
		}
		if skip != nil && skip(rel) {
			continue
		}
		abs := filepath.Join(n.abs, name)
		fi, err := os.Lstat(abs)
		if lenient && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("walk %s: %w", rel, err)
		}
		if err := walkNode(ctx, node{rel: rel, abs: abs, fi: fi, st: fi.Sys().(*syscall.Stat_t)}, skip, fn, lenient); err != nil {
			return err
		}
	}
	return nil
}

func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}

// prefixSet matches relative paths equal to or below any of its prefixes.
type prefixSet []string

func newPrefixSet(paths []string) (prefixSet, error) {
	var ps prefixSet
	for _, p := range paths {
		p = strings.TrimSuffix(filepath.ToSlash(p), "/")
		c := path.Clean(p)
		if p == "" || c == "." || !filepath.IsLocal(c) {
			return nil, fmt.Errorf("exclude %q: not a relative path inside the tree", p)
		}
		ps = append(ps, c)
	}
	return ps, nil
}

func (ps prefixSet) match(rel string) bool {
	for _, p := range ps {
		if rel == p || (strings.HasPrefix(rel, p) && rel[len(p)] == '/') {
			return true
		}
	}
	return false
}

// comparePaths orders relative paths as walkTree visits them: component by
// component, a parent before its children, "." first.
func comparePaths(a, b string) int {
	if a == b {
		return 0
	}
	if a == "." {
		return -1
	}
	if b == "." {
		return 1
	}
	for {
		ai, bi := strings.IndexByte(a, '/'), strings.IndexByte(b, '/')
		ac, bc := a, b
		if ai >= 0 {
			ac = a[:ai]
		}
		if bi >= 0 {
			bc = b[:bi]
		}
		if c := strings.Compare(ac, bc); c != 0 {
			return c
		}
		switch {
		case ai < 0 && bi < 0:
			return 0
		case ai < 0:
			return -1
		case bi < 0:
			return 1
		}
		a, b = a[ai+1:], b[bi+1:]
	}
}

// entryOf builds the manifest entry of a walked node, without hash or link.
func entryOf(n node) Entry {
	st := n.st
	e := Entry{
		Path:    n.rel,
		Mode:    Perm(st.Mode & 07777),
		UID:     int(st.Uid),
		GID:     int(st.Gid),
		MtimeNS: st.Mtim.Nano(),
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		e.Type = TypeDir
	case syscall.S_IFREG:
		e.Type = TypeFile
		e.Size = st.Size
	case syscall.S_IFLNK:
		e.Type = TypeSymlink
	case syscall.S_IFIFO:
		e.Type = TypeFIFO
	case syscall.S_IFSOCK:
		e.Type = TypeSocket
		e.Skipped = "socket: recreated by its daemon"
	default:
		e.Type = TypeDevice
		e.Skipped = "device node: not archived"
	}
	return e
}

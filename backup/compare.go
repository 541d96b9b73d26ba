package backup

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"iter"
	"os"
	"strings"
)

// Difference is one way a live tree departs from a manifest.
type Difference struct {
	Path   string // relative, as in the manifest
	Kind   string // "missing", "extra" or "changed"
	Detail string
}

func (d Difference) String() string { return d.Kind + " " + d.Path + ": " + d.Detail }

// CompareTree compares the tree at root with a manifest, ignoring relative
// paths equal to or below any of ignore (e.g. "logs", "imta/queue"). It checks
// presence, type, size, mode, uid, gid, mtime, link target and the sha256 of
// every regular file, and returns the differences in walk order; an empty
// result means the tree is what the manifest describes. Entries the manifest
// lists as skipped (sockets, devices) are compared by type only.
func CompareTree(ctx context.Context, root, manifestPath string, ignore []string) ([]Difference, error) {
	return compareTree(ctx, root, manifestPath, ignore, true, true)
}

func compareTree(ctx context.Context, root, manifestPath string, ignore []string, rehash, owner bool) ([]Difference, error) {
	skip, err := newPrefixSet(ignore)
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	mr, err := OpenManifest(manifestPath)
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	defer mr.Close()

	nodes := func(yield func(node, error) bool) {
		err := walkTree(ctx, root, skip.match, func(n node) error {
			if !yield(n, nil) {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			yield(node{}, err)
		}
	}
	next, stop := iter.Pull2(iter.Seq2[node, error](nodes))
	defer stop()
	nextEntry := func() (Entry, bool, error) {
		for {
			e, err := mr.Next()
			if err == io.EOF {
				return e, false, nil
			}
			if err != nil {
				return e, false, fmt.Errorf("compare: manifest %s: %w", manifestPath, err)
			}
			if !skip.match(e.Path) || e.Path == "." {
				return e, true, nil
			}
		}
	}
	var diffs []Difference
	var gone, extra string // last missing and extra directory
	h := sha256.New()
	buf := make([]byte, 1<<20)
	e, eok, err := nextEntry()
	if err != nil {
		return nil, err
	}
	n, walkErr, nok := next()
	for eok || nok {
		if nok && walkErr != nil {
			return nil, fmt.Errorf("compare: %w", walkErr)
		}
		c := 0
		switch {
		case !nok:
			c = -1
		case !eok:
			c = 1
		default:
			c = comparePaths(e.Path, n.rel)
		}
		// Below a missing or extra directory only the directory is reported.
		if c < 0 && under(e.Path, gone) || c > 0 && under(n.rel, extra) {
			c = 2 * c
		}
		switch {
		case c == -2 || c == 2:
		case c < 0 && e.Skipped != "":
			// Sockets and devices are never restored; their absence is expected.
		case c < 0:
			diffs = append(diffs, Difference{e.Path, "missing", "in the manifest, not in the tree"})
			if e.Type == TypeDir {
				gone = e.Path
			}
		case c > 0:
			diffs = append(diffs, Difference{n.rel, "extra", "in the tree, not in the manifest"})
			if n.fi.IsDir() {
				extra = n.rel
			}
		default:
			if d := compareNode(n, e, rehash, owner, h, buf); d != "" {
				diffs = append(diffs, Difference{e.Path, "changed", d})
			}
		}
		if c <= 0 {
			if e, eok, err = nextEntry(); err != nil {
				return nil, err
			}
		}
		if c >= 0 {
			n, walkErr, nok = next()
		}
	}
	return diffs, nil
}

var errStop = errors.New("stop")

// under reports whether rel lies below the directory dir ("" matches nothing).
func under(rel, dir string) bool {
	return dir != "" && strings.HasPrefix(rel, dir+"/")
}

func compareNode(n node, want Entry, rehash, owner bool, h hash.Hash, buf []byte) string {
	got := entryOf(n)
	wantType := want.Type
	if wantType == TypeHardlink {
		wantType = TypeFile
	}
	if got.Type != wantType {
		return fmt.Sprintf("type %s, manifest says %s", got.Type, want.Type)
	}
	if want.Skipped != "" {
		return ""
	}
	switch {
	case got.Type != TypeSymlink && got.Mode != want.Mode:
		return fmt.Sprintf("mode %s, manifest says %s", got.Mode, want.Mode)
	case owner && (got.UID != want.UID || got.GID != want.GID):
		return fmt.Sprintf("owner %d:%d, manifest says %d:%d", got.UID, got.GID, want.UID, want.GID)
	case got.MtimeNS != want.MtimeNS:
		return fmt.Sprintf("mtime %d, manifest says %d", got.MtimeNS, want.MtimeNS)
	case got.Type == TypeFile && got.Size != want.Size:
		return fmt.Sprintf("size %d, manifest says %d", got.Size, want.Size)
	}
	switch got.Type {
	case TypeSymlink:
		l, err := os.Readlink(n.abs)
		if err != nil {
			return "readlink: " + err.Error()
		}
		if l != want.Link {
			return fmt.Sprintf("link %q, manifest says %q", l, want.Link)
		}
	case TypeFile:
		if !rehash {
			return ""
		}
		f, err := openNoAtime(n.abs)
		if err != nil {
			return "open: " + err.Error()
		}
		defer f.Close()
		sum, err := hashCopy(io.Discard, f, h, buf)
		if err != nil {
			return "read: " + err.Error()
		}
		if sum != want.SHA256 {
			return fmt.Sprintf("sha256 %s, manifest says %s", sum, want.SHA256)
		}
	}
	return ""
}

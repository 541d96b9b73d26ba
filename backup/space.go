package backup

import (
	"context"
	"fmt"
)

// Estimate walks source as Create would (same excludes) and returns the
// number of entries and the bytes of regular-file data, counting each
// hardlinked file once; a preflight compares it with FreeBytes of the
// destination (the archive is smaller: zstd compresses mail 2-4x).
func Estimate(ctx context.Context, source string, excludes []string) (files, bytes int64, err error) {
	skip, err := newPrefixSet(excludes)
	if err != nil {
		return 0, 0, fmt.Errorf("estimate: %w", err)
	}
	seen := map[fileID]bool{}
	match := func(rel string) bool { return wizardName(rel) || skip.match(rel) }
	// Lenient: the preflight sizes a live server root, whose queue delivers.
	err = walkTreeLenient(ctx, source, match, func(n node) error {
		files++
		if n.fi.Mode().IsRegular() {
			if n.st.Nlink > 1 {
				id := fileID{uint64(n.st.Dev), n.st.Ino}
				if seen[id] {
					return nil
				}
				seen[id] = true
			}
			bytes += n.st.Size
		}
		return nil
	}, true)
	if err != nil {
		return 0, 0, fmt.Errorf("estimate: %w", err)
	}
	return files, bytes, nil
}

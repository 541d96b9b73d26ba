package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ExitVerifyFailed is the exit status `mswizard backup verify` and
// `backup restore` use when the archive, manifest or restored tree disagree
// (a *VerifyError); main maps errors to statuses with ExitCode.
const ExitVerifyFailed = 5

// ExitCode returns ExitVerifyFailed for a *VerifyError anywhere in err's
// chain, 1 for other errors and 0 for nil.
func ExitCode(err error) int {
	var ve *VerifyError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ve):
		return ExitVerifyFailed
	}
	return 1
}

// DefaultName returns the archive base name for a source at a time, e.g.
// "server-root-20260102T030405Z".
func DefaultName(source string, t time.Time) string {
	base := filepath.Base(filepath.Clean(source))
	if base == "/" || base == "." {
		base = "root"
	}
	return base + "-" + t.UTC().Format("20060102T150405Z")
}

// RunCreate is `mswizard backup create --source DIR --dest DIR [--exclude P]`:
// it writes and verifies an archive, then prints the archive path, the
// manifest path and the manifest's sha256, one per line.
func RunCreate(ctx context.Context, out io.Writer, source, dest string, exclude []string, now func() time.Time) (Result, error) {
	if now == nil {
		now = time.Now
	}
	res, err := Create(ctx, Options{Source: source, Dest: dest, Name: DefaultName(source, now()), Exclude: exclude, Verify: true})
	if err != nil {
		return res, err
	}
	_, err = fmt.Fprintf(out, "archive: %s\nmanifest: %s\nmanifest sha256: %s\n", res.Archive, res.Manifest, res.ManifestSHA256)
	return res, err
}

// RunVerify is `mswizard backup verify PATH`: PATH is the archive (or its
// manifest); it prints "ok" and the entry count, or returns the *VerifyError
// naming the first bad entry.
func RunVerify(ctx context.Context, out io.Writer, path string) error {
	archive := path
	if strings.HasSuffix(path, ManifestSuffix) {
		archive = strings.TrimSuffix(path, ManifestSuffix) + ArchiveSuffix
	}
	manifest := ManifestPath(archive)
	if err := Verify(ctx, archive, manifest, nil); err != nil {
		return err
	}
	t, err := readTrailer(manifest)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	_, err = fmt.Fprintf(out, "ok: %s: %d entries, %d files, %d bytes match %s\n", archive, t.Entries, t.Files, t.Bytes, manifest)
	return err
}

// RunRestore is `mswizard backup restore PATH --target DIR`.
func RunRestore(ctx context.Context, out io.Writer, path, target string) error {
	if err := Restore(ctx, path, RestoreOptions{Target: target}); err != nil {
		return err
	}
	_, err := fmt.Fprintf(out, "restored %s into %s\n", path, target)
	return err
}

// Dropped lists the paths of target that the archive's manifest records as
// left out of the archive (Excluded) and that exist: a restore replaces the
// whole target, so it would delete them and could not bring them back.
func Dropped(manifest, target string) ([]string, error) {
	m, err := OpenManifest(manifest)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	var out []string
	for _, rel := range m.Header.Excluded {
		p := filepath.Join(target, filepath.FromSlash(rel))
		if _, err := os.Lstat(p); err == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

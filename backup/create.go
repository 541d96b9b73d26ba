package backup

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/klauspost/compress/zstd"

	"mswizard/internal/atomicfile"
)

// ErrChanged reports a file whose size, mtime, ctime or identity changed
// between its stat and the end of its read: the archived copy is not a
// consistent snapshot of it, so the backup fails.
var ErrChanged = errors.New("file changed while being read")

// Progress is a snapshot handed to progress callbacks. Totals are zero when
// not known in advance.
type Progress struct {
	Phase      string // "create", "verify", "restore"
	Path       string // entry being processed
	Files      int64  // entries done
	Bytes      int64  // file bytes done
	TotalFiles int64
	TotalBytes int64
}

// Options says what Create archives and where.
type Options struct {
	Source   string   // directory to archive
	Dest     string   // directory for the archive and manifest; created 0700
	Name     string   // base name: NAME.tar.zst and NAME.manifest.jsonl
	Exclude  []string // relative paths left out with everything below them
	Progress func(Progress)
	// TotalFiles and TotalBytes are what the caller expects to archive (as
	// Estimate measured it before: entries, and regular files' bytes), handed
	// to Progress so a face can show an ETA; zero when unknown.
	TotalFiles, TotalBytes int64
	// Level is the zstd level; zero means DefaultLevel (SpeedFastest).
	// zstd.SpeedDefault (about `zstd -3`) gives 3-4% smaller archives for
	// about 35% more compression CPU.
	Level zstd.EncoderLevel
	// Verify re-reads the finished archive against its manifest before the
	// files get their final names, so a final name always means verified.
	Verify bool

	afterOpen func(rel string) // test hook: runs after a file is opened and stat'ed
	// openDest opens the archive's and the manifest's .partial files; nil
	// means os.OpenFile. A test gives files whose Sync or Close fail after
	// every write succeeded (FAULTS.md B2: ENOSPC reported only then).
	openDest func(name string) (destFile, error)
}

// destFile is what Create needs of the files it writes: the archive and the
// manifest are written, fsynced, stat'ed and closed, and each error counts.
type destFile interface {
	io.Writer
	Sync() error
	Close() error
	Stat() (fs.FileInfo, error)
	Chmod(fs.FileMode) error
}

func openPartial(name string) (destFile, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
}

// Result describes a finished backup.
type Result struct {
	Archive        string
	Manifest       string
	ManifestSHA256 string
	Files          int64 // regular files archived (hardlinks excluded)
	Bytes          int64 // their bytes
	Entries        int64 // all archive entries
	Skipped        int64 // sockets and devices listed but not archived
	ArchiveSize    int64
	Duration       time.Duration
}

// Create writes Dest/NAME.tar.zst and Dest/NAME.manifest.jsonl from Source.
//
// The archive is a PAX tar (nanosecond mtimes, numeric uid/gid, no user
// names) of a sorted depth-first walk, so the same tree gives the same bytes,
// compressed as independent zstd frames (FramedZstd). Every file is hashed
// while it is read. It is written as NAME.tar.zst.partial and renamed only
// after the compressor's Close, fsync and (with Options.Verify) a verify; the
// manifest is renamed first, so an archive under its final name always has its
// manifest. Create refuses to overwrite an existing archive; a leftover
// .partial from a killed run is replaced. Any error removes the partial files.
//
// The tar stream is driven with archive/tar rather than archives.Tar: that
// writer cannot emit hardlink entries, takes the whole file list up front,
// rounds mtimes unless told the format, and offers no hook to hash data or to
// detect a file changing under it.
func Create(ctx context.Context, opt Options) (res Result, err error) {
	start := time.Now()
	if opt.Source == "" || opt.Dest == "" || opt.Name == "" {
		return res, errors.New("backup: source, dest and name are required")
	}
	if strings.ContainsRune(opt.Name, '/') {
		return res, fmt.Errorf("backup: name %q must not contain '/'", opt.Name)
	}
	src, err := filepath.Abs(opt.Source)
	if err != nil {
		return res, fmt.Errorf("backup: %w", err)
	}
	dest, err := filepath.Abs(opt.Dest)
	if err != nil {
		return res, fmt.Errorf("backup: %w", err)
	}
	excl := append([]string(nil), opt.Exclude...)
	// The destination inside the source would archive itself while growing.
	if rel, err := filepath.Rel(src, dest); err == nil && filepath.IsLocal(rel) {
		excl = append(excl, rel)
	}
	skip, err := newPrefixSet(excl)
	if err != nil {
		return res, fmt.Errorf("backup: %w", err)
	}
	if err := os.MkdirAll(dest, 0o700); err != nil {
		return res, fmt.Errorf("backup: %w", err)
	}
	res.Archive = filepath.Join(dest, opt.Name+ArchiveSuffix)
	res.Manifest = filepath.Join(dest, opt.Name+ManifestSuffix)
	if _, err := os.Lstat(res.Archive); err == nil {
		return res, fmt.Errorf("backup: %s: %w", res.Archive, fs.ErrExist)
	}
	partA, partM := res.Archive+".partial", res.Manifest+".partial"
	open := opt.openDest
	if open == nil {
		open = openPartial
	}
	af, err := open(partA)
	if err != nil {
		return res, fmt.Errorf("backup: %w", err)
	}
	mf, err := open(partM)
	if err != nil {
		af.Close()
		os.Remove(partA)
		return res, fmt.Errorf("backup: %w", err)
	}
	defer func() {
		if err != nil {
			af.Close()
			mf.Close()
			err = errors.Join(err, rmIfExists(partA), rmIfExists(partM))
		}
	}()
	// Both files get 0600 whatever the umask.
	if err := errors.Join(af.Chmod(0o600), mf.Chmod(0o600)); err != nil {
		return res, fmt.Errorf("backup: %w", err)
	}

	zw, err := FramedZstd{Level: opt.Level}.OpenWriter(af)
	if err != nil {
		return res, fmt.Errorf("backup: %w", err)
	}
	c := &creator{
		tw:       tar.NewWriter(zw),
		mw:       newManifestWriter(mf),
		links:    map[fileID]linkInfo{},
		buf:      make([]byte, 1<<20),
		progress: opt.Progress,
		total:    Progress{TotalFiles: opt.TotalFiles, TotalBytes: opt.TotalBytes},
		archive:  partA,
		hook:     opt.afterOpen,
	}
	hdr := ManifestHeader{Version: ManifestVersion, Archive: filepath.Base(res.Archive), Source: src, Excluded: skip, Policy: policyText}
	if err := c.mw.header(hdr); err != nil {
		zw.Close()
		return res, fmt.Errorf("backup: write manifest: %w", err)
	}
	// The wizard's own top-level names (a content swap's staging, old entries
	// and state, carried mail) are never archived.
	match := func(rel string) bool { return wizardName(rel) || skip.match(rel) }
	if err := walkTree(ctx, src, match, c.add); err != nil {
		zw.Close()
		return res, err
	}
	if err := c.tw.Close(); err != nil {
		zw.Close()
		return res, fmt.Errorf("backup: finish tar %s (last entry %s): %w", partA, c.last, err)
	}
	// The last frame is compressed and written here: its error matters.
	if err := zw.Close(); err != nil {
		return res, fmt.Errorf("backup: finish archive %s (last entry %s): %w", partA, c.last, err)
	}
	if err := af.Sync(); err != nil {
		return res, fmt.Errorf("backup: sync %s: %w", partA, err)
	}
	if err := c.mw.trailer(ManifestTrailer{Entries: c.entries, Files: c.files, Bytes: c.bytes, Skipped: c.skipped}); err != nil {
		return res, fmt.Errorf("backup: write manifest: %w", err)
	}
	sum, err := c.mw.finish()
	if err != nil {
		return res, fmt.Errorf("backup: write manifest %s: %w", partM, err)
	}
	fi, err := af.Stat()
	if err != nil {
		return res, fmt.Errorf("backup: %w", err)
	}
	if err := errors.Join(af.Close(), mf.Close()); err != nil {
		return res, fmt.Errorf("backup: close: %w", err)
	}
	if opt.Verify {
		if err := Verify(ctx, partA, partM, opt.Progress); err != nil {
			return res, fmt.Errorf("backup: verify after writing: %w", err)
		}
	}
	if err := os.Rename(partM, res.Manifest); err != nil {
		return res, fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(partA, res.Archive); err != nil {
		return res, fmt.Errorf("backup: %w", err)
	}
	if err := atomicfile.SyncDir(dest); err != nil {
		return res, fmt.Errorf("backup: %w", err)
	}
	res.ManifestSHA256 = sum
	res.Files, res.Bytes, res.Entries, res.Skipped = c.files, c.bytes, c.entries, c.skipped
	res.ArchiveSize = fi.Size()
	res.Duration = time.Since(start)
	return res, nil
}

type fileID struct{ dev, ino uint64 }

type linkInfo struct {
	path string
	sum  string
	size int64
}

type creator struct {
	tw       *tar.Writer
	mw       *manifestWriter
	links    map[fileID]linkInfo // files with more than one name, by first name
	buf      []byte
	progress func(Progress)
	total    Progress // the expected totals
	archive  string
	hook     func(rel string)
	last     string // last entry added, to name it in late write errors

	entries, files, bytes, skipped int64
}

func tarName(e Entry) string {
	switch {
	case e.Path == ".":
		return "./"
	case e.Type == TypeDir:
		return e.Path + "/"
	}
	return e.Path
}

func (c *creator) add(n node) error {
	e := entryOf(n)
	c.last = e.Path
	if e.Skipped != "" {
		c.skipped++
		if err := c.mw.entry(e); err != nil {
			return fmt.Errorf("backup: write manifest: %w", err)
		}
		return nil
	}
	hdr := &tar.Header{
		Name:    tarName(e),
		Mode:    int64(e.Mode),
		Uid:     e.UID,
		Gid:     e.GID,
		ModTime: time.Unix(0, e.MtimeNS),
		Format:  tar.FormatPAX,
	}
	var err error
	switch e.Type {
	case TypeDir:
		hdr.Typeflag = tar.TypeDir
		err = c.tw.WriteHeader(hdr)
	case TypeSymlink:
		if e.Link, err = os.Readlink(n.abs); err != nil {
			return fmt.Errorf("backup %s: %w", e.Path, err)
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, e.Link
		err = c.tw.WriteHeader(hdr)
	case TypeFIFO:
		hdr.Typeflag = tar.TypeFifo
		err = c.tw.WriteHeader(hdr)
	case TypeFile:
		id := fileID{uint64(n.st.Dev), n.st.Ino}
		if first, ok := c.links[id]; ok && n.st.Nlink > 1 {
			e.Type, e.Link, e.SHA256, e.Size = TypeHardlink, first.path, first.sum, first.size
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, first.path
			err = c.tw.WriteHeader(hdr)
			break
		}
		if e.SHA256, e.Size, err = c.addFile(n, hdr); err != nil {
			return err
		}
		if n.st.Nlink > 1 {
			c.links[id] = linkInfo{path: e.Path, sum: e.SHA256, size: e.Size}
		}
		c.files++
		c.bytes += e.Size
	}
	if err != nil {
		return fmt.Errorf("backup %s: write %s: %w", e.Path, c.archive, err)
	}
	c.entries++
	if err := c.mw.entry(e); err != nil {
		return fmt.Errorf("backup %s: write manifest: %w", e.Path, err)
	}
	if c.progress != nil {
		p := Progress{Phase: "create", Path: e.Path, Files: c.entries, Bytes: c.bytes}
		// A tree that grew since it was measured (a live queue) never
		// shows more than 100%.
		if c.total.TotalFiles > 0 {
			p.TotalFiles = max(c.total.TotalFiles, c.entries)
		}
		if c.total.TotalBytes > 0 {
			p.TotalBytes = max(c.total.TotalBytes, c.bytes)
		}
		c.progress(p)
	}
	return nil
}

// addFile writes the header and data of a regular file, hashing as it reads,
// and fails with ErrChanged if the file is not the one stat'ed by the walk or
// changes before the read ends.
func (c *creator) addFile(n node, hdr *tar.Header) (string, int64, error) {
	f, err := openNoAtime(n.abs)
	if err != nil {
		return "", 0, fmt.Errorf("backup %s: %w", n.rel, err)
	}
	defer f.Close()
	var before syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &before); err != nil {
		return "", 0, fmt.Errorf("backup %s: %w", n.rel, err)
	}
	if before.Ino != n.st.Ino || before.Dev != n.st.Dev || before.Mode&syscall.S_IFMT != syscall.S_IFREG ||
		before.Size != n.st.Size || before.Mtim != n.st.Mtim {
		return "", 0, fmt.Errorf("backup %s: %w (replaced or modified after the walk saw it)", n.rel, ErrChanged)
	}
	if c.hook != nil {
		c.hook(n.rel)
	}
	hdr.Typeflag, hdr.Size = tar.TypeReg, before.Size
	if err := c.tw.WriteHeader(hdr); err != nil {
		return "", 0, fmt.Errorf("backup %s: write %s: %w", n.rel, c.archive, err)
	}
	h := sha256.New()
	left := before.Size
	for left > 0 {
		chunk := c.buf[:min(int64(len(c.buf)), left)]
		k, rerr := io.ReadFull(f, chunk)
		if k > 0 {
			h.Write(chunk[:k])
			if _, err := c.tw.Write(chunk[:k]); err != nil {
				return "", 0, fmt.Errorf("backup %s: write %s: %w", n.rel, c.archive, err)
			}
			left -= int64(k)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			return "", 0, fmt.Errorf("backup %s: %w (shrank while read)", n.rel, ErrChanged)
		}
		if rerr != nil {
			return "", 0, fmt.Errorf("backup %s: read: %w", n.rel, rerr)
		}
	}
	if k, _ := f.Read(c.buf[:1]); k > 0 {
		return "", 0, fmt.Errorf("backup %s: %w (grew while read)", n.rel, ErrChanged)
	}
	var after syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &after); err != nil {
		return "", 0, fmt.Errorf("backup %s: %w", n.rel, err)
	}
	if after.Size != before.Size || after.Mtim != before.Mtim || after.Ctim != before.Ctim {
		return "", 0, fmt.Errorf("backup %s: %w (size, mtime or ctime differs after the read)", n.rel, ErrChanged)
	}
	return hex.EncodeToString(h.Sum(nil)), before.Size, nil
}

// openNoAtime opens a file for reading without following a final symlink and,
// where permitted, without updating its atime.
func openNoAtime(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|oNoAtime, 0)
	if errors.Is(err, syscall.EPERM) {
		f, err = os.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	}
	return f, err
}

func rmIfExists(name string) error {
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

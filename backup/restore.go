package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"mswizard/internal/atomicfile"
)

// ErrUnsafeEntry marks an archive entry refused by the confined extractor: an
// absolute or '..' name, a name that is not clean, a duplicate name, an entry
// below something that is not a directory of this archive (a symlink), or a
// hardlink to anything but a file already extracted.
var ErrUnsafeEntry = errors.New("unsafe archive entry")

// RestoreOptions says where Restore puts a tree.
type RestoreOptions struct {
	Target string // directory to replace (need not exist)
	// Staging is an empty or absent directory on Target's filesystem; the
	// default is .BASE.restore-staging beside Target, removed if left over.
	Staging  string
	Manifest string // default ManifestPath(archive)
	Progress func(Progress)
	Now      func() time.Time // names Target.old-TS; default time.Now

	// Contents restores by swapping Target's top-level entries instead of
	// Target itself (see restoreContents); it is chosen by itself when
	// Target is a mount point, which cannot be renamed.
	Contents bool
	// Keep lists top-level names of Target a content swap leaves in place,
	// neither moved aside nor restored (e.g. mail carried through it).
	Keep []string
	// ManifestSHA256, when set, is the manifest's sha256 as recorded when the
	// archive was made; a manifest that differs is refused before anything is
	// extracted or moved (CheckManifestHash).
	ManifestSHA256 string

	afterMove    func()             // test hook: runs after Target was moved aside
	contentsHook func(point string) // test hook: named points of a content swap
}

// RestoreInto extracts an archive into dir (absent or empty; created 0700)
// through os.Root, applies owners (when running as root), modes and mtimes
// (directories last), and verifies the result against the manifest beside
// the archive. Refused entries fail with ErrUnsafeEntry and nothing is
// written outside dir; mismatches fail with *VerifyError. On error dir holds a
// partial tree the caller should remove.
func RestoreInto(ctx context.Context, archivePath, dir string, progress func(Progress)) error {
	return restoreInto(ctx, archivePath, ManifestPath(archivePath), dir, progress)
}

func restoreInto(ctx context.Context, archivePath, manifestPath, dir string, progress func(Progress)) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("restore: %w", err)
	}
	names, err := readNames(dir)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if len(names) > 0 {
		return fmt.Errorf("restore: %s is not empty", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer root.Close()
	x := &extractor{root: root, owner: os.Geteuid() == 0, umask: processUmask(), dirs: map[string]bool{".": true}, buf: make([]byte, 1<<20), h: sha256.New(),
		jobs: make(chan fileJob, 32)}
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() { x.work(sha256.New(), make([]byte, 256<<10)) })
	}
	err = readArchive(ctx, archivePath, manifestPath, "restore", progress, x.visit)
	close(x.jobs)
	wg.Wait()
	x.closeParent()
	// The writer's error concerns an earlier entry than any found after it.
	if werr := x.writeErr(); werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	return x.finishDirs(ctx)
}

// smallFile is the size up to which file data is read into memory and
// written by the writer goroutine while the archive is read on; larger files
// stream inline after the writer has caught up.
const smallFile = 1 << 20

// fileJob is a small file for the writer goroutine.
type fileJob struct {
	dir  *parentDir
	base string
	hdr  tar.Header
	want Entry
	data *[]byte
}

// parentDir is a confined handle on a directory from this archive, shared
// by the extractor's cache and queued jobs; the last release closes it.
type parentDir struct {
	root *os.Root
	f    *os.File
	refs atomic.Int32
}

func (p *parentDir) release() {
	if p.refs.Add(-1) == 0 {
		p.root.Close()
		p.f.Close()
	}
}

// writers is the number of goroutines writing small files. Each blocks in
// write(2) part of the time; three keep two cores busy alongside the frame
// decoders and the archive reader (measured: 2 gave 2.35 s, 3 gave 2.27 s).
const writers = 3

// work writes queued small files, checking each sha256 against the manifest.
func (x *extractor) work(h hash.Hash, buf []byte) {
	for j := range x.jobs {
		if x.writeErr() == nil {
			sum, err := x.writeFile(j.dir, j.base, &j.hdr, j.want, memData(*j.data), h, buf)
			if err == nil && sum != j.want.SHA256 {
				err = &VerifyError{Entry: j.want.Path, Reason: fmt.Sprintf("sha256 %s, manifest says %s", sum, j.want.SHA256)}
			}
			if err != nil {
				x.werrMu.Lock()
				if x.werr == nil {
					x.werr = err
				}
				x.werrMu.Unlock()
			}
		}
		j.dir.release()
		x.bufs.Put(j.data)
		x.pending.Done()
	}
}

func (x *extractor) writeErr() error {
	x.werrMu.Lock()
	defer x.werrMu.Unlock()
	return x.werr
}

// writeFile creates base in pr exclusively, copies src into it while
// hashing, applies metadata and checks what landed.
func (x *extractor) writeFile(pd *parentDir, base string, hdr *tar.Header, want Entry, src io.Reader, h hash.Hash, buf []byte) (string, error) {
	// openat on the directory fd that os.Root opened, with a single checked
	// name component and O_EXCL|O_NOFOLLOW: as confined as Root.OpenFile,
	// without an *os.File per file (a tenth of the restore's CPU here).
	// Created with its final permission bits, so most files need no chmod.
	fd, err := unix.Openat(int(pd.f.Fd()), base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(want.Mode&0o777))
	if err != nil {
		if errors.Is(err, unix.EEXIST) {
			return "", unsafeEntry(hdr.Name, "duplicate name")
		}
		return "", fmt.Errorf("restore %s: %w", want.Path, err)
	}
	w := &sparseWriter{fd: fd}
	sum, n, err := hashCopyN(w, src, h, buf)
	if err == nil && w.hole {
		// The file ends in a hole: its size comes from the truncate.
		err = unix.Ftruncate(fd, n)
	}
	if err == nil && n != want.Size {
		err = &VerifyError{Entry: want.Path, Reason: fmt.Sprintf("%d bytes written, manifest says %d", n, want.Size)}
	}
	if err == nil {
		err = x.fileMeta(fd, hdr, want)
	}
	if cerr := unix.Close(fd); err == nil && cerr != nil {
		err = fmt.Errorf("restore %s: %w", want.Path, cerr)
	}
	return sum, err
}

// sparseWriter writes to a raw file descriptor and leaves every block-aligned
// run of zeros as a hole (lseek over it), so a sparse file — a store database,
// a preallocated log — comes back sparse, not dense (FAULTS.md B7). The bytes
// read back are the same; only the allocation differs. A file that ends in a
// hole is sized by ftruncate after the copy (hole says so).
type sparseWriter struct {
	fd   int
	off  int64
	hole bool // the last bytes were skipped, not written
}

const sparseBlock = 4096

var zeroBlock [sparseBlock]byte

func (w *sparseWriter) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		// Up to the next block boundary of the file: holes are whole blocks.
		end := n + sparseBlock - int(w.off%sparseBlock)
		end = min(end, len(p))
		chunk := p[n:end]
		if len(chunk) == sparseBlock && bytes.Equal(chunk, zeroBlock[:]) {
			if _, err := unix.Seek(w.fd, sparseBlock, io.SeekCurrent); err != nil {
				return n, err
			}
			w.off += sparseBlock
			w.hole = true
			n = end
			continue
		}
		for len(chunk) > 0 {
			k, err := unix.Write(w.fd, chunk)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return n, err
			}
			chunk = chunk[k:]
			n += k
			w.off += int64(k)
		}
		w.hole = false
	}
	return n, nil
}

type extractor struct {
	root       *os.Root
	owner      bool // apply uid/gid (running as root)
	umask      uint32
	dirs       map[string]bool // directories created from this archive
	seen       bool            // root entry "./" met
	dirEntries []Entry         // directories, in archive order, for finishDirs

	pdir string     // cached parent directory (relative)
	pcur *parentDir // its handle

	buf []byte
	h   hash.Hash

	jobs    chan fileJob
	pending sync.WaitGroup // queued jobs not yet written
	bufs    sync.Pool      // *[]byte of cap smallFile
	werrMu  sync.Mutex
	werr    error // first error of a writer goroutine
}

func (x *extractor) closeParent() {
	if x.pcur != nil {
		x.pcur.release()
		x.pcur, x.pdir = nil, ""
	}
}

// parent returns the handle of a directory created from this archive.
func (x *extractor) parent(dir string) (*parentDir, error) {
	if x.pcur != nil && x.pdir == dir {
		return x.pcur, nil
	}
	x.closeParent()
	r, err := x.root.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	f, err := r.Open(".")
	if err != nil {
		r.Close()
		return nil, err
	}
	p := &parentDir{root: r, f: f}
	p.refs.Store(1)
	x.pdir, x.pcur = dir, p
	return p, nil
}

// drain waits until the writer goroutine has written every queued file.
func (x *extractor) drain() error {
	x.pending.Wait()
	return x.writeErr()
}

func unsafeEntry(name, why string) error {
	return fmt.Errorf("restore %q: %w: %s", name, ErrUnsafeEntry, why)
}

// cleanName checks an archive name and returns it without a trailing slash.
func cleanName(name string) (string, error) {
	n := strings.TrimSuffix(name, "/")
	switch {
	case n == "" || strings.ContainsRune(n, 0):
		return "", unsafeEntry(name, "empty name")
	case strings.HasPrefix(n, "/"):
		return "", unsafeEntry(name, "absolute name")
	case !filepath.IsLocal(n) || strings.Contains("/"+n+"/", "/../"):
		return "", unsafeEntry(name, "name leaves the target")
	case path.Clean(n) != n:
		return "", unsafeEntry(name, "name is not clean")
	}
	return n, nil
}

func (x *extractor) visit(ctx context.Context, hdr *tar.Header, want Entry, data io.Reader) (string, error) {
	if hdr.Name == "./" && hdr.Typeflag == tar.TypeDir {
		if x.seen {
			return "", unsafeEntry(hdr.Name, "duplicate name")
		}
		x.seen = true
		x.dirEntries = append(x.dirEntries, want)
		return "", nil // metadata applied with the other directories
	}
	name, err := cleanName(hdr.Name)
	if err != nil {
		return "", err
	}
	dir, base := path.Split(name)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		dir = "."
	}
	if !x.dirs[dir] {
		return "", unsafeEntry(hdr.Name, "parent is not a directory extracted from this archive")
	}
	if err := x.writeErr(); err != nil {
		return "", err
	}
	pd, err := x.parent(dir)
	if err != nil {
		return "", fmt.Errorf("restore %s: %w", name, err)
	}
	pr, pfd := pd.root, int(pd.f.Fd())
	dup := func(err error) error {
		if errors.Is(err, fs.ErrExist) {
			return unsafeEntry(hdr.Name, "duplicate name")
		}
		return fmt.Errorf("restore %s: %w", name, err)
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := pr.Mkdir(base, 0o700); err != nil {
			return "", dup(err)
		}
		x.dirs[name] = true
		x.dirEntries = append(x.dirEntries, want)
		return "", nil
	case tar.TypeReg:
		if hdr.Size > smallFile {
			if err := x.drain(); err != nil {
				return "", err
			}
			return x.writeFile(pd, base, hdr, want, data, x.h, x.buf)
		}
		bp, _ := x.bufs.Get().(*[]byte)
		if bp == nil {
			b := make([]byte, 0, smallFile)
			bp = &b
		}
		*bp = (*bp)[:hdr.Size]
		if _, err := io.ReadFull(data, *bp); err != nil {
			x.bufs.Put(bp)
			return "", err
		}
		pd.refs.Add(1)
		x.pending.Add(1)
		x.jobs <- fileJob{dir: pd, base: base, hdr: *hdr, want: want, data: bp}
		return asyncSum, nil
	case tar.TypeSymlink:
		// The target is data: server-roots hold absolute links into the OS.
		// It is never followed here: entries below it are refused above.
		if err := pr.Symlink(hdr.Linkname, base); err != nil {
			return "", dup(err)
		}
		if err := x.atMeta(pfd, base, hdr, true); err != nil {
			return "", err
		}
		return "", checkLanded(fstatat(pfd, base))(want)
	case tar.TypeFifo:
		if err := unix.Mkfifoat(pfd, base, 0o600); err != nil {
			return "", dup(err)
		}
		if err := x.atMeta(pfd, base, hdr, false); err != nil {
			return "", err
		}
		return "", checkLanded(fstatat(pfd, base))(want)
	case tar.TypeLink:
		target, err := cleanName(hdr.Linkname)
		if err != nil {
			return "", unsafeEntry(hdr.Name, "hardlink target "+err.Error())
		}
		td, _ := path.Split(target)
		td = strings.TrimSuffix(td, "/")
		if td == "" {
			td = "."
		}
		if err := x.drain(); err != nil {
			return "", err
		}
		fi, err := x.root.Lstat(target)
		if !x.dirs[td] || err != nil || !fi.Mode().IsRegular() {
			return "", unsafeEntry(hdr.Name, "hardlink target is not a file extracted before it")
		}
		if err := x.root.Link(target, name); err != nil {
			return "", dup(err)
		}
		return "", nil
	}
	return "", unsafeEntry(hdr.Name, fmt.Sprintf("entry type %q not restored", hdr.Typeflag))
}

// fileMode converts st_mode permission bits to an os.FileMode.
func fileMode(p Perm) os.FileMode {
	m := os.FileMode(p & 0o777)
	if p&0o4000 != 0 {
		m |= os.ModeSetuid
	}
	if p&0o2000 != 0 {
		m |= os.ModeSetgid
	}
	if p&0o1000 != 0 {
		m |= os.ModeSticky
	}
	return m
}

// fileMeta sets owner, then mode when the create mode could not carry it
// (setuid/setgid/sticky, which chown would clear anyway, or bits the umask
// removed), then times on an open file. Each call's success is the check
// that the manifest's metadata landed.
func (x *extractor) fileMeta(fd int, hdr *tar.Header, want Entry) error {
	if x.owner {
		if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
			return fmt.Errorf("restore %s: %w", want.Path, err)
		}
	}
	if want.Mode&0o7000 != 0 || uint32(want.Mode)&x.umask != 0 {
		if err := unix.Fchmod(fd, uint32(want.Mode)); err != nil {
			return fmt.Errorf("restore %s: %w", want.Path, err)
		}
	}
	if err := futimens(fd, hdr.ModTime); err != nil {
		return fmt.Errorf("restore %s: set mtime: %w", want.Path, err)
	}
	return nil
}

// processUmask reads the umask from /proc/self/status without changing it
// (umask(2) would race with other goroutines creating files); when it cannot
// be read, 0777 makes every file get an explicit chmod.
func processUmask() uint32 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0o777
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			if err == nil {
				return uint32(m)
			}
		}
	}
	return 0o777
}

// atMeta sets metadata of a single-component name in a confined directory fd.
func (x *extractor) atMeta(dirfd int, base string, hdr *tar.Header, link bool) error {
	flags := 0
	if link {
		flags = unix.AT_SYMLINK_NOFOLLOW
	}
	if x.owner {
		if err := unix.Fchownat(dirfd, base, hdr.Uid, hdr.Gid, flags); err != nil {
			return fmt.Errorf("restore %s: %w", hdr.Name, err)
		}
	}
	if !link { // a symlink's own mode is always 0777 on Linux
		if err := unix.Fchmodat(dirfd, base, uint32(hdr.Mode&0o7777), 0); err != nil {
			return fmt.Errorf("restore %s: %w", hdr.Name, err)
		}
	}
	ts := unix.NsecToTimespec(hdr.ModTime.UnixNano())
	if err := unix.UtimesNanoAt(dirfd, base, []unix.Timespec{ts, ts}, flags|unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("restore %s: set mtime: %w", hdr.Name, err)
	}
	return nil
}

// finishDirs applies directory owners, modes and mtimes after every entry is
// in place (creating children changes a directory's mtime, and a read-only
// mode would have blocked them), then checks what landed.
func (x *extractor) finishDirs(ctx context.Context) error {
	for _, e := range x.dirEntries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if x.owner {
			if err := x.root.Chown(e.Path, e.UID, e.GID); err != nil {
				return fmt.Errorf("restore %s: %w", e.Path, err)
			}
		}
		if err := x.root.Chmod(e.Path, fileMode(e.Mode)); err != nil {
			return fmt.Errorf("restore %s: %w", e.Path, err)
		}
		t := time.Unix(0, e.MtimeNS)
		if err := x.root.Chtimes(e.Path, t, t); err != nil {
			return fmt.Errorf("restore %s: %w", e.Path, err)
		}
	}
	for _, e := range x.dirEntries {
		if err := checkLanded(x.root.Lstat(e.Path))(e); err != nil {
			return err
		}
	}
	return nil
}

func fstatat(dirfd int, base string) (fs.FileInfo, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil, err
	}
	return statInfo{st}, nil
}

// statInfo carries a unix.Stat_t where checkLanded expects an fs.FileInfo.
type statInfo struct{ st unix.Stat_t }

func (s statInfo) Name() string       { return "" }
func (s statInfo) Size() int64        { return s.st.Size }
func (s statInfo) Mode() fs.FileMode  { return 0 }
func (s statInfo) ModTime() time.Time { return time.Unix(0, s.st.Mtim.Nano()) }
func (s statInfo) IsDir() bool        { return s.st.Mode&unix.S_IFMT == unix.S_IFDIR }
func (s statInfo) Sys() any           { return &s.st }

// checkLanded returns a check that the stat of a restored entry matches its
// manifest entry (type, mode, owner when root, mtime, size): the manifest
// verification of the restored tree, done as each entry is finished.
func checkLanded(fi fs.FileInfo, err error) func(Entry) error {
	return func(want Entry) error {
		if err != nil {
			return fmt.Errorf("restore %s: %w", want.Path, err)
		}
		var mode, uid, gid uint32
		var mtime int64
		switch st := fi.Sys().(type) {
		case *syscall.Stat_t:
			mode, uid, gid, mtime = st.Mode, st.Uid, st.Gid, st.Mtim.Nano()
		case *unix.Stat_t:
			mode, uid, gid, mtime = st.Mode, st.Uid, st.Gid, st.Mtim.Nano()
		}
		got := Entry{Path: want.Path, Mode: Perm(mode & 0o7777), UID: int(uid), GID: int(gid), MtimeNS: mtime}
		got.Type = entryOf(node{rel: want.Path, st: &syscall.Stat_t{Mode: mode}}).Type
		if got.Type == TypeFile {
			got.Size = fi.Size()
		}
		var why string
		switch {
		case got.Type != want.Type:
			why = fmt.Sprintf("type %s, manifest says %s", got.Type, want.Type)
		case got.Type != TypeSymlink && got.Mode != want.Mode:
			why = fmt.Sprintf("mode %s, manifest says %s", got.Mode, want.Mode)
		case os.Geteuid() == 0 && (got.UID != want.UID || got.GID != want.GID):
			why = fmt.Sprintf("owner %d:%d, manifest says %d:%d", got.UID, got.GID, want.UID, want.GID)
		case got.MtimeNS != want.MtimeNS:
			why = fmt.Sprintf("mtime %d, manifest says %d", got.MtimeNS, want.MtimeNS)
		case got.Size != want.Size:
			why = fmt.Sprintf("size %d, manifest says %d", got.Size, want.Size)
		}
		if why != "" {
			return &VerifyError{Entry: want.Path, Reason: "restored entry: " + why}
		}
		return nil
	}
}

// swapState is the small file that makes the swap resumable after a kill.
type swapState struct {
	Archive string `json:"archive"`
	Target  string `json:"target"`
	Staging string `json:"staging"`
	Old     string `json:"old"`
	Existed bool   `json:"target_existed"`
}

func statePath(target string) string {
	return filepath.Join(filepath.Dir(target), "."+filepath.Base(target)+".restore-state.json")
}

// Restore replaces Target with the archived tree so that either the old or the
// restored tree is live, never a mix. It extracts and verifies into Staging
// (RestoreInto), records the swap in .BASE.restore-state.json beside Target,
// renames Target to Target.old-TS, Staging to Target, then removes the old
// tree and the state file. If a previous Restore was killed during the swap,
// Restore first finishes it (the staged tree was already verified), or rolls
// back to the old tree when the staged one is gone; if that recorded restore
// was of the same archive, nothing more is done. A Target that is a mount
// point (or Contents) is restored by swapping its entries instead
// (restoreContents).
func Restore(ctx context.Context, archivePath string, opt RestoreOptions) error {
	if opt.Target == "" {
		return errors.New("restore: target is required")
	}
	target, err := filepath.Abs(filepath.Clean(opt.Target))
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	archivePath, err = filepath.Abs(archivePath)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	parent := filepath.Dir(target)
	sp := statePath(target)
	if b, err := os.ReadFile(sp); err == nil {
		var st swapState
		if err := json.Unmarshal(b, &st); err != nil {
			return fmt.Errorf("restore: state file %s: %w", sp, err)
		}
		if err := resumeSwap(st, sp); err != nil {
			return err
		}
		if st.Archive == archivePath {
			return nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("restore: %w", err)
	}
	if opt.ManifestSHA256 != "" {
		manifest := opt.Manifest
		if manifest == "" {
			manifest = ManifestPath(archivePath)
		}
		if err := CheckManifestHash(manifest, opt.ManifestSHA256); err != nil {
			return err
		}
	}

	contents := opt.Contents
	if _, err := os.Lstat(contentsStatePath(target)); err == nil {
		contents = true // a content swap a kill interrupted
	} else if m, err := IsMountPoint(target); err == nil && m {
		contents = true
	}
	if contents {
		manifest := opt.Manifest
		if manifest == "" {
			manifest = ManifestPath(archivePath)
		}
		return restoreContents(ctx, archivePath, manifest, target, opt.Keep, now, opt)
	}

	staging := opt.Staging
	if staging == "" {
		staging = filepath.Join(parent, "."+filepath.Base(target)+".restore-staging")
		// Ours by name, and no swap is pending: a leftover of a killed run.
		if err := os.RemoveAll(staging); err != nil {
			return fmt.Errorf("restore: remove leftover staging: %w", err)
		}
	}
	staging, err = filepath.Abs(staging)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	// A staging directory given by the caller is removed on failure only if
	// it was empty: it is never ours to delete otherwise.
	if names, err := readNames(staging); err == nil && len(names) > 0 {
		return fmt.Errorf("restore: staging %s is not empty", staging)
	}
	manifest := opt.Manifest
	if manifest == "" {
		manifest = ManifestPath(archivePath)
	}
	if err := restoreInto(ctx, archivePath, manifest, staging, opt.Progress); err != nil {
		return errors.Join(err, os.RemoveAll(staging))
	}
	if err := sameDevice(staging, parent); err != nil {
		return errors.Join(err, os.RemoveAll(staging))
	}
	// The extracted files were not fsynced one by one: before the swap makes
	// them live and the old tree is removed, their data must be on disk.
	if err := syncFilesystem(staging); err != nil {
		return errors.Join(fmt.Errorf("restore: sync %s: %w", staging, err), os.RemoveAll(staging))
	}
	st := swapState{Archive: archivePath, Target: target, Staging: staging,
		Old: target + ".old-" + now().UTC().Format("20060102T150405.000000000Z")}
	if _, err := os.Lstat(target); err == nil {
		st.Existed = true
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("restore: %w", err)
	}
	if err := writeFileAtomic(sp, st); err != nil {
		return fmt.Errorf("restore: record swap: %w", err)
	}
	if st.Existed {
		if err := os.Rename(target, st.Old); err != nil {
			return fmt.Errorf("restore: move %s aside: %w", target, errors.Join(err, os.Remove(sp)))
		}
		if err := atomicfile.SyncDir(parent); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	}
	if opt.afterMove != nil {
		opt.afterMove()
	}
	return resumeSwap(st, sp)
}

// resumeSwap drives a recorded swap to its end from whatever state a kill
// left: staging still present means it goes live; else the target must be.
func resumeSwap(st swapState, sp string) error {
	exists := func(p string) bool { _, err := os.Lstat(p); return err == nil }
	parent := filepath.Dir(st.Target)
	if exists(st.Staging) {
		if exists(st.Target) {
			if !st.Existed || exists(st.Old) {
				return fmt.Errorf("restore: %s, %s and %s all exist; resolve by hand (state in %s)", st.Target, st.Staging, st.Old, sp)
			}
			if err := os.Rename(st.Target, st.Old); err != nil {
				return fmt.Errorf("restore: move %s aside: %w", st.Target, err)
			}
		}
		if err := os.Rename(st.Staging, st.Target); err != nil {
			// Roll back so the old tree stays live.
			if st.Existed && exists(st.Old) {
				err = errors.Join(err, os.Rename(st.Old, st.Target))
			}
			return fmt.Errorf("restore: move %s into place: %w", st.Staging, err)
		}
		if err := atomicfile.SyncDir(parent); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	} else if !exists(st.Target) {
		if st.Existed && exists(st.Old) {
			if err := os.Rename(st.Old, st.Target); err != nil {
				return fmt.Errorf("restore: roll back %s: %w", st.Old, err)
			}
			return errors.Join(fmt.Errorf("restore: staged tree %s vanished; rolled back to the old tree", st.Staging), os.Remove(sp))
		}
		return fmt.Errorf("restore: neither %s nor %s exists; resolve by hand (state in %s)", st.Target, st.Staging, sp)
	}
	if st.Existed {
		if err := os.RemoveAll(st.Old); err != nil {
			return fmt.Errorf("restore: remove old tree: %w", err)
		}
	}
	if err := os.Remove(sp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("restore: %w", err)
	}
	return atomicfile.SyncDir(parent)
}

func sameDevice(a, b string) error {
	var sa, sb syscall.Stat_t
	if err := syscall.Stat(a, &sa); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := syscall.Stat(b, &sb); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if sa.Dev != sb.Dev {
		return fmt.Errorf("restore: staging %s is not on the filesystem of %s: the swap needs a rename", a, b)
	}
	return nil
}

// writeFileAtomic writes v as JSON, atomically and durably.
func writeFileAtomic(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(name, append(b, '\n'), 0o600)
}

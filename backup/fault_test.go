package backup

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestVerifyCatchesDamagedArchives(t *testing.T) {
	ctx := context.Background()
	_, res := newBackup(t)
	good, err := os.ReadFile(res.Archive)
	if err != nil {
		t.Fatal(err)
	}
	plain := tarOf(t, res.Archive)
	names, offs := entryOffsets(t, plain)
	if len(names) < 10 {
		t.Fatalf("only %d entries", len(names))
	}

	type damage struct {
		name      string
		data      []byte
		wantEntry string // "" accepts any entry
	}
	var cases []damage
	r := rand.New(rand.NewPCG(7, 7))
	for i := range 8 {
		off := 1 + r.IntN(len(good)-1)
		cases = append(cases, damage{name: fmt.Sprintf("truncated at random offset %d (#%d)", off, i), data: good[:off]})
	}
	cases = append(cases, damage{name: "truncated to nothing", data: nil})
	for _, pos := range []int{len(good) / 3, len(good) / 2, len(good) - 10} {
		flipped := bytes.Clone(good)
		flipped[pos] ^= 0x40
		cases = append(cases, damage{name: fmt.Sprintf("one flipped byte at %d", pos), data: flipped})
	}
	k := len(names) / 2
	cases = append(cases, damage{
		name:      "tar cut at an entry boundary and recompressed cleanly",
		data:      compress(t, plain[:offs[k]]),
		wantEntry: strings.TrimSuffix(names[k], "/"),
	})
	cases = append(cases, damage{
		name: "a damaged frame appended after the tar end",
		data: append(bytes.Clone(good), good[:len(good)/2]...),
	})
	cases = append(cases, damage{
		name:      "a file's data changed and recompressed cleanly",
		data:      compress(t, bytes.Replace(plain, []byte("service.imap.enable = 1"), []byte("service.imap.enable = 0"), 1)),
		wantEntry: "config/msg.conf",
	})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad.tar.zst")
			if err := os.WriteFile(p, c.data, 0o600); err != nil {
				t.Fatal(err)
			}
			err := Verify(ctx, p, res.Manifest, nil)
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("Verify = %v, want *VerifyError", err)
			}
			if c.wantEntry != "" && ve.Entry != c.wantEntry {
				t.Errorf("Verify named %q, want %q (%v)", ve.Entry, c.wantEntry, err)
			}
		})
	}
}

func TestVerifyCatchesDamagedManifests(t *testing.T) {
	_, res := newBackup(t)
	m, _ := os.ReadFile(res.Manifest)
	lines := strings.SplitAfter(string(m), "\n")
	cases := []struct{ name, manifest string }{
		{"a mode changed in the manifest", strings.Replace(string(m), `"mode":"4755"`, `"mode":"0755"`, 1)},
		{"an entry dropped from the manifest", strings.Join(append(append([]string{}, lines[:5]...), lines[6:]...), "")},
		{"the trailer missing", strings.Join(lines[:len(lines)-2], "")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "m.jsonl")
			os.WriteFile(p, []byte(c.manifest), 0o600)
			if err := Verify(context.Background(), res.Archive, p, nil); err == nil {
				t.Fatal("Verify passed a damaged manifest")
			}
		})
	}
}

// craft writes a tar.zst of hdrs (regular files get body as data) and a
// manifest that matches it, so only the extractor's own rules can refuse it.
func craft(t *testing.T, dir string, hdrs []*tar.Header, body string) string {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	var mb bytes.Buffer
	fmt.Fprintf(&mb, `{"manifest":{"version":1,"archive":"c.tar.zst","source":"/x","policy":"p"}}`+"\n")
	var files, n int64
	for _, h := range hdrs {
		h.Format, h.ModTime = tar.FormatPAX, time.Unix(1_600_000_000, 0)
		e := Entry{Path: strings.TrimSuffix(h.Name, "/"), Mode: Perm(h.Mode), MtimeNS: h.ModTime.UnixNano(), Link: h.Linkname}
		if h.Name == "./" {
			e.Path = "."
		}
		switch h.Typeflag {
		case tar.TypeDir:
			e.Type = TypeDir
		case tar.TypeSymlink:
			e.Type = TypeSymlink
		case tar.TypeLink:
			e.Type = TypeHardlink
		case tar.TypeReg:
			e.Type, h.Size, e.Size = TypeFile, int64(len(body)), int64(len(body))
			s := sha256.Sum256([]byte(body))
			e.SHA256 = hex.EncodeToString(s[:])
			files++
			n += h.Size
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(body))
		}
		b, _ := jsonLine(e)
		mb.Write(b)
	}
	tw.Close()
	fmt.Fprintf(&mb, `{"end":{"entries":%d,"files":%d,"bytes":%d,"skipped":0}}`+"\n", len(hdrs), files, n)
	a := filepath.Join(dir, "c.tar.zst")
	os.WriteFile(a, compress(t, tb.Bytes()), 0o600)
	os.WriteFile(ManifestPath(a), mb.Bytes(), 0o600)
	return a
}

func TestRestoreRefusesEntriesThatEscape(t *testing.T) {
	dir := func(name string) *tar.Header { return &tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755} }
	file := func(name string) *tar.Header { return &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644} }
	cases := []struct {
		name string
		hdrs func(outside string) []*tar.Header
	}{
		{"a ../ name is refused", func(string) []*tar.Header { return []*tar.Header{dir("./"), file("../x")} }},
		{"a ../ inside a name is refused", func(string) []*tar.Header { return []*tar.Header{dir("./"), dir("a/"), file("a/../../x")} }},
		{"an absolute name is refused", func(o string) []*tar.Header { return []*tar.Header{dir("./"), file(o + "/abs")} }},
		{"a file through a symlink to outside is refused", func(o string) []*tar.Header {
			return []*tar.Header{dir("./"), {Name: "evil", Typeflag: tar.TypeSymlink, Linkname: o, Mode: 0o777}, file("evil/x")}
		}},
		{"a file through a relative escaping symlink is refused", func(string) []*tar.Header {
			return []*tar.Header{dir("./"), {Name: "up", Typeflag: tar.TypeSymlink, Linkname: "../outside", Mode: 0o777}, file("up/x")}
		}},
		{"a hardlink to an outside file by absolute name is refused", func(o string) []*tar.Header {
			return []*tar.Header{dir("./"), {Name: "h", Typeflag: tar.TypeLink, Linkname: o + "/secret", Mode: 0o644}}
		}},
		{"a hardlink to an outside file by ../ is refused", func(string) []*tar.Header {
			return []*tar.Header{dir("./"), {Name: "h", Typeflag: tar.TypeLink, Linkname: "../outside/secret", Mode: 0o644}}
		}},
		{"a hardlink through a symlink is refused", func(o string) []*tar.Header {
			return []*tar.Header{dir("./"), {Name: "s", Typeflag: tar.TypeSymlink, Linkname: o, Mode: 0o777},
				{Name: "h", Typeflag: tar.TypeLink, Linkname: "s/secret", Mode: 0o644}}
		}},
		{"a duplicate name is refused", func(string) []*tar.Header { return []*tar.Header{dir("./"), file("x"), file("x")} }},
		{"a duplicate root is refused", func(string) []*tar.Header { return []*tar.Header{dir("./"), dir("./")} }},
		{"an unclean name is refused", func(string) []*tar.Header { return []*tar.Header{dir("./"), dir("a/"), file("a//x")} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			outside := filepath.Join(base, "outside")
			os.Mkdir(outside, 0o755)
			os.WriteFile(filepath.Join(outside, "secret"), []byte("keep"), 0o600)
			a := craft(t, base, c.hdrs(outside), "PWNED")
			staging := filepath.Join(base, "staging")
			err := RestoreInto(context.Background(), a, staging, nil)
			if !errors.Is(err, ErrUnsafeEntry) {
				t.Fatalf("RestoreInto = %v, want ErrUnsafeEntry", err)
			}
			names, _ := readNames(outside)
			b, _ := os.ReadFile(filepath.Join(outside, "secret"))
			if len(names) != 1 || string(b) != "keep" {
				t.Errorf("outside changed: %v %q", names, b)
			}
			if _, err := os.Lstat(filepath.Join(base, "x")); err == nil {
				t.Error("a file appeared beside the staging root")
			}
			st, _ := os.Lstat(filepath.Join(outside, "secret"))
			if st.Sys().(*syscall.Stat_t).Nlink != 1 {
				t.Error("outside/secret gained a hardlink")
			}
		})
	}
}

func TestRestoreSwapsTheTree(t *testing.T) {
	ctx := context.Background()
	_, res := newBackup(t)
	base := t.TempDir()
	target := filepath.Join(base, "server-root")
	os.MkdirAll(filepath.Join(target, "upgraded/config"), 0o755)
	os.WriteFile(filepath.Join(target, "upgraded/config/new.conf"), []byte("5.2"), 0o644)
	// A staging dir left by a killed extraction is ours to remove.
	os.MkdirAll(filepath.Join(base, ".server-root.restore-staging/junk"), 0o700)

	if err := Restore(ctx, res.Archive, RestoreOptions{Target: target}); err != nil {
		t.Fatal(err)
	}
	diffs, err := CompareTree(ctx, target, res.Manifest, nil)
	noDiffs(t, "restored target", diffs, err)
	names, _ := readNames(base)
	if len(names) != 1 || names[0] != "server-root" {
		t.Errorf("beside the target after restore: %v, want only server-root", names)
	}
}

func TestRestoreNeverDeletesANonEmptyStaging(t *testing.T) {
	_, res := newBackup(t)
	base := t.TempDir()
	staging := filepath.Join(base, "mine")
	os.Mkdir(staging, 0o755)
	os.WriteFile(filepath.Join(staging, "precious"), []byte("x"), 0o600)
	err := Restore(context.Background(), res.Archive, RestoreOptions{Target: filepath.Join(base, "t"), Staging: staging})
	if err == nil {
		t.Fatal("Restore used a non-empty staging directory")
	}
	if _, err := os.Stat(filepath.Join(staging, "precious")); err != nil {
		t.Errorf("staging content lost: %v", err)
	}
}

func TestRestoreFailureKeepsTheOldTree(t *testing.T) {
	_, res := newBackup(t)
	b, _ := os.ReadFile(res.Archive)
	bad := filepath.Join(t.TempDir(), "sr.tar.zst")
	os.WriteFile(bad, b[:len(b)/2], 0o600)
	m, _ := os.ReadFile(res.Manifest)
	os.WriteFile(ManifestPath(bad), m, 0o600)

	base := t.TempDir()
	target := filepath.Join(base, "server-root")
	os.Mkdir(target, 0o755)
	os.WriteFile(filepath.Join(target, "live.conf"), []byte("live"), 0o644)
	err := Restore(context.Background(), bad, RestoreOptions{Target: target})
	var ve *VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("Restore = %v, want *VerifyError", err)
	}
	if got, _ := os.ReadFile(filepath.Join(target, "live.conf")); string(got) != "live" {
		t.Error("the live tree was touched by a failed restore")
	}
	names, _ := readNames(base)
	if len(names) != 1 {
		t.Errorf("left beside the target: %v", names)
	}
}

// Child processes: the test binary re-executed with BACKUP_TEST_CHILD set.
func TestMain(m *testing.M) {
	switch os.Getenv("BACKUP_TEST_CHILD") {
	case "":
		os.Exit(m.Run())
	case "create":
		n := 0
		_, err := Create(context.Background(), Options{Source: os.Getenv("SRC"), Dest: os.Getenv("DEST"), Name: "x",
			Progress: func(p Progress) {
				if n++; n == 50 {
					fmt.Println("READY")
					time.Sleep(time.Hour)
				}
			}})
		fmt.Println("finished", err)
	case "restore":
		err := Restore(context.Background(), os.Getenv("ARCHIVE"), RestoreOptions{Target: os.Getenv("TARGET"), afterMove: func() {
			fmt.Println("READY")
			time.Sleep(time.Hour)
		}})
		fmt.Println("finished", err)
	case "restore-contents":
		at := os.Getenv("KILL_AT")
		err := Restore(context.Background(), os.Getenv("ARCHIVE"), RestoreOptions{Target: os.Getenv("TARGET"), Keep: []string{keptName},
			contentsHook: func(point string) {
				if point == at {
					fmt.Println("READY")
					time.Sleep(time.Hour)
				}
			}})
		fmt.Println("finished", err)
	}
	os.Exit(3)
}

// runUntilReady starts a child, waits for its READY line, and kills it -9.
func runUntilReady(t *testing.T, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "READY" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said %q, want READY", line)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
}

func bigTree(t *testing.T, dir string) {
	t.Helper()
	for d := range 4 {
		sub := filepath.Join(dir, fmt.Sprintf("q%d", d))
		os.Mkdir(sub, 0o755)
		for f := range 40 {
			os.WriteFile(filepath.Join(sub, fmt.Sprintf("m%03d", f)), randBytes(uint64(d*100+f), 20<<10), 0o600)
		}
	}
}

func TestKillDuringBackupLeavesNoFinalArchive(t *testing.T) {
	src, dest := t.TempDir(), t.TempDir()
	bigTree(t, src)
	runUntilReady(t, "BACKUP_TEST_CHILD=create", "SRC="+src, "DEST="+dest)
	for _, n := range []string{"x.tar.zst", "x.manifest.jsonl"} {
		if _, err := os.Lstat(filepath.Join(dest, n)); err == nil {
			t.Errorf("%s exists after a kill mid-backup", n)
		}
	}
	res, err := Create(context.Background(), Options{Source: src, Dest: dest, Name: "x", Verify: true})
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if res.Files != 160 {
		t.Errorf("rerun archived %d files, want 160", res.Files)
	}
	names, _ := readNames(dest)
	if strings.Join(names, " ") != "x.manifest.jsonl x.tar.zst" {
		t.Errorf("dest holds %v after the rerun", names)
	}
}

func TestKillDuringRestoreSwapThenRerunFinishes(t *testing.T) {
	ctx := context.Background()
	_, res := newBackup(t)
	base := t.TempDir()
	target := filepath.Join(base, "server-root")
	os.Mkdir(target, 0o755)
	os.WriteFile(filepath.Join(target, "upgraded.conf"), []byte("5.2"), 0o644)

	runUntilReady(t, "BACKUP_TEST_CHILD=restore", "ARCHIVE="+res.Archive, "TARGET="+target)
	if _, err := os.Lstat(target); err == nil {
		t.Fatal("target still in place: the kill did not land mid-swap")
	}
	if _, err := os.Lstat(statePath(target)); err != nil {
		t.Fatalf("no swap state after the kill: %v", err)
	}
	if err := Restore(ctx, res.Archive, RestoreOptions{Target: target}); err != nil {
		t.Fatalf("rerun: %v", err)
	}
	diffs, err := CompareTree(ctx, target, res.Manifest, nil)
	noDiffs(t, "target after the resumed swap", diffs, err)
	names, _ := readNames(base)
	if len(names) != 1 {
		t.Errorf("left beside the target: %v", names)
	}
}

func TestFullDiskFailsCleanly(t *testing.T) {
	if os.Geteuid() != 0 {
		if testing.Short() {
			t.Skip("mounting a tmpfs needs root")
		}
		t.Fatal("mounting a tmpfs needs root: run the tests as root, as make test does")
	}
	src := t.TempDir()
	for i := range 6 {
		os.WriteFile(filepath.Join(src, fmt.Sprintf("f%d.db", i)), randBytes(uint64(i), 2<<20), 0o600)
	}
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=3m"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })
	dest := filepath.Join(mnt, "backups")
	_, err := Create(context.Background(), Options{Source: src, Dest: dest, Name: "x"})
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Create = %v, want ENOSPC", err)
	}
	if !strings.Contains(err.Error(), "x.tar.zst.partial") || !strings.Contains(err.Error(), ".db") {
		t.Errorf("error %q does not name the archive and the entry being added", err)
	}
	assertNoArchive(t, dest, "x")
}

// enospcAt is a destination file whose Sync or Close fails with ENOSPC after
// every write succeeded: a filesystem that reports a full disk only when the
// data is flushed (FAULTS.md B2; NFS, thin provisioning, delayed allocation).
type enospcAt struct {
	*os.File
	sync, close bool
}

func (f enospcAt) Sync() error {
	if f.sync {
		return fmt.Errorf("fsync %s: %w", f.Name(), syscall.ENOSPC)
	}
	return f.File.Sync()
}

func (f enospcAt) Close() error {
	err := f.File.Close()
	if f.close && err == nil {
		return fmt.Errorf("close %s: %w", f.Name(), syscall.ENOSPC)
	}
	return err
}

// ENOSPC reported only by fsync or close — of the archive after its last zstd
// frame, or of the manifest after its trailer — fails the backup naming it,
// and leaves neither a final name nor a .partial behind: never a success.
func TestENOSPCAtSyncOrCloseFailsTheBackup(t *testing.T) {
	src := t.TempDir()
	makeTree(t, src, everyKind())
	for _, tc := range []struct {
		name, file  string
		sync, close bool
	}{
		{"the archive's fsync", ArchiveSuffix, true, false},
		{"the archive's close", ArchiveSuffix, false, true},
		{"the manifest's fsync", ManifestSuffix, true, false},
		{"the manifest's close", ManifestSuffix, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest := t.TempDir()
			hit := false
			opt := Options{Source: src, Dest: dest, Name: "b", Verify: true,
				openDest: func(name string) (destFile, error) {
					f, err := openPartial(name)
					if err != nil || !strings.HasSuffix(name, tc.file+".partial") {
						return f, err
					}
					hit = true
					return enospcAt{File: f.(*os.File), sync: tc.sync, close: tc.close}, nil
				}}
			res, err := Create(context.Background(), opt)
			if !hit {
				t.Fatal("the failing file was never opened")
			}
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("Create: %v (result %+v), want ENOSPC", err, res)
			}
			if names, _ := readNames(dest); len(names) != 0 {
				t.Errorf("left in the destination: %v", names)
			}
		})
	}
}

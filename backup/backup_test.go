package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// newBackup builds the every-kind tree and archives it.
func newBackup(t *testing.T) (src string, res Result) {
	t.Helper()
	base := t.TempDir()
	src = filepath.Join(base, "server-root")
	if err := os.Mkdir(src, 0o700); err != nil {
		t.Fatal(err)
	}
	makeTree(t, src, everyKind())
	res, err := Create(context.Background(), Options{Source: src, Dest: filepath.Join(base, "dest"), Name: "sr", Verify: true})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return src, res
}

func noDiffs(t *testing.T, what string, diffs []Difference, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	for _, d := range diffs {
		t.Errorf("%s: %s", what, d)
	}
}

func TestRoundTripKeepsEveryKindOfEntry(t *testing.T) {
	ctx := context.Background()
	src, res := newBackup(t)

	if res.Files != 9 || res.Skipped != 1 {
		t.Errorf("Files=%d Skipped=%d, want 9 files (hardlink not counted) and 1 skipped socket", res.Files, res.Skipped)
	}
	for _, p := range []string{res.Archive, res.Manifest} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v err %v, want 0600", p, fi.Mode(), err)
		}
	}
	if fi, _ := os.Stat(filepath.Dir(res.Archive)); fi.Mode().Perm() != 0o700 {
		t.Errorf("dest dir mode %v, want 0700", fi.Mode().Perm())
	}
	if err := Verify(ctx, res.Archive, res.Manifest, nil); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	diffs, err := CompareTree(ctx, src, res.Manifest, nil)
	noDiffs(t, "source vs manifest", diffs, err)

	out := filepath.Join(t.TempDir(), "restored")
	if err := RestoreInto(ctx, res.Archive, out, nil); err != nil {
		t.Fatalf("RestoreInto: %v", err)
	}
	diffs, err = CompareTree(ctx, out, res.Manifest, nil)
	noDiffs(t, "restored vs manifest", diffs, err)

	// The hardlink comes back as a hardlink.
	a, _ := os.Stat(filepath.Join(out, "links/hard1"))
	b, _ := os.Stat(filepath.Join(out, "links/zz-hard2"))
	if !os.SameFile(a, b) {
		t.Error("links/zz-hard2 is not a hardlink of links/hard1 after restore")
	}
	if fi, err := os.Lstat(filepath.Join(out, "run/fifo")); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("run/fifo not restored as a FIFO: %v %v", fi, err)
	}
}

func TestCreateIsDeterministic(t *testing.T) {
	src, res := newBackup(t)
	res2, err := Create(context.Background(), Options{Source: src, Dest: filepath.Join(t.TempDir(), "again"), Name: "sr"})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(res.Archive)
	b, _ := os.ReadFile(res2.Archive)
	if !bytes.Equal(a, b) {
		t.Error("two archives of the same tree differ")
	}
	if res.ManifestSHA256 != res2.ManifestSHA256 {
		t.Error("two manifests of the same tree differ")
	}
}

func TestGNUTarExtractsTheSameTree(t *testing.T) {
	requireTool(t, "tar", "GNU tar missing: apt-get install tar zstd")
	requireTool(t, "zstd", "zstd missing: apt-get install zstd")
	_, res := newBackup(t)
	out := t.TempDir()
	cmd := exec.Command("tar", "--zstd", "-xpf", res.Archive, "-C", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, b)
	}
	diffs, err := CompareTree(context.Background(), out, res.Manifest, nil)
	noDiffs(t, "GNU tar extraction vs manifest", diffs, err)
}

func TestCreateRules(t *testing.T) {
	ctx := context.Background()
	t.Run("excluded paths and the destination inside the source are left out", func(t *testing.T) {
		src := t.TempDir()
		makeTree(t, src, everyKind())
		res, err := Create(ctx, Options{Source: src, Dest: filepath.Join(src, "backups"), Name: "x", Exclude: []string{"queue", "links/rel"}})
		if err != nil {
			t.Fatal(err)
		}
		diffs, err := CompareTree(ctx, src, res.Manifest, []string{"queue", "links/rel", "backups"})
		noDiffs(t, "compare with the same ignores", diffs, err)
		diffs, _ = CompareTree(ctx, src, res.Manifest, nil)
		var extra []string
		for _, d := range diffs {
			extra = append(extra, d.Kind+" "+d.Path)
		}
		want := "extra backups|extra links/rel|extra queue"
		if got := strings.Join(extra, "|"); got != want {
			t.Errorf("differences without ignores: %q, want %q", got, want)
		}
	})
	t.Run("an existing archive is never overwritten", func(t *testing.T) {
		src, res := newBackup(t)
		_, err := Create(ctx, Options{Source: src, Dest: filepath.Dir(res.Archive), Name: "sr"})
		if !errors.Is(err, fs.ErrExist) {
			t.Fatalf("err = %v, want fs.ErrExist", err)
		}
	})
	t.Run("a file changed while read fails the backup naming it", func(t *testing.T) {
		src := t.TempDir()
		makeTree(t, src, everyKind())
		dest := t.TempDir()
		_, err := Create(ctx, Options{Source: src, Dest: dest, Name: "x", afterOpen: func(rel string) {
			if rel == "queue/ZZ01.00" {
				f, _ := os.OpenFile(filepath.Join(src, rel), os.O_WRONLY|os.O_APPEND, 0)
				f.WriteString("appended during the backup")
				f.Close()
			}
		}})
		if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), "queue/ZZ01.00") {
			t.Fatalf("err = %v, want ErrChanged naming queue/ZZ01.00", err)
		}
		assertNoArchive(t, dest, "x")
	})
	t.Run("a file rewritten in place with the same size fails too", func(t *testing.T) {
		src := t.TempDir()
		makeTree(t, src, everyKind())
		dest := t.TempDir()
		_, err := Create(ctx, Options{Source: src, Dest: dest, Name: "x", afterOpen: func(rel string) {
			if rel == "config/msg.conf" {
				os.WriteFile(filepath.Join(src, rel), []byte("service.imap.enable = 0\n"), 0o640)
			}
		}})
		if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), "config/msg.conf") {
			t.Fatalf("err = %v, want ErrChanged naming config/msg.conf", err)
		}
	})
}

// assertNoArchive fails if anything named NAME.* is left in dir.
func assertNoArchive(t *testing.T, dir, name string) {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, name+".*"))
	if len(m) > 0 {
		t.Errorf("left behind: %v", m)
	}
}

func TestEstimateAndFreeBytes(t *testing.T) {
	src := t.TempDir()
	makeTree(t, src, everyKind())
	files, n, err := Estimate(context.Background(), src, []string{"queue"})
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	for _, e := range everyKind() {
		if e.kind == TypeFile && !strings.HasPrefix(e.path, "queue/") {
			want += int64(len(e.data))
		}
	}
	if n != want || files != int64(len(everyKind())-3) {
		t.Errorf("Estimate = %d entries %d bytes, want %d, %d", files, n, len(everyKind())-3, want)
	}
	free, err := FreeBytes(src)
	if err != nil || free == 0 {
		t.Errorf("FreeBytes = %d, %v", free, err)
	}
}

func TestExitCodeMapsVerifyErrorToFive(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want int
	}{
		{"nil is success", nil, 0},
		{"a wrapped verify error is 5", errors.Join(errors.New("x"), &VerifyError{Entry: "a", Reason: "b"}), 5},
		{"another error is 1", errors.New("boom"), 1},
	}
	for _, c := range cases {
		if got := ExitCode(c.err); got != c.want {
			t.Errorf("%s: ExitCode = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestCommandHelpersPrintPaths(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	makeTree(t, src, everyKind())
	var out bytes.Buffer
	res, err := RunCreate(ctx, &out, src, t.TempDir(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), res.Archive) || !strings.Contains(out.String(), res.Manifest) {
		t.Errorf("create output %q lacks the paths", out.String())
	}
	out.Reset()
	if err := RunVerify(ctx, &out, res.Archive); err != nil || !strings.HasPrefix(out.String(), "ok") {
		t.Errorf("verify: %v %q", err, out.String())
	}
	target := filepath.Join(t.TempDir(), "sr")
	if err := RunRestore(ctx, io.Discard, res.Archive, target); err != nil {
		t.Fatal(err)
	}
	diffs, err := CompareTree(ctx, target, res.Manifest, nil)
	noDiffs(t, "restore command", diffs, err)
}

// tarOf decompresses an archive into its plain tar bytes.
func tarOf(t *testing.T, archive string) []byte {
	t.Helper()
	b, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := zstd.NewReader(nil)
	defer d.Close()
	out, err := d.DecodeAll(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// entryOffsets returns the offset of each tar entry's first header block.
func entryOffsets(t *testing.T, tarball []byte) (names []string, offs []int64) {
	t.Helper()
	cr := &countReader{r: bytes.NewReader(tarball)}
	tr := tar.NewReader(cr)
	prev := int64(0)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		// The header (with any PAX record) starts where the last entry's data ended.
		names, offs = append(names, hdr.Name), append(offs, prev)
		io.Copy(io.Discard, tr)
		prev = (cr.n + 511) / 512 * 512
	}
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func compress(t *testing.T, b []byte) []byte {
	t.Helper()
	e, _ := zstd.NewWriter(nil)
	defer e.Close()
	return e.EncodeAll(b, nil)
}

func jsonLine(e Entry) ([]byte, error) {
	b, err := json.Marshal(e)
	return append(b, '\n'), err
}

// requireTool fails the test when a tool is missing (skips under -short).
func requireTool(t *testing.T, tool, msg string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		if testing.Short() {
			t.Skip(msg)
		}
		t.Fatal(msg)
	}
}

// Dropped names what a restore into a target would delete because the
// archive left it out: the excluded paths the target holds, and only those.
func TestDroppedNamesTheExcludedPathsTheTargetHolds(t *testing.T) {
	src := t.TempDir()
	for _, p := range []string{"msg-x/store/partition/primary/=user/1.msg", "msg-x/config/msg.conf", "gone/file"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(src, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, p), []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Create(context.Background(), Options{Source: src, Dest: t.TempDir(), Name: "b", Exclude: []string{"msg-x/store/partition/primary", "gone"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(src, "gone")); err != nil {
		t.Fatal(err)
	}
	got, err := Dropped(res.Manifest, src)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(src, "msg-x/store/partition/primary")}; !slices.Equal(got, want) {
		t.Errorf("Dropped = %v, want %v", got, want)
	}
}

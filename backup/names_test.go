package backup

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// latin1Name is "café.conf" in ISO 8859-1: 0xe9 is not UTF-8.
const latin1Name = "caf\xe9.conf"

// A name that is not UTF-8 (a Latin-1 file in a 5.x server root) is archived
// and restored byte for byte (a PAX record carries the raw bytes), and a sparse
// file comes back sparse with the same content (FAULTS.md B7).
func TestNamesOfAnyEncodingAndSparseFilesRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "src")
	if err := os.MkdirAll(filepath.Join(src, "d\xfc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, latin1Name), []byte("latin-1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "d\xfc", "x\xff\xfe"), []byte("bytes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const size = 64 << 20
	sparse := filepath.Join(src, "store.db")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("head"), 0)
	f.WriteAt([]byte("middle"), size/2)
	f.Truncate(size)
	f.Close()
	if err := os.Symlink(latin1Name, filepath.Join(src, "ln\xe9")); err != nil {
		t.Fatal(err)
	}

	res, err := Create(ctx, Options{Source: src, Dest: t.TempDir(), Name: "sr", Verify: true})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	out := filepath.Join(t.TempDir(), "out")
	if err := RestoreInto(ctx, res.Archive, out, nil); err != nil {
		t.Fatalf("RestoreInto: %v", err)
	}
	diffs, err := CompareTree(ctx, out, res.Manifest, nil)
	noDiffs(t, "restored vs manifest", diffs, err)
	for name, want := range map[string]string{latin1Name: "latin-1\n", "d\xfc/x\xff\xfe": "bytes\n"} {
		if b, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(b) != want {
			t.Errorf("%q: %q %v", name, b, err)
		}
	}
	if l, err := os.Readlink(filepath.Join(out, "ln\xe9")); err != nil || l != latin1Name {
		t.Errorf("symlink: %q %v", l, err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(out, "store.db"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != size || st.Blocks*512 > 1<<20 {
		t.Errorf("store.db: size %d, %d bytes allocated; want %d with holes", st.Size, st.Blocks*512, size)
	}
	b, _ := os.ReadFile(filepath.Join(out, "store.db"))
	if string(b[:4]) != "head" || string(b[size/2:size/2+6]) != "middle" {
		t.Error("store.db content differs")
	}
}

// A preflight sizes a live server root: a queue file delivered (removed)
// while the walk runs is passed over, not an error that stops the run.
func TestEstimatePassesOverNamesThatVanishDuringTheWalk(t *testing.T) {
	src := t.TempDir()
	q := filepath.Join(src, "queue")
	os.MkdirAll(q, 0o755)
	for i := range 2000 {
		os.WriteFile(filepath.Join(q, "ZZ"+string(rune('a'+i%26))+strconv.Itoa(i)), []byte("m"), 0o600)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ents, _ := os.ReadDir(q)
		for _, e := range ents {
			os.Remove(filepath.Join(q, e.Name()))
		}
	}()
	for range 20 {
		if _, _, err := Estimate(context.Background(), src, nil); err != nil {
			t.Fatalf("Estimate while the queue drains: %v", err)
		}
	}
	<-done
}

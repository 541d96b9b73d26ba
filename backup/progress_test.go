package backup

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProgressCountsEveryFileAndByte: an archive of N files of known sizes
// reports N files and their byte total when it ends, in each phase (create,
// the verify after it, a restore), against totals known up front: Estimate's
// for the create, the manifest's for the others.
func TestProgressCountsEveryFileAndByte(t *testing.T) {
	const n = 37
	src := t.TempDir()
	var want int64
	for i := range n {
		size := int64(i * 1013) // 0 … 36 KiB, the first one empty
		if err := os.WriteFile(filepath.Join(src, fmt.Sprintf("f%02d", i)), []byte(strings.Repeat("x", int(size))), 0o600); err != nil {
			t.Fatal(err)
		}
		want += size
	}
	files, bytes, err := Estimate(t.Context(), src, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The root directory is an entry of its own.
	if files != n+1 || bytes != want {
		t.Fatalf("estimate: %d entries, %d bytes; want %d, %d", files, bytes, n+1, want)
	}
	last := map[string]Progress{}
	reports := map[string]int{}
	record := func(p Progress) {
		if prev, ok := last[p.Phase]; ok && (p.Files < prev.Files || p.Bytes < prev.Bytes) {
			t.Errorf("%s: progress went back from %+v to %+v", p.Phase, prev, p)
		}
		last[p.Phase] = p
		reports[p.Phase]++
	}
	res, err := Create(t.Context(), Options{Source: src, Dest: t.TempDir(), Name: "n", Verify: true, Progress: record, TotalFiles: files, TotalBytes: bytes})
	if err != nil {
		t.Fatal(err)
	}
	if err := RestoreInto(t.Context(), res.Archive, filepath.Join(t.TempDir(), "out"), record); err != nil {
		t.Fatal(err)
	}
	for _, phase := range []string{"create", "verify", "restore"} {
		p, ok := last[phase]
		if !ok {
			t.Errorf("%s: no progress reported", phase)
			continue
		}
		if p.Files != n+1 || p.Bytes != want {
			t.Errorf("%s ended at %d entries, %d bytes; want %d, %d", phase, p.Files, p.Bytes, n+1, want)
		}
		if p.TotalFiles != n+1 || p.TotalBytes != want {
			t.Errorf("%s: totals %d entries, %d bytes; want %d, %d", phase, p.TotalFiles, p.TotalBytes, n+1, want)
		}
		if reports[phase] != n+1 {
			t.Errorf("%s: %d reports, want one per entry (%d)", phase, reports[phase], n+1)
		}
	}
}

// TestProgressWithoutTotalsSaysUnknown: a create not told what to expect
// reports zero totals (unknown), never its running count as the total.
func TestProgressWithoutTotalsSaysUnknown(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "a"), []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	var seen []Progress
	if _, err := Create(t.Context(), Options{Source: src, Dest: t.TempDir(), Name: "n", Progress: func(p Progress) { seen = append(seen, p) }}); err != nil {
		t.Fatal(err)
	}
	for _, p := range seen {
		if p.TotalFiles != 0 || p.TotalBytes != 0 {
			t.Fatalf("progress %+v invents a total", p)
		}
	}
}

package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileReplacesContentAndLeavesNoTempFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "report.md")
	for _, content := range []string{"old", "new"} {
		if err := WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		if string(b) != content {
			t.Fatalf("content = %q, want %q", b, content)
		}
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v", fi.Mode())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
}

func TestWriteFileIntoAMissingDirectoryFailsNamingThePath(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope", "x")
	if err := WriteFile(p, nil, 0o600); err == nil || !filepath.IsAbs(p) {
		t.Fatalf("err = %v", err)
	}
}

package backup

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// The restored tree is written without an fsync per file; before the swap
// makes it live and the old tree is removed, its filesystem is synced, so a
// power cut after the restore cannot leave empty or short files where the old
// ones were.
func TestRestoreSyncsTheStagedTreeBeforeTheOldTreeGoes(t *testing.T) {
	_, res := newBackup(t)
	base := t.TempDir()
	target := filepath.Join(base, "server-root")
	if err := os.MkdirAll(filepath.Join(target, "upgraded"), 0o755); err != nil {
		t.Fatal(err)
	}
	var synced []string
	oldLive := false
	saved := syncFilesystem
	t.Cleanup(func() { syncFilesystem = saved })
	syncFilesystem = func(dir string) error {
		synced = append(synced, dir)
		_, err := os.Stat(filepath.Join(target, "upgraded"))
		oldLive = err == nil
		return saved(dir)
	}
	if err := Restore(context.Background(), res.Archive, RestoreOptions{Target: target}); err != nil {
		t.Fatal(err)
	}
	if len(synced) == 0 {
		t.Fatal("the staged tree was never synced before the swap")
	}
	if !oldLive {
		t.Error("the sync came after the old tree was moved away")
	}
}

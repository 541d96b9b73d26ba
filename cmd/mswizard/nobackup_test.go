package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mswizard/fixtures/installer"
	"mswizard/fixtures/sim"
)

// TestAnInstallerThatKeepsNoBackupGetsOneFromTheArchive: the config diff always
// has its old side — when the installer leaves no backup.TIMESTAMP, the step
// makes it from the verified server-root archive, and the customizations are
// re-applied as usual.
func TestAnInstallerThatKeepsNoBackupGetsOneFromTheArchive(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{seed: 41})
	if err := sim.SetFault(h.w, installer.FaultNoBackup, ""); err != nil {
		t.Fatal(err)
	}
	out, code := run(t, h.bin, "upgrade", "--answers", h.inf, "--yes")
	if code != 0 {
		t.Fatalf("upgrade: exit %d\n%s", code, out)
	}
	backups, _ := filepath.Glob(h.w.BackupGlob())
	if len(backups) != 1 {
		t.Fatalf("backup.TIMESTAMP directories: %v, want the one made from the archive", backups)
	}
	b, err := os.ReadFile(filepath.Join(backups[0], "config", "local.conf"))
	if err != nil || !strings.Contains(string(b), "store.quotawarn") {
		t.Fatalf("the made backup lacks the old local.conf: %v", err)
	}
	report, _ := os.ReadFile(filepath.Join(h.w.StateDir(), "report.json"))
	if !strings.Contains(string(report), `"made_from_archive": true`) {
		t.Errorf("the receipt does not say the backup was made from the archive")
	}
	h.requireVersion(t, "5.2")
	h.requireCustomizations(t)
	leftovers, _ := filepath.Glob(filepath.Join(h.w.MsgDir(), ".mswizard-restore-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary extraction left behind: %v", leftovers)
	}
}

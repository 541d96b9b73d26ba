package backup

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// keptName is a top-level name a content swap is told to leave alone, as the
// wizard keeps the mail it carries through a mounted server root.
const keptName = ".mswizard-carry"

// mountedTarget mounts a small tmpfs as a restore target and fills it with a
// live tree unlike the archived one, plus a kept directory.
func mountedTarget(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if testing.Short() {
			t.Skip("mounting a tmpfs needs root")
		}
		t.Fatal("mounting a tmpfs needs root: run the tests as root, as make test does")
	}
	target := filepath.Join(t.TempDir(), "server-root")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", target, "tmpfs", 0, "size=64m,mode=1777"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(target, syscall.MNT_DETACH) })
	for _, d := range []string{"upgraded/config", "config", keptName + "/queue"} {
		if err := os.MkdirAll(filepath.Join(target, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for p, data := range map[string]string{
		"upgraded/config/new.conf": "5.2", "config/msg.conf": "5.2 config", "VERSION": "5.2",
		keptName + "/queue/ZZ01.00": "carried mail",
	} {
		if err := os.WriteFile(filepath.Join(target, p), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return target
}

// requireRestored checks the target against the manifest (root metadata
// included), that it is still a mount point, that the kept directory is
// untouched and that none of the swap's own names is left.
func requireRestored(t *testing.T, target, manifest string) {
	t.Helper()
	diffs, err := CompareTree(context.Background(), target, manifest, []string{keptName})
	noDiffs(t, "mounted target after the content swap", diffs, err)
	if m, err := IsMountPoint(target); err != nil || !m {
		t.Errorf("target is no longer a mount point: %v %v", m, err)
	}
	if b, err := os.ReadFile(filepath.Join(target, keptName, "queue/ZZ01.00")); string(b) != "carried mail" {
		t.Errorf("kept entry: %q %v", b, err)
	}
	names, _ := readNames(target)
	for _, n := range names {
		if strings.HasPrefix(n, ReservedPrefix) {
			t.Errorf("left in the target: %s", n)
		}
	}
}

func TestContentSwapRestoresAMountPoint(t *testing.T) {
	ctx := context.Background()
	_, res := newBackup(t)
	target := mountedTarget(t)
	// A staging directory left by a killed extraction is ours to remove.
	os.MkdirAll(filepath.Join(target, ReservedPrefix+"staging/junk"), 0o700)
	// The wizard's own names stay in place without being listed in Keep.
	if err := Restore(ctx, res.Archive, RestoreOptions{Target: target}); err != nil {
		t.Fatal(err)
	}
	requireRestored(t, target, res.Manifest)
	var st syscall.Stat_t
	syscall.Stat(target, &st)
	if st.Mode&0o7777 != 0o755 {
		t.Errorf("root mode %o, want the archived 0755 (the tmpfs was mounted 1777)", st.Mode&0o7777)
	}

	// A later backup of the root never holds the swap's own names.
	for _, n := range []string{"staging/x", "old-20260101T000000.000000000Z/y"} {
		os.MkdirAll(filepath.Join(target, ReservedPrefix+n), 0o700)
	}
	os.WriteFile(filepath.Join(target, ReservedPrefix+"state.json"), []byte("{}"), 0o600)
	res2, err := Create(ctx, Options{Source: target, Dest: t.TempDir(), Name: "again"})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := os.ReadFile(res2.Manifest)
	if strings.Contains(string(m), WizardPrefix) {
		t.Errorf("a backup of the root archived the swap's own names:\n%s", m)
	}
	if _, bytes, err := Estimate(ctx, target, nil); err != nil || bytes != res2.Bytes {
		t.Errorf("Estimate = %d, %v; Create archived %d bytes", bytes, err, res2.Bytes)
	}
}

// A kill -9 at any point of the content swap leaves a state a rerun finishes:
// the tree then equals the manifest.
func TestKillDuringContentSwapThenRerunFinishes(t *testing.T) {
	_, res := newBackup(t)
	for _, at := range []string{"staged", "out-half", "out", "in-half", "in", "cleaned"} {
		t.Run(at, func(t *testing.T) {
			target := mountedTarget(t)
			runUntilReady(t, "BACKUP_TEST_CHILD=restore-contents", "ARCHIVE="+res.Archive, "TARGET="+target, "KILL_AT="+at)
			if _, err := os.Lstat(contentsStatePath(target)); err != nil {
				t.Fatalf("no swap state after the kill: %v", err)
			}
			if err := Restore(context.Background(), res.Archive, RestoreOptions{Target: target, Keep: []string{keptName}}); err != nil {
				t.Fatalf("rerun: %v", err)
			}
			requireRestored(t, target, res.Manifest)
		})
	}
}

// When the staged tree is no longer whole after a kill, the rerun puts every
// old entry back live instead of finishing a swap it cannot.
func TestContentSwapRollsBackWhenTheStagedTreeIsIncomplete(t *testing.T) {
	ctx := context.Background()
	_, res := newBackup(t)
	for _, at := range []string{"out-half", "in-half"} {
		t.Run(at, func(t *testing.T) {
			target := mountedTarget(t)
			live, err := Create(ctx, Options{Source: target, Dest: t.TempDir(), Name: "live"})
			if err != nil {
				t.Fatal(err)
			}
			runUntilReady(t, "BACKUP_TEST_CHILD=restore-contents", "ARCHIVE="+res.Archive, "TARGET="+target, "KILL_AT="+at)
			staged, _ := readNames(filepath.Join(target, contentsStaging))
			if len(staged) == 0 {
				t.Fatal("nothing left in staging to lose")
			}
			if err := os.RemoveAll(filepath.Join(target, contentsStaging, staged[len(staged)-1])); err != nil {
				t.Fatal(err)
			}
			err = Restore(ctx, res.Archive, RestoreOptions{Target: target, Keep: []string{keptName}})
			if err == nil || !strings.Contains(err.Error(), "rolled back") {
				t.Fatalf("rerun = %v, want a roll back", err)
			}
			diffs, err := CompareTree(ctx, target, live.Manifest, []string{keptName})
			noDiffs(t, "target after the roll back", diffs, err)
			names, _ := readNames(target)
			if slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, ReservedPrefix) }) {
				t.Errorf("left in the target: %v", names)
			}
			// A further rerun restores from scratch.
			if err := Restore(ctx, res.Archive, RestoreOptions{Target: target, Keep: []string{keptName}}); err != nil {
				t.Fatal(err)
			}
			requireRestored(t, target, res.Manifest)
		})
	}
}

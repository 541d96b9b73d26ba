package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func sh(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func mounted(path string) bool {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == path {
			return true
		}
	}
	return false
}

// TestStoreOnItsOwnVolumeIsUnmountedAndMountedAgain follows the appendix's
// other way to keep the store out of the upgrade (seed 003, backup step 5:
// umount the store partition): a store on its own ext4 volume (a loop device
// here, with no /etc/fstab entry) is unmounted for the upgrade, mounted again
// afterwards with every message, and the backout does the same in reverse.
func TestStoreOnItsOwnVolumeIsUnmountedAndMountedAgain(t *testing.T) {
	t.Parallel()
	requireTools(t)
	if os.Geteuid() != 0 {
		if testing.Short() {
			t.Skip("loop devices and mounts need root")
		}
		t.Fatal("loop devices and mounts need root: run the tests as root, as make test does")
	}
	for _, tool := range []string{"mkfs.ext4", "losetup"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: install the Debian packages e2fsprogs and mount", tool)
		}
	}
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{seed: 61, wizard: []string{"StoreAction = umount"}})
	store := h.w.StorePrimary()
	before := countFiles(t, store)
	if before == 0 {
		t.Fatal("the world's store is empty")
	}

	// Put the store on its own volume, with the messaging services stopped
	// (the job controller delivers into the store while it runs).
	sh(t, h.w.StopMsg())
	img := filepath.Join(t.TempDir(), "store.img")
	sh(t, "truncate", "-s", "64M", img)
	sh(t, "mkfs.ext4", "-q", "-F", img)
	loop := sh(t, "losetup", "-f", "--show", img)
	t.Cleanup(func() {
		exec.Command("umount", store).Run()
		exec.Command("losetup", "-d", loop).Run()
	})
	tmp := t.TempDir()
	sh(t, "mount", loop, tmp)
	os.RemoveAll(filepath.Join(tmp, "lost+found"))
	sh(t, "cp", "-a", store+"/.", tmp)
	sh(t, "umount", tmp)
	if err := os.RemoveAll(store); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(store, 0o755)
	sh(t, "mount", loop, store)
	sh(t, h.w.StartMsg())
	// The simulated job controller keeps delivering: count on the volume.
	if before = countFiles(t, store); before == 0 {
		t.Fatal("the volume holds no message")
	}

	out, code := run(t, bin, "upgrade", "--answers", h.inf, "--yes", "--until", "backup/verify")
	if code != 0 {
		t.Fatalf("upgrade --until backup/verify: exit %d\n%s", code, out)
	}
	if mounted(store) {
		t.Fatalf("the store is still mounted during the upgrade:\n%s", out)
	}
	out, code = run(t, bin, "upgrade", "--answers", h.inf, "--yes")
	if code != 0 {
		t.Fatalf("upgrade: exit %d\n%s", code, out)
	}
	if !mounted(store) || countFiles(t, store) < before {
		t.Fatalf("after the upgrade the store is mounted=%v with %d files, want %d", mounted(store), countFiles(t, store), before)
	}
	h.requireVersion(t, "5.2")
	out, code = run(t, bin, "backout", "--answers", h.inf, "--yes")
	if code != 0 {
		t.Fatalf("backout: exit %d\n%s", code, out)
	}
	h.requireVersion(t, "5.1")
	if !mounted(store) || countFiles(t, store) < before {
		t.Fatalf("after the backout the store is mounted=%v with %d files, want %d", mounted(store), countFiles(t, store), before)
	}
}

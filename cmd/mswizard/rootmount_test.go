package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mswizard/fixtures/sim"
)

// stopWorldServices stops the world's services through its own scripts (the
// reverse of sim.StartAll) and waits until no process of the world but its
// directory server is left, since they hold files in the server root.
// sim.StopAll would end the directory server too: its configuration lies in
// the world directory, which is how StopAll's sweep tells the world's
// processes.
func stopWorldServices(t *testing.T, h *simHost) {
	t.Helper()
	sh(t, h.w.StopMsg())
	for _, inst := range h.w.WebInstances() {
		sh(t, h.w.WebStop(inst))
	}
	sh(t, h.w.StopAdmin())
	var left []int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		left = slices.DeleteFunc(sim.WorldProcesses(h.w), func(pid int) bool { return pid == h.LDAP.Pid })
		if len(left) == 0 {
			return
		}
	}
	for _, pid := range left {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		t.Errorf("still running after the stop scripts: %d %s", pid, strings.ReplaceAll(string(b), "\x00", " "))
	}
	t.FailNow()
}

// TestServerRootOnItsOwnVolumeIsBackedOut is the HA shared-disk case: the
// server root is itself a mount point (an ext4 loop volume here), which a
// backout cannot rename. The upgrade runs, mail is queued and delivered, and
// the backout restores 5.1 by swapping the volume's contents, with the mail
// carried inside the volume: the mail is there, the server root is still the
// mounted volume, and the services answer.
func TestServerRootOnItsOwnVolumeIsBackedOut(t *testing.T) {
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
	h := upHost(t, bin, hostOptions{seed: 67})
	root := h.w.ServerRoot()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Move the server root onto its own volume, the services stopped.
	stopWorldServices(t, h)
	mb, _ := strconv.Atoi(strings.Fields(sh(t, "du", "-sm", root))[0])
	img := filepath.Join(t.TempDir(), "root.img")
	sh(t, "truncate", "-s", strconv.Itoa(4*mb+128)+"M", img)
	sh(t, "mkfs.ext4", "-q", "-F", img)
	loop := sh(t, "losetup", "-f", "--show", img)
	t.Cleanup(func() {
		sim.StopAll(context.Background(), h.w)
		exec.Command("umount", root).Run()
		exec.Command("losetup", "-d", loop).Run()
	})
	tmp := t.TempDir()
	sh(t, "mount", loop, tmp)
	sh(t, "cp", "-a", root+"/.", tmp)
	sh(t, "umount", tmp)
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	sh(t, "mount", loop, root)
	if err := sim.StartAll(ctx, h.w, "plain"); err != nil {
		t.Fatal(err)
	}
	h.requirePortsAnswer(t)

	if out, code := run(t, bin, "upgrade", "--answers", h.inf, "--yes"); code != 0 {
		t.Fatalf("upgrade: exit %d\n%s", code, out)
	}
	h.requireVersion(t, "5.2")
	if !mounted(root) {
		t.Fatal("the server root is no longer mounted after the upgrade")
	}

	want := h.injectMail(t, 10, 5, 300)

	if out, code := run(t, bin, "backout", "--answers", h.inf, "--yes"); code != 0 {
		t.Fatalf("backout: exit %d\n%s", code, out)
	}
	h.requireVersion(t, "5.1")
	if !mounted(root) {
		t.Fatal("the server root is no longer mounted after the backout")
	}
	h.requireMail(t, want)
	names, _ := os.ReadDir(root)
	for _, n := range names {
		if strings.HasPrefix(n.Name(), ".mswizard-") {
			t.Errorf("left in the server root: %s", n.Name())
		}
	}
	if _, err := os.Lstat(filepath.Join(filepath.Dir(root), "."+filepath.Base(root)+".mswizard-carry")); err == nil {
		t.Error("a carry directory was made beside the mounted server root")
	}
	h.requirePortsAnswer(t)
}

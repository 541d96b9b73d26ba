package steps

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"mswizard/backup"
	"mswizard/steps/host"
	"mswizard/wizard"
)

func findingIDs(t *testing.T, c *Config) []string {
	t.Helper()
	fs, err := wizard.Describe(DiskSpace(c)).Preflight(context.Background(), (&wizard.Env{}).Nop())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range fs {
		if f.Severity == wizard.Inhibitor {
			ids = append(ids, f.ID)
		}
	}
	return ids
}

// A backout restores the server root by swapping its directory (or, for a
// mount point, its contents): the preflight refuses, before anything stops, a
// server root the swap cannot handle.
func TestPreflightRefusesAServerRootTheRestoreCannotSwap(t *testing.T) {
	t.Run("a plain directory passes", func(t *testing.T) {
		c := testConfig(t)
		os.MkdirAll(c.Host.ServerRoot(), 0o755)
		if ids := findingIDs(t, c); len(ids) != 0 {
			t.Fatalf("inhibitors %v", ids)
		}
	})
	t.Run("a symlinked server root is refused", func(t *testing.T) {
		c := testConfig(t)
		real := filepath.Join(t.TempDir(), "real-root")
		os.MkdirAll(real, 0o755)
		if err := os.Symlink(real, c.Host.ServerRoot()); err != nil {
			t.Fatal(err)
		}
		if ids := findingIDs(t, c); !slices.Contains(ids, "PRE-ROOT-002") {
			t.Fatalf("inhibitors %v, want PRE-ROOT-002", ids)
		}
	})
	t.Run("a state directory inside the server root is refused", func(t *testing.T) {
		c := testConfig(t)
		os.MkdirAll(c.Host.ServerRoot(), 0o755)
		c.StateDir = filepath.Join(c.Host.ServerRoot(), "mswizard-state")
		if ids := findingIDs(t, c); !slices.Contains(ids, "PRE-ROOT-003") {
			t.Fatalf("inhibitors %v, want PRE-ROOT-003", ids)
		}
	})
	// An HA shared disk: the restore swaps the mount point's contents.
	t.Run("a server root that is a mount point passes", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("mounting a tmpfs needs root")
		}
		c := testConfig(t)
		os.MkdirAll(c.Host.ServerRoot(), 0o755)
		if err := syscall.Mount("tmpfs", c.Host.ServerRoot(), "tmpfs", 0, "size=8m"); err != nil {
			t.Fatalf("mount: %v", err)
		}
		t.Cleanup(func() { syscall.Unmount(c.Host.ServerRoot(), 0) })
		if ids := findingIDs(t, c); len(ids) != 0 {
			t.Fatalf("inhibitors %v, want none", ids)
		}
	})
}

// StoreAction = umount keeps the store safe only for a mounted volume that
// keeps its content when unmounted.
func TestPreflightRefusesAStoreUmountCannotKeepSafe(t *testing.T) {
	t.Run("a store that is not a mount point", func(t *testing.T) {
		c := testConfig(t, "StoreAction = umount")
		os.MkdirAll(c.Host.StorePrimary(), 0o755)
		if ids := findingIDs(t, c); !slices.Contains(ids, "PRE-STORE-001") {
			t.Fatalf("inhibitors %v, want PRE-STORE-001", ids)
		}
	})
	t.Run("a store on a tmpfs", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("mounting a tmpfs needs root")
		}
		c := testConfig(t, "StoreAction = umount")
		os.MkdirAll(c.Host.StorePrimary(), 0o755)
		if err := syscall.Mount("tmpfs", c.Host.StorePrimary(), "tmpfs", 0, "size=8m"); err != nil {
			t.Fatalf("mount: %v", err)
		}
		t.Cleanup(func() { syscall.Unmount(c.Host.StorePrimary(), 0) })
		if ids := findingIDs(t, c); !slices.Contains(ids, "PRE-STORE-002") {
			t.Fatalf("inhibitors %v, want PRE-STORE-002", ids)
		}
	})
}

// On a server root that is a mount point the backout swaps its contents and
// carries the live queue and store inside it (the parent is another
// filesystem): the 5.1 tree comes back, the mail stays, the mount stays, and
// nothing of the wizard's is left in the root.
func TestRestoreOfAMountedServerRootKeepsTheMail(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	c := testConfig(t)
	root := c.Host.ServerRoot()
	os.MkdirAll(root, 0o755)
	if err := syscall.Mount("tmpfs", root, "tmpfs", 0, "size=16m"); err != nil {
		t.Fatalf("mount: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(root, syscall.MNT_DETACH) })
	writeFiles(t, root, map[string]string{"setup/install.inf": "[MessagingServer]\nVersion = 5.1\n"})
	writeFiles(t, c.Host.QueueDir(), map[string]string{"tcp_local/ZZ01.00": "old queued"})
	writeFiles(t, c.Host.StorePrimary(), map[string]string{"=user/a/00/1.msg": "stored"})
	res, err := backup.Create(t.Context(), backup.Options{Source: root, Dest: c.BackupDir, Name: serverRootArchive, Exclude: c.serverRootExcludes()})
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, root, map[string]string{"setup/install.inf": "[MessagingServer]\nVersion = 5.2\n"})
	writeFiles(t, c.Host.MsgDir(), map[string]string{"config/new.conf": "5.2"})
	os.Remove(filepath.Join(c.Host.QueueDir(), "tcp_local/ZZ01.00"))
	writeFiles(t, c.Host.QueueDir(), map[string]string{"tcp_local/ZZ02.00": "queued since"})
	writeFiles(t, c.Host.StorePrimary(), map[string]string{"=user/a/00/2.msg": "delivered since"})

	rec := backupRecord{Name: serverRootArchive, Archive: res.Archive, Manifest: res.Manifest, ManifestSHA256: res.ManifestSHA256}
	carried, err := c.restoreServerRoot(t.Context(), (&wizard.Env{}).Nop(), rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(carried) != 1 {
		t.Errorf("carried %v, want the one queued file", carried)
	}
	if v, _ := host.SetupInfVersion(root); v != "5.1" {
		t.Errorf("setup/install.inf records version %q after the restore", v)
	}
	for p, want := range map[string]string{
		filepath.Join(c.Host.QueueDir(), "tcp_local/ZZ02.00"):    "queued since",
		filepath.Join(c.Host.StorePrimary(), "=user/a/00/1.msg"): "stored",
		filepath.Join(c.Host.StorePrimary(), "=user/a/00/2.msg"): "delivered since",
	} {
		if b, err := os.ReadFile(p); err != nil || string(b) != want {
			t.Errorf("%s: %q %v, want %q", p, b, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(c.Host.MsgDir(), "config/new.conf")); err == nil {
		t.Error("a 5.2 file survived the restore")
	}
	if m, _ := isMountPoint(root); !m {
		t.Error("the server root is no longer a mount point")
	}
	names, _ := os.ReadDir(root)
	for _, n := range names {
		if strings.HasPrefix(n.Name(), backup.WizardPrefix) {
			t.Errorf("left in the server root: %s", n.Name())
		}
	}
	diffs, err := backup.CompareTree(t.Context(), root, res.Manifest, []string{c.storeRel(), "msg-budgie/imta/queue"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		// Carrying the queue and store back touches their parents' mtimes,
		// as on a server root that is not a mount point.
		if fi, err := os.Stat(filepath.Join(root, d.Path)); err == nil && fi.IsDir() && d.Path != "." && strings.HasPrefix(d.Detail, "mtime ") {
			continue
		}
		t.Errorf("server root after the restore: %s", d)
	}
}

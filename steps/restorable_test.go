package steps

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"mswizard/wizard"
)

func findingIDs(t *testing.T, c *Config) []string {
	t.Helper()
	fs, err := DiskSpace(c).(wizard.Preflight).Findings(context.Background(), (&wizard.Env{}).Nop())
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

// A backout restores the server root by swapping its directory: the preflight
// refuses, before anything stops, a server root the swap cannot handle.
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
	t.Run("a server root that is a mount point is refused", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("mounting a tmpfs needs root")
		}
		c := testConfig(t)
		os.MkdirAll(c.Host.ServerRoot(), 0o755)
		if err := syscall.Mount("tmpfs", c.Host.ServerRoot(), "tmpfs", 0, "size=8m"); err != nil {
			t.Fatalf("mount: %v", err)
		}
		t.Cleanup(func() { syscall.Unmount(c.Host.ServerRoot(), 0) })
		if ids := findingIDs(t, c); !slices.Contains(ids, "PRE-ROOT-001") {
			t.Fatalf("inhibitors %v, want PRE-ROOT-001", ids)
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

package steps

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mswizard/wizard"
)

// runningStore starts a process the process table shows as the store daemon
// of c's server root (a copy of sleep named MSGDIR/lib/stored, as
// `ps -ef | grep SUNWmsgsr` shows stored; host-facts F-PROC-003): what boot
// scripts leave after a power cut, under a resumed run that skips its stops.
func runningStore(t *testing.T, c *Config) {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatalf("sleep (Debian package coreutils): %v", err)
	}
	dst := filepath.Join(c.Host.MsgDir(), "lib", "stored")
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(sleep)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(dst, "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = os.Remove(dst)
	})
}

// do plans step and runs its only action.
func do(t *testing.T, s wizard.Step) error {
	t.Helper()
	env := (&wizard.Env{}).Nop()
	as, err := s.Plan(t.Context(), env)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 {
		t.Fatalf("%s plans %d actions, want 1", s.ID(), len(as))
	}
	return as[0].Do(t.Context(), &wizard.Receipt{Step: s.ID()})
}

// requireRefused checks err is the services-down refusal of what, naming the
// store daemon that runs.
func requireRefused(t *testing.T, err error, what string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), what+" refused") || !strings.Contains(err.Error(), "stored") {
		t.Fatalf("under a running store daemon: %v, want %q refused naming stored", err, what)
	}
}

// Before the store is moved aside the run proves again that the services are
// down: a store daemon running again keeps the store where it is.
func TestTheStoreIsNotMovedUnderARunningStoreDaemon(t *testing.T) {
	c := testConfig(t)
	writeFiles(t, c.Host.StorePrimary(), map[string]string{"=user/a/00/1.msg": "stored"})
	runningStore(t, c)
	requireRefused(t, do(t, StoreAside(c)), "moving the store aside")
	if _, err := os.Stat(filepath.Join(c.Host.StorePrimary(), "=user/a/00/1.msg")); err != nil {
		t.Fatalf("the store moved anyway: %v", err)
	}
	if _, err := os.Lstat(c.Host.StorePrimary() + storeAsideSuffix); err == nil {
		t.Fatal("the store was set aside under a running store daemon")
	}
}

// StoreAction = umount proves the same before it unmounts.
func TestTheStoreIsNotUnmountedUnderARunningStoreDaemon(t *testing.T) {
	c := testConfig(t, "StoreAction = umount")
	if err := os.MkdirAll(c.Host.StorePrimary(), 0o755); err != nil {
		t.Fatal(err)
	}
	// Nothing runs: the action goes on (the store is no mount point here, so
	// there is nothing to unmount).
	if err := do(t, StoreAside(c)); err != nil {
		t.Fatalf("with the services down: %v", err)
	}
	runningStore(t, c)
	requireRefused(t, do(t, StoreAside(c)), "unmounting the store")
}

// The installer is never started under a running service.
func TestTheInstallerIsNotStartedUnderARunningStoreDaemon(t *testing.T) {
	c := testConfig(t)
	if err := c.BeforeInstaller(t.Context()); err != nil {
		t.Fatalf("with the services down: %v", err)
	}
	runningStore(t, c)
	requireRefused(t, c.BeforeInstaller(t.Context()), "running the installer")
}

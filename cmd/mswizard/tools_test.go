package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mswizard/fixtures/host"
	"mswizard/fixtures/world"
	hostmodel "mswizard/steps/host"
)

// TestOperatorBackupCommands runs `backup create`, `verify` and `restore` as an
// operator checks an old backup by hand: a damaged archive exits 5 naming the
// entry.
func TestOperatorBackupCommands(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	src, dest := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(src, "imta", "queue", "tcp_local"), 0o755)
	os.WriteFile(filepath.Join(src, "imta", "queue", "tcp_local", "ZZ01.00"), []byte(strings.Repeat("mail\n", 4000)), 0o600)
	os.Symlink("imta", filepath.Join(src, "link"))
	out, code := run(t, bin, "backup", "create", "--source", src, "--dest", dest)
	if code != 0 {
		t.Fatalf("create exit %d:\n%s", code, out)
	}
	archive := ""
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "archive: "); ok {
			archive = v
		}
	}
	if !strings.HasSuffix(archive, ".tar.zst") {
		t.Fatalf("create did not print the archive path first:\n%s", out)
	}
	if out, code := run(t, bin, "backup", "verify", archive); code != 0 {
		t.Fatalf("verify of a good archive: exit %d\n%s", code, out)
	}
	target := filepath.Join(t.TempDir(), "restored")
	if out, code := run(t, bin, "backup", "restore", archive, "--target", target); code != 0 {
		t.Fatalf("restore exit %d:\n%s", code, out)
	}
	if b, _ := os.ReadFile(filepath.Join(target, "imta", "queue", "tcp_local", "ZZ01.00")); len(b) != 20000 {
		t.Fatalf("restored message has %d bytes", len(b))
	}
	if l, _ := os.Readlink(filepath.Join(target, "link")); l != "imta" {
		t.Fatalf("restored link -> %q", l)
	}
	// Damage the archive: verify must fail with exit 5.
	b, _ := os.ReadFile(archive)
	os.WriteFile(archive, b[:len(b)/2], 0o600)
	out, code = run(t, bin, "backup", "verify", archive)
	if code != 5 {
		t.Fatalf("verify of a truncated archive: exit %d, want 5\n%s", code, out)
	}
}

// TestOperatorLDIFCommands exports the simulated directory with the answers file
// and verifies the files; a file that is not LDIF exits 5.
func TestOperatorLDIFCommands(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{seed: 3, users: 15, noStart: true})
	outDir := t.TempDir()
	out, code := run(t, bin, "ldif", "export", "--answers", h.World.InstallInf(), "--out", outDir)
	if code != 0 {
		t.Fatalf("ldif export exit %d:\n%s", code, out)
	}
	files, _ := filepath.Glob(filepath.Join(outDir, "*.ldif"))
	if len(files) != 2 || !strings.Contains(out, ".ug.ldif") || !strings.Contains(out, ".pab.ldif") {
		t.Fatalf("want DATE.ug.ldif and DATE.pab.ldif, got %v\n%s", files, out)
	}
	for _, f := range files {
		out, code := run(t, bin, "ldif", "verify", f)
		if code != 0 || !strings.Contains(out, " entries") {
			t.Fatalf("ldif verify %s: exit %d\n%s", f, code, out)
		}
		if strings.Contains(out, ": 0 entries") {
			t.Fatalf("empty export %s", f)
		}
	}
	if !strings.Contains(out, "the server's own count agrees") {
		t.Errorf("ldif export does not say the server counted the entries again:\n%s", out)
	}
	// An export whose search finds nothing is no backup: it fails naming its
	// finding ID and leaves no file that could pass for one.
	empty := upHost(t, bin, hostOptions{seed: 3, users: 15, noStart: true,
		wizard: []string{"Export = none | o=siroe.com | sub | (uid=no-such-user) | * | DATE.none.ldif"}})
	emptyDir := t.TempDir()
	out, code = run(t, bin, "ldif", "export", "--answers", empty.World.InstallInf(), "--out", emptyDir)
	if code == 0 || !strings.Contains(out, "LDIF-EMPTY-NONE") {
		t.Fatalf("an empty export: exit %d, want a failure naming LDIF-EMPTY-NONE\n%s", code, out)
	}
	if left, _ := filepath.Glob(filepath.Join(emptyDir, "*.ldif")); len(left) != 0 {
		t.Fatalf("an empty export left %v", left)
	}
	bad := filepath.Join(outDir, "bad.ldif")
	os.WriteFile(bad, []byte("version: 1\n\ndn: o=x\nno colon here\n"), 0o600)
	if out, code := run(t, bin, "ldif", "verify", bad); code != 5 || !strings.Contains(out, "bad.ldif:4") {
		t.Fatalf("ldif verify of a broken file: exit %d, want 5 naming line 4\n%s", code, out)
	}
	if out, code := run(t, bin, "ldif", "verify", filepath.Join(outDir, "missing.ldif")); code != 2 {
		t.Fatalf("ldif verify of a missing file: exit %d, want 2 (usage)\n%s", code, out)
	}
}

// TestPreflightRefusesATooSmallBackupVolumeBeforeAnythingStops mounts a tiny
// tmpfs as BackupDir: the run stops at preflight with PRE-DISK-001 and every
// service still runs.
func TestPreflightRefusesATooSmallBackupVolumeBeforeAnythingStops(t *testing.T) {
	t.Parallel()
	requireTools(t)
	if os.Geteuid() != 0 {
		if testing.Short() {
			t.Skip("mounting a tmpfs needs root")
		}
		t.Fatal("mounting a tmpfs needs root: run the tests as root, as make test does")
	}
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{seed: 4, users: 10})
	small := filepath.Join(t.TempDir(), "small")
	os.MkdirAll(small, 0o700)
	if err := syscall.Mount("tmpfs", small, "tmpfs", 0, "size=64k"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(small, 0) })
	inf := h.World.InstallInf()
	b, _ := os.ReadFile(inf)
	os.WriteFile(inf, []byte(strings.Replace(string(b), "BackupDir = "+h.World.BackupDir(), "BackupDir = "+small, 1)), 0o600)
	out, code := run(t, bin, "upgrade", "--answers", inf, "--yes")
	if code != 1 || !strings.Contains(out, "PRE-DISK-001") || !strings.Contains(out, "nothing was changed") {
		t.Fatalf("exit %d, want 1 with PRE-DISK-001:\n%s", code, out)
	}
	if strings.Contains(out, "imsimta stop dispatcher") {
		t.Fatalf("a service was touched:\n%s", out)
	}
	if !servicesAnswer(t, h.Host) {
		t.Fatal("the messaging services are not running any more")
	}
}

func servicesAnswer(t *testing.T, h *host.Host) bool {
	t.Helper()
	p, err := world.ReadPorts(h.World)
	if err != nil {
		t.Fatal(err)
	}
	return portAnswers(p.IMAP) && portAnswers(p.SMTP)
}

func portAnswers(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// endpoints are the listening services of the host's live configuration
// (the wizard's host model reads it), named as the tests name them.
func (h *simHost) endpoints(t *testing.T) map[string]hostmodel.Service {
	t.Helper()
	svcs, err := hostmodel.Services(h.w.Layout())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]hostmodel.Service{}
	for name, sv := range svcs {
		if sv.Port <= 0 {
			continue // the store and the scheduler open no port
		}
		switch name {
		case "dispatcher":
			name = "smtp"
		case "https-admserv":
			name = "web_admin"
		case "https-" + h.w.Host:
			name = "web_host"
		}
		out[name] = sv
	}
	return out
}

// endpointAnswers connects to a service where its configuration says it
// listens (a test may connect; the wizard itself reads the socket table).
func endpointAnswers(sv hostmodel.Service) bool {
	addr := sv.Addr
	if addr == "" || addr == "*" || addr == "0.0.0.0" {
		addr = "127.0.0.1"
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, strconv.Itoa(sv.Port)), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestStagedWindowsAndLeftOutSteps runs the runbook as an operator with two
// maintenance windows would: --until stops cleanly after the backups, the second
// run goes on from there, and an optional step left out with --skip is neither
// run nor undone; a required step cannot be left out.
func TestStagedWindowsAndLeftOutSteps(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{seed: 31})

	out, code := run(t, bin, "plan", "--answers", h.inf, "--skip", "stop/dispatcher")
	if code != 2 || !strings.Contains(out, `--skip "stop/dispatcher": this step is required`) {
		t.Fatalf("skipping a required step: exit %d\n%s", code, out)
	}
	out, code = run(t, bin, "plan", "--answers", h.inf, "--skip", "directory/export")
	if code != 0 || !strings.Contains(out, "directory/export — Export users, groups and address books to LDIF\n      left out (--skip/--only)") {
		t.Fatalf("plan --skip directory/export: exit %d\n%s", code, out)
	}

	out, code = run(t, bin, "upgrade", "--answers", h.inf, "--yes", "--until", "backup/verify")
	if code != 0 || !strings.Contains(out, "stopped after backup/verify as asked (--until)") {
		t.Fatalf("first window: exit %d\n%s", code, out)
	}
	h.requireVersion(t, "5.1")
	out, code = run(t, bin, "upgrade", "--answers", h.inf, "--yes", "--skip", "directory/export")
	if code != 0 {
		t.Fatalf("second window: exit %d\n%s", code, out)
	}
	if strings.Contains(out, "imsimta stop dispatcher") {
		t.Fatalf("the second window stopped the dispatcher again:\n%s", out)
	}
	// directory/config-export (o=NetscapeRoot, required: the backout puts
	// this server's part back from it) still writes DATE.config.ldif.
	if ents, _ := filepath.Glob(filepath.Join(h.w.StateDir(), "ldif", "*.ldif")); slices.ContainsFunc(ents, func(p string) bool { return !strings.HasSuffix(p, ".config.ldif") }) {
		t.Fatalf("a left-out export wrote %v", ents)
	}
	h.requireVersion(t, "5.2")
	out, code = run(t, bin, "backout", "--answers", h.inf, "--dry-run")
	if code != 0 || strings.Contains(out, "undo directory/export") || !strings.Contains(out, "undo upgrade/run-installer") {
		t.Fatalf("backout plan: exit %d\n%s", code, out)
	}
	h.requireVersion(t, "5.2")
}

// The help names every step in runbook order, from the runbook itself, so the
// IDs --until/--skip/--only take can be read there.
func TestUpgradeHelpListsTheStepsInOrder(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	out, code := run(t, bin, "upgrade", "--help")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	order := []string{"preflight/disk-space", "stop/dispatcher", "stop/messaging", "backup/verify", "upgrade/run-installer", "post/start", "post/queue-check"}
	last := -1
	for _, id := range order {
		i := strings.Index(out, "  "+id+" ")
		if i < 0 || i < last {
			t.Fatalf("%s missing or out of order in the help:\n%s", id, out)
		}
		last = i
	}
	if !strings.Contains(out, "Export users, groups and address books to LDIF (optional)") {
		t.Errorf("the help does not mark optional steps:\n%s", out)
	}
}

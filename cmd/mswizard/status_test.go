package main

import (
	"os"
	"strings"
	"testing"

	"mswizard/wizard/journal"
)

// A backout killed inside a step leaves it neither done nor undone: status
// says so and names the command that finishes it.
func TestStatusShowsAStepABackoutStoppedInside(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{seed: 51})
	if out, code := run(t, bin, "upgrade", "--answers", h.inf, "--yes", "--until", "stop/dispatcher"); code != 0 {
		t.Fatalf("upgrade: exit %d\n%s", code, out)
	}
	j, err := journal.Open(h.w.StateDir(), journal.Options{Run: "killed-backout"})
	if err != nil {
		t.Fatal(err)
	}
	j.Append(journal.Record{Kind: journal.KindUndoBegin, Step: "stop/dispatcher", Action: 0, Summary: "start the dispatcher"})
	j.Close()
	out, code := run(t, bin, "status", "--answers", h.inf)
	if code != 0 || !strings.Contains(out, "undoing    stop/dispatcher") || !strings.Contains(out, "run `mswizard backout` to finish it") {
		t.Fatalf("status: exit %d\n%s", code, out)
	}
}

// A backout that cannot finish says what failed, what is kept safe and what to
// run next, and the steps it already undid stay undone for the rerun.
func TestAFailedBackoutSaysWhatIsKeptSafe(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{seed: 52})
	if out, code := run(t, bin, "upgrade", "--answers", h.inf, "--yes"); code != 0 {
		t.Fatalf("upgrade: exit %d\n%s", code, out)
	}
	archive := backupIndex(t, h.w.StateDir())["server-root"].Archive
	moved := archive + ".elsewhere"
	if err := os.Rename(archive, moved); err != nil {
		t.Fatal(err)
	}
	out, code := run(t, bin, "backout", "--answers", h.inf, "--yes")
	if code != 1 {
		t.Fatalf("backout without its archive: exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{"upgrade/run-installer", "rerun `mswizard backout`", "kept safe:", "journal:", "report:"} {
		if !strings.Contains(out, want) {
			t.Errorf("the failure does not say %q:\n%s", want, out)
		}
	}
	// Put the archive back: the rerun finishes from where it stopped.
	if err := os.Rename(moved, archive); err != nil {
		t.Fatal(err)
	}
	if out, code := run(t, bin, "backout", "--answers", h.inf, "--yes"); code != 0 {
		t.Fatalf("backout rerun: exit %d\n%s", code, out)
	}
	h.requireVersion(t, "5.1")
}

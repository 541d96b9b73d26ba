package main

import (
	"strings"
	"testing"

	"mswizard/wizard/journal"
)

// A backout killed inside a step leaves it neither done nor undone: status
// says so and names the command that finishes it.
func TestStatusShowsAStepABackoutStoppedInside(t *testing.T) {
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

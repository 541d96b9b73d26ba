package wizard

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"mswizard/wizard/journal"
)

// A backout stopped after some steps were fully undone, and the operator goes
// forward again: the undone steps run their actions again (their old done records
// belong to an application the backout took back), and a later backout takes the
// new application back in full.
func TestApplyAfterAnInterruptedBackoutRedoesTheUndoneStepsAndBacksThemOutAgain(t *testing.T) {
	h := newHarness(t)
	if err := h.apply(t, Options{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r, done := h.runner(t, Options{Yes: true})
	r.Events = func(e Event) {
		if e.Kind == EvStepDone && e.Undo {
			cancel() // stop after the first step is undone
		}
	}
	err := r.Backout(ctx)
	done()
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("backout: %v, want interrupted", err)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "post_d.0")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("post/d was not undone by the interrupted backout: %v", err)
	}
	if err := h.apply(t, Options{}); err != nil {
		t.Fatalf("apply after an interrupted backout: %v", err)
	}
	for _, f := range []string{"post_d.0", "post_d.1"} {
		if _, err := os.Stat(filepath.Join(h.dir, f)); err != nil {
			t.Fatalf("the new apply left post/d undone: %v", err)
		}
	}
	r, done = h.runner(t, Options{Yes: true})
	err = r.Backout(context.Background())
	done()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"stop_a.0", "backup_b.0", "upgrade_c.0", "post_d.0", "post_d.1"} {
		if _, err := os.Stat(filepath.Join(h.dir, f)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s survived the final backout", f)
		}
	}
}

// A backout stopped in the middle of a step's undo leaves that step half taken
// back: a new apply would count it as done and build on a host it no longer
// describes, so it refuses and says to finish the backout.
func TestApplyRefusesWhileAStepIsHalfBackedOut(t *testing.T) {
	h := newHarness(t)
	if err := h.apply(t, Options{}); err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(h.state, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	j.Append(journal.Record{Kind: journal.KindUndoBegin, Step: "post/d", Action: 0, Summary: "remove post_d.1"})
	j.Append(journal.Record{Kind: journal.KindUndoDone, Step: "post/d", Action: 0, Summary: "remove post_d.1"})
	j.Close()
	os.Remove(filepath.Join(h.dir, "post_d.1"))
	err = h.apply(t, Options{})
	var de *DecisionError
	if !errors.As(err, &de) || de.Step != "post/d" {
		t.Fatalf("apply = %v, want a decision naming post/d", err)
	}
	r, done := h.runner(t, Options{Yes: true})
	defer done()
	if err := r.Backout(context.Background()); err != nil {
		t.Fatalf("finishing the backout: %v", err)
	}
}

package wizard

import (
	"context"
	"errors"
	"slices"
	"testing"

	"mswizard/wizard/journal"
)

// An undo action left in doubt that cannot be repeated stops the backout with
// choices that work: resolve --mark-done records it undone, resolve --retry runs
// it again; either way the next backout goes on.
func TestUndoInDoubtIsResolvedByTheOperator(t *testing.T) {
	for _, markDone := range []bool{true, false} {
		name := "retry runs the undo action again"
		if markDone {
			name = "mark-done records it undone"
		}
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.steps = h.steps[:2] // preflight, stop/a
			if err := h.apply(t, Options{}); err != nil {
				t.Fatal(err)
			}
			j, err := journal.Open(h.state, journal.Options{})
			if err != nil {
				t.Fatal(err)
			}
			j.Append(journal.Record{Kind: journal.KindUndoBegin, Step: "stop/a", Action: 0, Summary: "remove stop_a.1"})
			j.Close()
			h.steps[1] = &nonIdemUndo{h.steps[1].(*fakeStep)}
			r, done := h.runner(t, Options{Yes: true})
			err = r.Backout(context.Background())
			done()
			var de *DecisionError
			if !errors.As(err, &de) {
				t.Fatalf("backout = %v, want a decision", err)
			}
			r, done = h.runner(t, Options{Yes: true})
			if err := r.Resolve("stop/a", markDone); err != nil {
				t.Fatalf("resolve: %v", err)
			}
			err = r.Backout(context.Background())
			done()
			if err != nil {
				t.Fatalf("backout after resolve: %v", err)
			}
			got := h.effects(t)
			if want := !markDone; slices.Contains(got, "undo:stop/a.1") != want {
				t.Fatalf("effects %v: undo of stop/a.1 run again = %v, want %v", got, !want, want)
			}
			if !Fold(mustRead(t, h.state)).BackedOut {
				t.Fatal("the backout did not complete")
			}
		})
	}
}

// nonIdemUndo makes a fake step's undo actions unrepeatable.
type nonIdemUndo struct{ *fakeStep }

func (s *nonIdemUndo) Undo(ctx context.Context, env *Env, receipts []Receipt) ([]Action, error) {
	as, err := s.fakeStep.Undo(ctx, env, receipts)
	for i := range as {
		as[i].Idempotent = false
	}
	return as, err
}

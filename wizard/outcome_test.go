package wizard

import (
	"context"
	"errors"
	"testing"

	"mswizard/wizard/journal"
)

// lostErr is an action error whose outcome is unknown (a connection to the
// node lost mid-command), as node.LostError is.
type lostErr struct{}

func (lostErr) Error() string        { return "connection to the node lost; the outcome is unknown" }
func (lostErr) OutcomeUnknown() bool { return true }

// lostOnce performs its first action's effect, then reports the connection
// lost before the exit status came back.
type lostOnce struct {
	*fakeStep
	lost bool
}

func (s *lostOnce) Plan(ctx context.Context, env *Env) ([]Action, error) {
	as, err := s.fakeStep.Plan(ctx, env)
	if len(as) > 0 && !s.lost {
		do := as[0].Do
		as[0].Do = func(ctx context.Context, r *Receipt) error {
			s.lost = true
			if err := do(ctx, r); err != nil {
				return err
			}
			return fmtWrap(lostErr{})
		}
	}
	return as, err
}

func fmtWrap(err error) error { return errors.Join(errors.New("node node1: run DB_SETUP"), err) }

// A lost connection leaves the action in doubt, never failed: no failed
// record, the step in doubt, and the rerun settles it by the step's check
// instead of running it again blindly.
func TestALostConnectionLeavesTheActionInDoubt(t *testing.T) {
	h := newHarness(t)
	h.steps = h.steps[:2]
	fs := h.steps[1].(*fakeStep)
	fs.nonIdem, fs.n = true, 1
	h.steps[1] = &lostOnce{fakeStep: fs}
	err := h.apply(t, Options{})
	if !IsOutcomeUnknown(err) {
		t.Fatalf("apply = %v, want an error whose outcome is unknown", err)
	}
	recs := mustRead(t, h.state)
	for _, r := range recs {
		if r.Kind == journal.KindFailed {
			t.Fatalf("the lost action was journaled as failed: %+v", r)
		}
	}
	if st := Fold(recs).Step(fs.id); st.State != StateInDoubt {
		t.Fatalf("step state %s, want in doubt", st.State)
	}
	if err := h.apply(t, Options{}); err != nil {
		t.Fatalf("rerun: %v", err)
	}
	n := 0
	for _, e := range h.effects(t) {
		if e == fs.id+".0" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the in-doubt action ran %d times although its check held: %v", n, h.effects(t))
	}
}

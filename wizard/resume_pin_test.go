package wizard

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"mswizard/wizard/journal"
)

// The journal pins the answers and the steps a run already reached, in their
// order; a newer wizard whose runbook gained or lost steps after that point
// resumes it, and any other change is refused with a message naming it.
func TestResumeWithAChangedRunbook(t *testing.T) {
	pin := Pin{WizardVersion: "1", AnswersHash: "aaaa"}
	cases := []struct {
		name    string
		change  func(dir string, steps []Step) []Step
		version string
		refuse  string // "" resumes
	}{
		{"an optional step added after the point reached resumes", func(dir string, s []Step) []Step {
			return slices.Insert(s, 4, Step(&fakeStep{id: "post/new", dir: dir, n: 1, optional: true}))
		}, "2", ""},
		{"a step not reached yet removed resumes", func(dir string, s []Step) []Step {
			return slices.Delete(s, 3, 4) // upgrade/c
		}, "2", ""},
		{"a new wizard version alone resumes", func(dir string, s []Step) []Step { return s }, "2", ""},
		{"a step added before the point reached is refused", func(dir string, s []Step) []Step {
			return slices.Insert(s, 2, Step(&fakeStep{id: "stop/new", dir: dir, n: 1}))
		}, "2", "step stop/new is new in this runbook and comes before backup/b, which this run already reached"},
		{"a reached step renamed is refused", func(dir string, s []Step) []Step {
			s[1] = &fakeStep{id: "stop/renamed", dir: dir, n: 2}
			return s
		}, "2", "step stop/a, which this run already reached, is not in this runbook"},
		{"reached steps reordered are refused", func(dir string, s []Step) []Step {
			s[1], s[2] = s[2], s[1]
			return s
		}, "2", "the steps this run reached changed order"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			if err := h.apply(t, Options{Until: "backup/b", Pin: pin}); err != nil {
				t.Fatal(err)
			}
			h.steps = c.change(h.dir, h.steps)
			err := h.apply(t, Options{Pin: Pin{WizardVersion: c.version, AnswersHash: "aaaa"}})
			if c.refuse == "" {
				if err != nil {
					t.Fatalf("resume: %v", err)
				}
				recs, _ := journal.Read(h.state)
				st := Fold(recs)
				for _, s := range h.steps {
					if got := st.Step(s.ID()).State; got != StateDone && got != StateSkipped {
						t.Fatalf("after the resume %s is %s", s.ID(), got)
					}
				}
				if st.Pin.WizardVersion != c.version {
					t.Fatalf("pin = %+v, want the new runbook pinned", st.Pin)
				}
				if !slices.ContainsFunc(recs, func(r journal.Record) bool {
					return r.Kind == journal.KindNote && strings.HasPrefix(r.Note, "resuming with a changed runbook")
				}) {
					t.Fatal("the journal does not note the changed runbook")
				}
				return
			}
			var pe *PinError
			if !errors.As(err, &pe) {
				t.Fatalf("resume: %v, want a PinError", err)
			}
			for _, want := range []string{c.refuse, "wizard (1)", "another --state-dir"} {
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("refusal %q does not say %q", err, want)
				}
			}
			if got := h.effects(t); slices.ContainsFunc(got, func(e string) bool { return strings.HasPrefix(e, "upgrade/") || strings.HasPrefix(e, "post/") }) {
				t.Fatalf("the refused resume ran %v", got)
			}
		})
	}
}

// A backout needs the answers the run was made with and every step it
// changed; steps added to the runbook anywhere, even before the point reached,
// do not stop it (the journal says what to undo).
func TestBackoutToleratesStepsAddedAnywhere(t *testing.T) {
	pin := Pin{WizardVersion: "1", AnswersHash: "aaaa"}
	h := newHarness(t)
	if err := h.apply(t, Options{Until: "backup/b", Pin: pin}); err != nil {
		t.Fatal(err)
	}
	h.steps = slices.Insert(h.steps, 1, Step(&fakeStep{id: "stop/new", dir: h.dir, n: 1}))
	r, done := h.runner(t, Options{Yes: true, Pin: Pin{WizardVersion: "2", AnswersHash: "aaaa"}})
	if err := r.Backout(t.Context()); err != nil {
		t.Fatalf("backout with a step added before the point reached: %v", err)
	}
	done()

	h = newHarness(t)
	if err := h.apply(t, Options{Until: "backup/b", Pin: pin}); err != nil {
		t.Fatal(err)
	}
	h.steps = slices.Delete(h.steps, 1, 2) // stop/a, which ran
	r, done = h.runner(t, Options{Yes: true, Pin: Pin{WizardVersion: "2", AnswersHash: "aaaa"}})
	defer done()
	err := r.Backout(t.Context())
	var pe *PinError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "step stop/a, which this run changed, is not in this runbook") {
		t.Fatalf("backout without a step the run changed: %v, want a PinError naming it", err)
	}
}

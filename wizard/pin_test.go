package wizard

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"mswizard/wizard/journal"
)

// The pin guards a run that changed the host against different inputs. A run
// that changed nothing yet — stopped by a preflight inhibitor the operator fixes
// in the answers (a BackupDir on a bigger volume), or by --until after read-only
// steps — takes the corrected answers and pins them; one that changed something
// still refuses.
func TestPinAcceptsNewAnswersUntilSomethingChanged(t *testing.T) {
	cases := []struct {
		name      string
		inhibitor bool
		until     string
		wantPin   bool
	}{
		{"a run stopped by an inhibitor takes corrected answers", true, "", false},
		{"a run stopped after read-only steps takes corrected answers", false, "preflight/fake", false},
		{"a run that changed the host refuses different answers", false, "stop/a", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			if c.inhibitor {
				h.steps[0] = &preflightStep{id: "preflight/fake", findings: []Finding{{ID: "PRE-DISK-001", Severity: Inhibitor, Message: "no room", Remediation: "another BackupDir"}}}
			}
			err := h.apply(t, Options{Until: c.until, Pin: Pin{WizardVersion: "1", AnswersHash: "aaaa"}})
			var ie *InhibitorError
			if c.inhibitor != errors.As(err, &ie) {
				t.Fatalf("first run: %v", err)
			}
			if c.inhibitor {
				h.steps[0] = &preflightStep{id: "preflight/fake"}
			}
			err = h.apply(t, Options{Pin: Pin{WizardVersion: "1", AnswersHash: "bbbb"}})
			var pe *PinError
			if errors.As(err, &pe) != c.wantPin {
				t.Fatalf("second run with new answers: %v, want a pin error: %v", err, c.wantPin)
			}
			if !c.wantPin {
				if err != nil {
					t.Fatal(err)
				}
				if p := Fold(mustRead(t, h.state)).Pin; p == nil || p.AnswersHash != "bbbb" {
					t.Fatalf("pin = %+v, want the new answers pinned", p)
				}
			}
		})
	}
}

// A backout works from the inputs the run was made with: with a different
// answers file (another server root, another backup directory) its undo actions
// would aim at other paths, so it refuses, names the difference, and undoes
// nothing.
func TestBackoutRefusesDifferentInputs(t *testing.T) {
	h := newHarness(t)
	if err := h.apply(t, Options{Until: "stop/a", Pin: Pin{WizardVersion: "1", AnswersHash: "aaaa"}}); err != nil {
		t.Fatal(err)
	}
	r, done := h.runner(t, Options{Yes: true, Pin: Pin{WizardVersion: "1", AnswersHash: "bbbb"}})
	err := r.Backout(t.Context())
	done()
	var pe *PinError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "answers") || !strings.Contains(err.Error(), "backout") {
		t.Fatalf("backout with other answers: %v, want a pin error naming the answers and how to back out", err)
	}
	if got := h.effects(t); slices.ContainsFunc(got, func(e string) bool { return strings.HasPrefix(e, "undo:") }) {
		t.Fatalf("undid %v with other answers", got)
	}
	r, done = h.runner(t, Options{Yes: true, Pin: Pin{WizardVersion: "1", AnswersHash: "aaaa"}})
	defer done()
	if err := r.Backout(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestBackoutPlanRefusesOtherAnswersLikeBackout(t *testing.T) {
	h := newHarness(t)
	if err := h.apply(t, Options{Until: "stop/a", Pin: Pin{WizardVersion: "1", AnswersHash: "aaaa"}}); err != nil {
		t.Fatal(err)
	}
	recs, _ := journal.Read(h.state)
	r := &Runner{Steps: h.steps, Env: &Env{Root: h.dir}, Opts: Options{Pin: Pin{WizardVersion: "1", AnswersHash: "bbbb"}}}
	var pe *PinError
	if _, err := r.BackoutPlan(context.Background(), recs); !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a PinError", err)
	}
	r.Opts.Pin.AnswersHash = "aaaa"
	if plan, err := r.BackoutPlan(context.Background(), recs); err != nil || len(plan) != 1 {
		t.Fatalf("same answers: plan %v, err %v", plan, err)
	}
}

package wizard

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"mswizard/wizard/journal"
)

// TestDecisionsAreTypedFieldsOfTheJournal: a confirmation answered in the
// TUI, one given by --yes, and an operator's resolve are journaled as typed
// decisions (kind, subject, choice, source), with nothing in Note, and Fold
// gives them back on their step.
func TestDecisionsAreTypedFieldsOfTheJournal(t *testing.T) {
	for _, c := range []struct {
		name string
		opts Options
		ask  bool
		want journal.Source
	}{
		{"a confirmation answered in the TUI says so", Options{}, true, journal.SourceTUI},
		{"a confirmation given by --yes says so", Options{Yes: true}, false, journal.SourceFlag},
		{"a confirmation given by the answers says so", Options{Yes: true, YesFrom: journal.SourceAnswers}, false, journal.SourceAnswers},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.steps[3] = noReturnStep{&fakeStep{id: "upgrade/c", dir: h.dir, n: 1, noReturn: "runs the installer"}}
			r, done := h.runner(t, c.opts)
			if c.ask {
				r.Ask = func(context.Context, Question) (bool, error) { return true, nil }
			}
			err := r.Apply(context.Background())
			done()
			if err != nil {
				t.Fatal(err)
			}
			var got *journal.Decision
			for _, rec := range mustRead(t, h.state) {
				if rec.Kind == journal.KindConfirmed {
					if rec.Note != "" {
						t.Errorf("confirmed record has words in Note: %q", rec.Note)
					}
					got = rec.Decision
				}
			}
			if got == nil || got.Kind != journal.DecideConfirm || got.Subject != "upgrade/c" || got.Choice != "yes" || got.Source != c.want {
				t.Fatalf("decision %+v, want confirm upgrade/c yes by %s", got, c.want)
			}
			ds := Fold(mustRead(t, h.state)).Step("upgrade/c").Decisions
			if len(ds) != 1 || ds[0] != *got {
				t.Fatalf("folded decisions %+v", ds)
			}
		})
	}
	t.Run("an operator's resolve is a typed decision", func(t *testing.T) {
		h := newHarness(t)
		b := h.steps[2].(*fakeStep)
		b.nonIdem, b.n = true, 1
		j, err := journal.Open(h.state, journal.Options{})
		if err != nil {
			t.Fatal(err)
		}
		j.Append(journal.Record{Kind: journal.KindBegin, Step: "backup/b", Action: 0, Summary: "create backup_b.0"})
		j.Close()
		var de *DecisionError
		if err := h.apply(t, Options{}); !errors.As(err, &de) {
			t.Fatalf("err %v, want a decision", err)
		}
		r, done := h.runner(t, Options{})
		if err := r.Resolve("backup/b", true); err != nil {
			t.Fatal(err)
		}
		done()
		ds := Fold(mustRead(t, h.state)).Step("backup/b").Decisions
		if len(ds) != 1 || ds[0].Kind != journal.DecideResolve || ds[0].Choice != journal.ChoiceDone || ds[0].Source != journal.SourceFlag {
			t.Fatalf("decisions %+v, want resolve done by flag", ds)
		}
	})
}

// TestAJournalWithDecisionsInNoteStillReads: a journal written before the
// Decision field (the decision in words inside Note) folds as it always did,
// and its decisions read back typed.
func TestAJournalWithDecisionsInNoteStillReads(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(dir, journal.Options{Run: "old"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []journal.Record{
		{Kind: journal.KindWaived, Step: "preflight/disk", Summary: "PRE-DISK-001", Note: "the operator's reason"},
		{Kind: journal.KindConfirmed, Step: "upgrade/c"},
		{Kind: journal.KindBegin, Step: "upgrade/c", Action: 0, Summary: "run it"},
		{Kind: journal.KindResolved, Step: "upgrade/c", Action: 0, Summary: "run it", Note: "done"},
		{Kind: journal.KindStepDone, Step: "upgrade/c"},
		{Kind: journal.KindBegin, Step: "stop/a", Action: 0, Summary: "stop it"},
		{Kind: journal.KindResolved, Step: "stop/a", Action: 0, Summary: "stop it", Note: "not-done: operator chose retry"},
		{Kind: journal.KindBegin, Step: "stop/a", Action: 0, Summary: "stop it"},
		{Kind: journal.KindDone, Step: "stop/a", Action: 0, Summary: "stop it", Receipt: json.RawMessage(`{"step":"stop/a","action":0,"summary":"stop it"}`)},
		{Kind: journal.KindStepDone, Step: "stop/a"},
		{Kind: journal.KindUndoBegin, Step: "stop/a", Action: 0, Summary: "start it"},
		{Kind: journal.KindResolved, Step: "stop/a", Action: 0, Summary: "start it", Note: "undo-done"},
	} {
		if _, err := j.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	recs := j.Records()
	j.Close()
	if d := journal.DecisionOf(recs[0]); d == nil || d.Kind != journal.DecideWaive || d.Subject != "PRE-DISK-001" || d.Reason != "the operator's reason" {
		t.Errorf("waiver reads as %+v", d)
	}
	st := Fold(recs)
	if len(st.Waivers) != 1 || st.Waivers[0].Subject != "PRE-DISK-001" {
		t.Errorf("waivers fold as %+v", st.Waivers)
	}
	c := st.Step("upgrade/c")
	if c.State != StateDone || !c.Confirmed || len(c.DoneActions) != 1 {
		t.Errorf("upgrade/c folds as %+v", c)
	}
	if len(c.Decisions) != 2 || c.Decisions[0].Kind != journal.DecideConfirm || c.Decisions[1].Choice != journal.ChoiceDone {
		t.Errorf("upgrade/c decisions %+v", c.Decisions)
	}
	a := st.Step("stop/a")
	if a.UndoDone[0] != "start it" || a.UndoInDoubt != -1 {
		t.Errorf("the old undo-done note no longer resolves the undo: %+v", a)
	}
	if len(a.Decisions) != 2 || a.Decisions[0].Choice != journal.ChoiceRetry || !a.Decisions[1].Undo {
		t.Errorf("stop/a decisions %+v", a.Decisions)
	}
}

// intentStep journals its intent, then loses its outcome before its effect
// (as a wizard killed there, or a node that stopped answering, would).
type intentStep struct{ fakeStep }

func (s *intentStep) Plan(ctx context.Context, env *Env) ([]Action, error) {
	return []Action{{Summary: "switch it", Do: func(ctx context.Context, r *Receipt) error {
		if err := r.Intend(map[string]string{"prev": "on"}); err != nil {
			return err
		}
		return errKilled
	}}}, nil
}

var errKilled = outcomeUnknown{}

type outcomeUnknown struct{}

func (outcomeUnknown) Error() string        { return "killed" }
func (outcomeUnknown) OutcomeUnknown() bool { return true }

// TestAnActionsIntentIsInItsBeginRecordAndReachesItsUndo: an action that
// states its intent before its effect and never finishes leaves a begin
// record carrying the intent; resolved as done, its receipt holds the
// intent as data, which is what its undo reads.
func TestAnActionsIntentIsInItsBeginRecordAndReachesItsUndo(t *testing.T) {
	h := newHarness(t)
	s := &intentStep{fakeStep{id: "stop/a", dir: h.dir, n: 1}}
	h.steps = []Step{s}
	if err := h.apply(t, Options{}); !IsOutcomeUnknown(err) {
		t.Fatalf("err %v, want the action left in doubt", err)
	}
	var begins []journal.Record
	for _, r := range mustRead(t, h.state) {
		if r.Kind == journal.KindBegin {
			begins = append(begins, r)
		}
	}
	if len(begins) != 2 || begins[0].Intent != nil || string(begins[1].Intent) != `{"prev":"on"}` || begins[1].Action != 0 || begins[1].Summary != "switch it" {
		t.Fatalf("begin records %+v, want the begin and the begin restated with the intent", begins)
	}
	r, done := h.runner(t, Options{})
	if err := r.Resolve("stop/a", true); err != nil {
		t.Fatal(err)
	}
	done()
	rc := Fold(mustRead(t, h.state)).Step("stop/a").Receipts
	if len(rc) != 1 || string(rc[0].Data) != `{"prev":"on"}` {
		t.Fatalf("receipts %+v, want the intent as the resolved action's data", rc)
	}
}

// TestTheBackoutsConfirmationIsATypedDecision: the backout's own "back out N
// steps?" is journaled on the backout's start record with who confirmed it.
func TestTheBackoutsConfirmationIsATypedDecision(t *testing.T) {
	for _, c := range []struct {
		name string
		opts Options
		ask  bool
		want journal.Source
	}{
		{"confirmed in the TUI", Options{}, true, journal.SourceTUI},
		{"confirmed by --yes", Options{Yes: true}, false, journal.SourceFlag},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.apply(t, Options{Until: "stop/a"})
			r, done := h.runner(t, c.opts)
			if c.ask {
				r.Ask = func(context.Context, Question) (bool, error) { return true, nil }
			}
			err := r.Backout(context.Background())
			done()
			if err != nil {
				t.Fatal(err)
			}
			var got *journal.Decision
			for _, rec := range mustRead(t, h.state) {
				if rec.Kind == journal.KindRunStart && rec.Note == "backout" {
					got = rec.Decision
				}
			}
			if got == nil || got.Kind != journal.DecideConfirm || got.Subject != "backout" || got.Choice != "yes" || got.Source != c.want {
				t.Fatalf("backout decision %+v, want confirm backout yes by %s", got, c.want)
			}
		})
	}
}

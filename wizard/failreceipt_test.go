package wizard

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mswizard/wizard/journal"
)

// cmdStep's one action runs "a command" on node2: it records its receipt
// (node, argv, exit code, output tail) and then fails, or loses the node,
// as outcome says; its undo fails the same way when undoFails.
type cmdStep struct {
	id        string
	dir       string
	outcome   string // "fail", "lost" or "" (succeeds)
	undoFails bool
}

func (s *cmdStep) ID() string    { return s.id }
func (s *cmdStep) Title() string { return "command " + s.id }
func (s *cmdStep) Check(context.Context, *Env) (bool, string, error) {
	_, err := os.Stat(filepath.Join(s.dir, "done"))
	return err == nil, "", nil
}
func (s *cmdStep) Plan(context.Context, *Env) ([]Action, error) {
	return []Action{{Summary: "GM_SETUP on node2", Do: func(ctx context.Context, r *Receipt) error {
		switch s.outcome {
		case "fail":
			r.Command = &Result{Node: "node2", Argv: []string{"/opt/GroupMail/bin/GM_SETUP"}, ExitCode: 1, Tail: "GM_SETUP: disk full on node2\n"}
			return errors.New("/opt/GroupMail/bin/GM_SETUP: exit status 1 (expected 0): GM_SETUP: disk full on node2")
		case "lost":
			r.Command = &Result{Node: "node2", Argv: []string{"/opt/GroupMail/bin/GM_SETUP"}, ExitCode: -1, Tail: "half of the answers read\n"}
			return lostErr{}
		}
		r.Command = &Result{Node: "node2", Argv: []string{"/opt/GroupMail/bin/GM_SETUP"}}
		return os.WriteFile(filepath.Join(s.dir, "done"), nil, 0o600)
	}}}, nil
}
func (s *cmdStep) Undo(context.Context, *Env, []Receipt) ([]Action, error) {
	return []Action{{Summary: "GM_SETUP -u on node2", Idempotent: true, Do: func(ctx context.Context, r *Receipt) error {
		if s.undoFails {
			r.Command = &Result{Node: "node2", Argv: []string{"/opt/GroupMail/bin/GM_SETUP", "-u"}, ExitCode: 4, Tail: "GM_SETUP -u: busy\n"}
			return errors.New("GM_SETUP -u: exit status 4")
		}
		return os.Remove(filepath.Join(s.dir, "done"))
	}}}, nil
}

func receiptOf(t *testing.T, r journal.Record) Receipt {
	t.Helper()
	var rc Receipt
	if err := json.Unmarshal(r.Receipt, &rc); err != nil || rc.Command == nil {
		t.Fatalf("record %s of %s has no command receipt: %s (%v)", r.Kind, r.Step, r.Receipt, err)
	}
	return rc
}

func TestAFailedActionKeepsItsReceiptInTheJournal(t *testing.T) {
	h := newHarness(t)
	st := &cmdStep{id: "new/node2/gm-setup", dir: h.dir, outcome: "fail"}
	h.steps = []Step{st}
	if err := h.apply(t, Options{}); err == nil {
		t.Fatal("the failing action did not fail the run")
	}
	var failed *journal.Record
	recs := mustRead(t, h.state)
	for i := range recs {
		if recs[i].Kind == journal.KindFailed {
			failed = &recs[i]
		}
	}
	if failed == nil {
		t.Fatal("no failed record")
	}
	rc := receiptOf(t, *failed)
	if rc.Command.Node != "node2" || rc.Command.ExitCode != 1 || !strings.Contains(rc.Command.Tail, "disk full on node2") || failed.Error == "" {
		t.Errorf("failed record: error %q, receipt %+v", failed.Error, rc.Command)
	}
	if got := Fold(recs).Step(st.id).LastReceipt; got == nil || got.Command.ExitCode != 1 {
		t.Errorf("the folded step does not carry the failed receipt: %+v", got)
	}
	// The rerun after the cause is fixed completes; the backout's failed
	// undo action keeps its receipt too.
	st.outcome = ""
	if err := h.apply(t, Options{}); err != nil {
		t.Fatal(err)
	}
	st.undoFails = true
	r, done := h.runner(t, Options{Yes: true})
	err := r.Backout(context.Background())
	done()
	if err == nil {
		t.Fatal("the failing undo did not fail the backout")
	}
	recs = mustRead(t, h.state)
	last := recs[len(recs)-2] // the undo-failed record, then run-end
	if last.Kind != journal.KindUndoFailed {
		t.Fatalf("record %s, want undo-failed", last.Kind)
	}
	if rc := receiptOf(t, last); rc.Command.ExitCode != 4 || !strings.Contains(rc.Command.Tail, "busy") {
		t.Errorf("undo-failed receipt %+v", rc.Command)
	}
}

// An action whose outcome is unknown stays in doubt (no outcome record), and
// the output that came back before is kept in a note beside it.
func TestAnInDoubtActionKeepsWhatOutputCameBack(t *testing.T) {
	h := newHarness(t)
	st := &cmdStep{id: "new/node2/gm-setup", dir: h.dir, outcome: "lost"}
	h.steps = []Step{st}
	if err := h.apply(t, Options{}); !IsOutcomeUnknown(err) {
		t.Fatalf("apply = %v, want in doubt", err)
	}
	recs := mustRead(t, h.state)
	var note *journal.Record
	for i, r := range recs {
		if r.Kind == journal.KindFailed || r.Kind == journal.KindDone {
			t.Fatalf("an in-doubt action got an outcome record: %+v", r)
		}
		if r.Kind == journal.KindNote && r.Step == st.id {
			note = &recs[i]
		}
	}
	if note == nil {
		t.Fatal("no note keeps the in-doubt action's partial receipt")
	}
	if rc := receiptOf(t, *note); rc.Command.Node != "node2" || !strings.Contains(rc.Command.Tail, "half of the answers") {
		t.Errorf("in-doubt receipt %+v", rc.Command)
	}
	s := Fold(recs).Step(st.id)
	if s.State != StateInDoubt || s.InDoubt != 0 || s.LastReceipt == nil || s.LastReceipt.Command.ExitCode != -1 {
		t.Errorf("folded: state %s in doubt %d receipt %+v", s.State, s.InDoubt, s.LastReceipt)
	}
}

// A journal written before failed records carried receipts reads the same:
// the step failed, with its error, and no receipt.
func TestAFailedRecordWithoutReceiptStillReads(t *testing.T) {
	recs := []journal.Record{
		{Kind: journal.KindBegin, Step: "s", Action: 0, Summary: "x"},
		{Kind: journal.KindFailed, Step: "s", Action: 0, Summary: "x", Error: "exit status 1"},
	}
	s := Fold(recs).Step("s")
	if s.State != StateFailed || s.LastError != "exit status 1" || s.LastReceipt != nil {
		t.Errorf("old journal folded as %s %q %+v", s.State, s.LastError, s.LastReceipt)
	}
}

// Options.Ready runs before a run's or a backout's first action and before
// the run's start is journaled: when it refuses, nothing ran and the journal
// holds no action.
func TestReadyRefusalStopsBeforeAnyAction(t *testing.T) {
	h := newHarness(t)
	refused := errors.New("node node2 (127.0.0.3:22): HOST KEY MISMATCH")
	calls := 0
	ready := func(context.Context) error {
		calls++
		if len(h.effects(t)) != 0 && calls == 1 {
			t.Error("Ready ran after an action")
		}
		return refused
	}
	if err := h.apply(t, Options{Ready: ready}); !errors.Is(err, refused) {
		t.Fatalf("apply = %v, want the refusal", err)
	}
	if got := h.effects(t); len(got) != 0 {
		t.Fatalf("actions ran although Ready refused: %v", got)
	}
	for _, r := range mustRead(t, h.state) {
		switch r.Kind {
		case journal.KindBegin, journal.KindRunStart, journal.KindDone, journal.KindFailed:
			t.Errorf("journal holds %s %s after the refusal", r.Kind, r.Step)
		}
	}
	// A run that went through, then a backout refused the same way.
	if err := h.apply(t, Options{Ready: func(context.Context) error { return nil }}); err != nil {
		t.Fatal(err)
	}
	n := len(h.effects(t))
	r, done := h.runner(t, Options{Yes: true, Ready: ready})
	err := r.Backout(context.Background())
	done()
	if !errors.Is(err, refused) {
		t.Fatalf("backout = %v, want the refusal", err)
	}
	if got := h.effects(t); len(got) != n {
		t.Fatalf("undo actions ran although Ready refused: %v", got[n:])
	}
	for _, r := range mustRead(t, h.state) {
		if r.Kind == journal.KindUndoBegin || r.Kind == journal.KindRunStart && r.Note == "backout" {
			t.Errorf("the refused backout journaled %s %s", r.Kind, r.Step)
		}
	}
}

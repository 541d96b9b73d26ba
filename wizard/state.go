package wizard

import (
	"encoding/json"
	"slices"

	"mswizard/wizard/journal"
)

// StepState is what the journal says of one step in the current epoch (since the
// last completed backout).
type StepState string

const (
	StatePending StepState = "pending"
	StateSkipped StepState = "skipped" // its goal already held; nothing was done
	StateDone    StepState = "done"
	StateFailed  StepState = "failed"
	StateInDoubt StepState = "in-doubt" // an action began and has no outcome
	StateRunning StepState = "partial"  // some actions done, the rest not yet run
	StateUndone  StepState = "undone"
)

// StepRecord is the journal's account of one step.
type StepRecord struct {
	ID       string    `json:"id"`
	State    StepState `json:"state"`
	Why      string    `json:"why,omitempty"`
	Receipts []Receipt `json:"receipts,omitempty"` // of done actions, oldest first
	// DoneActions maps an action index to the summary journaled as done.
	DoneActions map[int]string `json:"-"`
	// InDoubt is the index and summary of a begun action without an outcome.
	InDoubt        int    `json:"in_doubt_action,omitempty"`
	InDoubtSummary string `json:"in_doubt_summary,omitempty"`
	// InDoubtIdempotent says the in-doubt action was journaled as idempotent:
	// a resume may simply repeat it, whatever the step plans now.
	InDoubtIdempotent bool   `json:"-"`
	LastError         string `json:"error,omitempty"`
	// LastReceipt is the receipt of the step's last failed action (or undo
	// action), or what came back from an action left in doubt: the node,
	// the command, its exit code and output tail. Journals written before
	// failed records carried receipts leave it nil.
	LastReceipt *Receipt `json:"last_receipt,omitempty"`
	// Applied is the sequence number of the step's last done action: backout runs in
	// descending order of it.
	Applied int64 `json:"-"`
	// UndoDone maps undo action indexes to summaries already undone.
	UndoDone     map[int]string `json:"-"`
	UndoInDoubt  int            `json:"-"`
	UndoInDoubtS string         `json:"-"`
	Confirmed    bool           `json:"-"`
	// UndoBegan says an undo action of the step began: a step that is not undone
	// with it set was left half taken back by a backout that stopped.
	UndoBegan bool `json:"-"`
	// Began says an action of the step began in this epoch.
	Began bool `json:"-"`
	// InDoubtIntent is what the in-doubt action recorded, before its effect,
	// that it was about to do: the data of its receipt if it is resolved as
	// done (the undo reads it).
	InDoubtIntent json.RawMessage `json:"-"`
	// Decisions taken on the step in this epoch, oldest first: its
	// confirmation, in-doubt resolutions, and what its actions applied
	// (configuration conflicts decided by the answers, installer answers).
	Decisions []journal.Decision `json:"decisions,omitempty"`
}

// resolvedUndo says whether a resolved record decides an undo action a stopped
// backout left in doubt (typed since the Decision field; a Note before).
func resolvedUndo(r journal.Record) bool {
	d := journal.DecisionOf(r)
	return r.Kind == journal.KindResolved && d != nil && d.Undo
}

// resolvedDone says whether a resolved record decides its action took effect.
func resolvedDone(r journal.Record) bool {
	d := journal.DecisionOf(r)
	return d != nil && d.Choice == journal.ChoiceDone
}

// noteIdempotent is the note of a begin record whose action may be repeated.
const noteIdempotent = "idempotent"

// Ran says whether the step changed anything that backout must take back.
//
// A step any of whose actions began may have changed the host, whatever came
// after: an action that failed or was cut off (an installer that died after
// moving the configuration), one the operator resolved as "retry" and that has
// not run again yet, one whose goal held on the rerun (a stop that finished after
// its timeout). It counts, and its Undo works from whatever receipts it has.
func (s *StepRecord) Ran() bool {
	if s.State == StateUndone {
		return false
	}
	return len(s.Receipts) > 0 || s.Began
}

// State is the journal folded into per-step records.
type State struct {
	Steps map[string]*StepRecord
	Order []string // step IDs in order of first appearance
	Pin   *Pin
	// BackedOut is true when the last thing the journal records is a completed backout.
	BackedOut bool
	Epochs    int
	// Waivers are the preflight inhibitors waived in this epoch, each once
	// (every run journals the waivers it applied).
	Waivers []journal.Decision
}

// Pin is the set of inputs a journal is bound to.
type Pin struct {
	WizardVersion string   `json:"wizard_version"`
	Steps         []string `json:"steps"`
	AnswersHash   string   `json:"answers_hash"`
	// Runbook is the id of a runbook file's run ("" for the Messaging Server
	// upgrade), so `status` and `backout` on the state directory know it.
	Runbook string `json:"runbook,omitempty"`
	// Paths are the absolute paths the run works on (state directory, backup
	// directory, server root, installer), as the answers and the command line
	// named them: a rerun that resolves them elsewhere is refused.
	Paths map[string]string `json:"paths,omitempty"`
}

// Fold reads records into a State. Records before the last backout-done belong to
// an earlier epoch and are forgotten, except the pin.
func Fold(recs []journal.Record) *State {
	st := &State{Steps: map[string]*StepRecord{}}
	fresh := func(id string) *StepRecord {
		return &StepRecord{ID: id, State: StatePending, DoneActions: map[int]string{}, UndoDone: map[int]string{}, InDoubt: -1, UndoInDoubt: -1}
	}
	get := func(id string) *StepRecord {
		s, ok := st.Steps[id]
		if !ok {
			s = fresh(id)
			st.Steps[id] = s
			st.Order = append(st.Order, id)
		}
		return s
	}
	for _, r := range recs {
		switch r.Kind {
		case journal.KindPin:
			var p Pin
			if json.Unmarshal([]byte(r.Note), &p) == nil {
				st.Pin = &p
			}
			continue
		case journal.KindBackoutDone:
			st.Steps = map[string]*StepRecord{}
			st.Order = nil
			st.Waivers = nil
			st.BackedOut = true
			st.Epochs++
			continue
		case journal.KindWaived:
			if d := journal.DecisionOf(r); d != nil && !slices.ContainsFunc(st.Waivers, func(w journal.Decision) bool { return w.Subject == d.Subject }) {
				st.Waivers = append(st.Waivers, *d)
			}
			continue
		case journal.KindNote:
			// An in-doubt action's partial receipt (noteInDoubtReceipt).
			if s, ok := st.Steps[r.Step]; ok && r.Step != "" && len(r.Receipt) > 0 && s.State == StateInDoubt && s.InDoubt == r.Action {
				s.LastReceipt = decodeReceipt(r.Receipt)
			}
			continue
		case journal.KindRunStart, journal.KindRunEnd, journal.KindFinding:
			continue
		}
		if r.Step == "" {
			continue
		}
		st.BackedOut = false
		s := get(r.Step)
		if s.State == StateUndone && !isUndoKind(r.Kind) && !resolvedUndo(r) {
			// A backout that stopped took this step back, and a new apply runs it
			// again: its earlier actions, receipts and undo records describe an
			// application that no longer exists.
			s = fresh(r.Step)
			st.Steps[r.Step] = s
		}
		switch r.Kind {
		case journal.KindSkipped:
			s.State, s.Why = StateSkipped, r.Note
		case journal.KindConfirmed:
			s.Confirmed = true
			s.Decisions = append(s.Decisions, *journal.DecisionOf(r))
		case journal.KindBegin:
			if len(r.Intent) > 0 && s.State == StateInDoubt && s.InDoubt == r.Action {
				// The begun action restated its begin with its intent.
				s.InDoubtIntent = r.Intent
				continue
			}
			s.InDoubtIntent = r.Intent
			s.State, s.InDoubt, s.InDoubtSummary = StateInDoubt, r.Action, r.Summary
			s.InDoubtIdempotent = r.Note == noteIdempotent
			s.Began = true
			if r.Seq > s.Applied {
				s.Applied = r.Seq
			}
		case journal.KindDone:
			var rc Receipt
			_ = json.Unmarshal(r.Receipt, &rc)
			s.Receipts = append(s.Receipts, rc)
			s.Decisions = append(s.Decisions, rc.Decisions...)
			s.InDoubtIntent = nil
			s.DoneActions[r.Action] = r.Summary
			s.Applied = r.Seq
			s.InDoubt, s.InDoubtSummary = -1, ""
			s.State = StateRunning
		case journal.KindFailed:
			s.State, s.LastError = StateFailed, r.Error
			s.LastReceipt = decodeReceipt(r.Receipt)
			s.InDoubt, s.InDoubtSummary = -1, ""
		case journal.KindResolved:
			if d := journal.DecisionOf(r); d != nil {
				s.Decisions = append(s.Decisions, *d)
			}
			if resolvedUndo(r) {
				s.UndoInDoubt, s.UndoInDoubtS = -1, ""
				if resolvedDone(r) {
					s.UndoDone[r.Action] = r.Summary
				}
				continue
			}
			s.InDoubt, s.InDoubtSummary = -1, ""
			if resolvedDone(r) {
				s.DoneActions[r.Action] = r.Summary
				// The receipt it never wrote: what it recorded it was about
				// to do stands in for it, so its undo knows what to take back.
				s.Receipts = append(s.Receipts, Receipt{Step: r.Step, Action: r.Action, Summary: r.Summary, Note: "resolved as done", Data: s.InDoubtIntent})
				s.Applied = r.Seq
			}
			s.InDoubtIntent = nil
			s.State = StateRunning
		case journal.KindStepDone:
			s.State, s.Why = StateDone, r.Note
			s.InDoubt = -1
		case journal.KindUndoBegin:
			s.UndoInDoubt, s.UndoInDoubtS = r.Action, r.Summary
			s.UndoBegan = true
		case journal.KindUndoDone:
			s.UndoDone[r.Action] = r.Summary
			s.UndoInDoubt = -1
		case journal.KindUndoFailed:
			s.UndoInDoubt = -1
			s.LastError = r.Error
			s.LastReceipt = decodeReceipt(r.Receipt)
		case journal.KindUndone:
			// Its receipts stay for the report; what it did is no longer done, so
			// a new apply runs (and confirms) every action again.
			s.State = StateUndone
			s.DoneActions, s.Confirmed = map[int]string{}, false
			s.InDoubt, s.InDoubtSummary = -1, ""
		}
	}
	return st
}

// decodeReceipt reads a receipt a failed or in-doubt action left, or nil.
func decodeReceipt(b json.RawMessage) *Receipt {
	if len(b) == 0 {
		return nil
	}
	var rc Receipt
	if json.Unmarshal(b, &rc) != nil {
		return nil
	}
	return &rc
}

func isUndoKind(k journal.Kind) bool {
	switch k {
	case journal.KindUndoBegin, journal.KindUndoDone, journal.KindUndoFailed, journal.KindUndone:
		return true
	}
	return false
}

// Changed says whether any step changed something in this epoch.
func (st *State) Changed() bool {
	for _, s := range st.Steps {
		if s.Ran() {
			return true
		}
	}
	return false
}

// HalfBackedOut returns the first step, in order of application, that a backout
// began to take back and did not finish, or nil.
func (st *State) HalfBackedOut() *StepRecord {
	for _, id := range st.Order {
		if s := st.Steps[id]; s.UndoBegan && s.State != StateUndone {
			return s
		}
	}
	return nil
}

// Step returns the record for id, or a pending one.
func (st *State) Step(id string) *StepRecord {
	if s, ok := st.Steps[id]; ok {
		return s
	}
	return &StepRecord{ID: id, State: StatePending, DoneActions: map[int]string{}, UndoDone: map[int]string{}, InDoubt: -1, UndoInDoubt: -1}
}

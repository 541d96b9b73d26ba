package wizard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"mswizard/wizard/journal"
)

// BackoutStep is one step a backout will take back.
type BackoutStep struct {
	ID      string          `json:"id"`
	Title   string          `json:"title"`
	Actions []PlannedAction `json:"actions"`
	Error   string          `json:"error,omitempty"`
	// Stage is the step's place in the backout procedure ("stop 3"); empty
	// when it has none and runs in reverse order of application.
	Stage string `json:"stage,omitempty"`
}

// ErrNothingToUndo says a backout found no step that changed anything.
var ErrNothingToUndo = errors.New("nothing to undo: the journal records no step that changed anything since the last backout")

// ranSteps lists the steps that changed something, in the order a backout takes
// them back: the journal says which (exactly those this epoch changed), the
// steps' BackoutKeys say in which order (the appendix's procedure), and steps
// without a key go newest application first.
func (r *Runner) ranSteps(st *State) ([]*StepRecord, map[string]Step, error) {
	byID := map[string]Step{}
	for _, s := range r.Steps {
		byID[s.ID()] = s
	}
	var ran []*StepRecord
	for _, id := range st.Order {
		rec := st.Steps[id]
		if !rec.Ran() {
			continue
		}
		if _, ok := byID[id]; !ok {
			return nil, nil, fmt.Errorf("the journal records step %s, which this runbook does not have; use the wizard version that wrote the journal", id)
		}
		ran = append(ran, rec)
	}
	items := make([]backoutItem, len(ran))
	for i, rec := range ran {
		items[i] = backoutItem{key: Describe(byID[rec.ID]).Backout, applied: rec.Applied}
	}
	ordered := make([]*StepRecord, 0, len(ran))
	for _, i := range backoutOrder(items) {
		ordered = append(ordered, ran[i])
	}
	return ordered, byID, nil
}

// BackoutPlan describes what Backout would do, without writing anything.
func (r *Runner) BackoutPlan(ctx context.Context, recs []journal.Record) ([]BackoutStep, error) {
	r.Env.Nop()
	st := Fold(recs)
	// The same refusal as Backout: a plan made with other answers would show
	// undo actions aimed at another host.
	if st.Pin != nil && r.Opts.Pin.AnswersHash != "" && !st.BackedOut && st.Changed() {
		if diff := backoutPinDiff(st.Pin, r.wantPin(), st); len(diff) > 0 {
			return nil, &PinError{Diff: diff, Version: st.Pin.WizardVersion, Backout: true}
		}
	}
	ran, byID, err := r.ranSteps(st)
	if err != nil {
		return nil, err
	}
	var out []BackoutStep
	for _, rec := range ran {
		s := byID[rec.ID]
		bs := BackoutStep{ID: rec.ID, Title: s.Title(), Stage: Describe(s).Backout.String()}
		actions, err := s.Undo(ctx, r.Env, rec.Receipts)
		if err != nil {
			bs.Error = err.Error()
		}
		for i, a := range actions {
			if rec.UndoDone[i] == a.Summary {
				continue
			}
			bs.Actions = append(bs.Actions, PlannedAction{Summary: a.Summary, Irreversible: a.Irreversible})
		}
		out = append(out, bs)
	}
	return out, nil
}

// Backout takes back every step the journal says changed something, in the
// order ranSteps gives (the procedure's stages, otherwise newest first).
// Each undo action is journaled before and after it runs, so a killed backout
// resumes where it stopped.
func (r *Runner) Backout(ctx context.Context) (err error) {
	r.Env.Nop()
	st := Fold(r.Journal.Records())
	if st.Pin != nil {
		if diff := backoutPinDiff(st.Pin, r.wantPin(), st); len(diff) > 0 {
			return &PinError{Diff: diff, Backout: true, Version: st.Pin.WizardVersion}
		}
	}
	ran, byID, err := r.ranSteps(st)
	if err != nil {
		return err
	}
	if len(ran) == 0 {
		return ErrNothingToUndo
	}
	if err := r.ready(ctx); err != nil {
		return err
	}
	q := Question{ID: "backout", Prompt: fmt.Sprintf("Back out %d step(s) in the backout procedure's order?", len(ran))}
	if err := r.confirm(ctx, q); err != nil {
		return err
	}
	// The backout's start carries who confirmed it, as a step's confirmation
	// does (--yes, Confirm = yes in the answers, or the operator in the TUI).
	if err := r.append(journal.Record{Kind: journal.KindRunStart, Note: "backout", Decision: r.confirmation(q)}); err != nil {
		return err
	}
	r.emit(Event{Kind: EvRunStart, Message: "backout"})
	defer func() {
		msg := "backout finished"
		if err != nil {
			msg = err.Error()
		}
		_ = r.append(journal.Record{Kind: journal.KindRunEnd, Note: firstLine(msg)})
		r.emit(Event{Kind: EvRunEnd, Message: msg})
	}()
	var completed []string
	for _, rec := range ran {
		s := byID[rec.ID]
		id := s.ID()
		r.wireEnv(id)
		r.emit(Event{Kind: EvStepStart, Step: id, Title: "undo: " + s.Title(), Undo: true})
		actions, err := s.Undo(ctx, r.Env, rec.Receipts)
		if err != nil {
			return &StepError{Step: id, Err: fmt.Errorf("undo plan: %w", err), Completed: completed, Next: "fix the cause and rerun `mswizard backout`"}
		}
		for i, a := range actions {
			if rec.UndoDone[i] == a.Summary {
				continue
			}
			if rec.UndoInDoubt == i && !a.Idempotent {
				return &DecisionError{Step: id, Action: i, Summary: a.Summary, Why: "the backout stopped while this undo action ran and it cannot safely be repeated; check the host by hand", Choices: []string{
					fmt.Sprintf("mswizard resolve %s --retry      it did not take effect: run it again", id),
					fmt.Sprintf("mswizard resolve %s --mark-done  it did complete; go on", id),
					"then rerun `mswizard backout`",
				}}
			}
			if ctx.Err() != nil {
				return fmt.Errorf("%w during backout of %s; rerun `mswizard backout` to continue", ErrInterrupted, id)
			}
			if err := r.append(journal.Record{Kind: journal.KindUndoBegin, Step: id, Action: i, Summary: a.Summary}); err != nil {
				return err
			}
			r.emit(Event{Kind: EvActionBegin, Step: id, Action: i, Summary: a.Summary, Undo: true})
			rc := Receipt{Step: id, Action: i, Summary: a.Summary}
			start := r.Env.Now()
			aerr := a.Do(context.WithoutCancel(ctx), &rc)
			rc.Duration = r.Env.Now().Sub(start)
			if IsOutcomeUnknown(aerr) {
				// Left in doubt (no outcome record), as in a run; its partial
				// receipt in a note.
				r.noteInDoubt(id, i, a.Summary, aerr, rc)
				r.emit(Event{Kind: EvActionFailed, Step: id, Action: i, Summary: a.Summary, Error: aerr.Error(), Undo: true})
				return &StepError{Step: id, Action: i, Summary: a.Summary, Err: aerr, Completed: completed, Next: "the undo action is in doubt: rerun `mswizard backout` when the node is reachable, or `mswizard resolve` after looking"}
			}
			if aerr != nil {
				_ = r.append(journal.Record{Kind: journal.KindUndoFailed, Step: id, Action: i, Summary: a.Summary, Error: aerr.Error(), Receipt: failedReceipt(rc)})
				r.emit(Event{Kind: EvActionFailed, Step: id, Action: i, Summary: a.Summary, Error: aerr.Error(), Undo: true})
				return &StepError{Step: id, Action: i, Summary: a.Summary, Err: aerr, Completed: completed, Next: "fix the cause and rerun `mswizard backout`; steps already undone stay undone"}
			}
			b, _ := json.Marshal(rc)
			if err := r.append(journal.Record{Kind: journal.KindUndoDone, Step: id, Action: i, Summary: a.Summary, Receipt: b}); err != nil {
				return err
			}
			r.emit(Event{Kind: EvActionDone, Step: id, Action: i, Summary: a.Summary, Undo: true})
		}
		if err := r.append(journal.Record{Kind: journal.KindUndone, Step: id}); err != nil {
			return err
		}
		r.emit(Event{Kind: EvStepDone, Step: id, Title: "undo: " + s.Title(), Undo: true})
		completed = append(completed, id)
	}
	return r.append(journal.Record{Kind: journal.KindBackoutDone})
}

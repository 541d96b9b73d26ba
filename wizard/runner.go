package wizard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"mswizard/wizard/journal"
)

// EventKind names what an Event reports.
type EventKind string

const (
	EvRunStart     EventKind = "run-start"
	EvPreflight    EventKind = "preflight" // findings of all preflight checks
	EvStepStart    EventKind = "step-start"
	EvStepSkipped  EventKind = "step-skipped"
	EvActionBegin  EventKind = "action-begin"
	EvActionDone   EventKind = "action-done"
	EvActionFailed EventKind = "action-failed"
	EvStepDone     EventKind = "step-done"
	EvOutput       EventKind = "output"
	EvProgress     EventKind = "progress"
	EvNote         EventKind = "note"
	EvRunEnd       EventKind = "run-end"
)

// Event is what a run reports to its face. Faces only render events.
type Event struct {
	Time     time.Time `json:"time"`
	Kind     EventKind `json:"kind"`
	Step     string    `json:"step,omitempty"`
	Title    string    `json:"title,omitempty"`
	Action   int       `json:"action"`
	Summary  string    `json:"summary,omitempty"`
	Message  string    `json:"message,omitempty"`
	Error    string    `json:"error,omitempty"`
	Progress *Progress `json:"progress,omitempty"`
	Findings []Finding `json:"findings,omitempty"`
	Undo     bool      `json:"undo,omitempty"`
	// Journal is set on a step skipped because an earlier run finished it: what
	// the journal says of it (done, or skipped as already true).
	Journal StepState `json:"journal,omitempty"`
}

// Question is a confirmation the run needs from the operator.
type Question struct {
	ID     string // the step it is about
	Prompt string
	Detail string
}

// Options shape one run.
type Options struct {
	Until   string            // stop cleanly after this step
	Skip    []string          // optional steps to leave out
	Only    []string          // when set, optional steps not named are left out
	Yes     bool              // every confirmation answered yes
	Waivers map[string]string // finding ID -> the operator's reason
	Pin     Pin               // inputs the journal is bound to

	// YesFrom says where Yes came from, for the journal's decisions:
	// journal.SourceFlag (--yes, the default) or journal.SourceAnswers.
	YesFrom journal.Source

	// Ready, when set, is called by Apply and Backout before their first
	// action (and before they journal the run's start): a runbook across
	// nodes connects to every node there, so a node refused (its host key)
	// or unreachable stops the run before anything ran on any node, not
	// after earlier nodes' actions. Plans never call it.
	Ready func(ctx context.Context) error
}

// Runner runs a runbook against a journal. One engine serves every face.
type Runner struct {
	Steps   []Step
	Env     *Env
	Journal *journal.Journal
	Events  func(Event)
	// Ask asks the operator a question; nil means nobody can answer (batch without
	// --yes), which refuses every confirmation.
	Ask  func(ctx context.Context, q Question) (bool, error)
	Opts Options
}

// StepError says which step and action failed, what was completed and what to run next.
type StepError struct {
	Step      string
	Action    int
	Summary   string
	Err       error
	Completed []string
	Next      string
}

func (e *StepError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "step %s failed", e.Step)
	if e.Summary != "" {
		fmt.Fprintf(&b, " at action %d (%s)", e.Action+1, e.Summary)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	if len(e.Completed) > 0 {
		fmt.Fprintf(&b, "\ncompleted: %s", strings.Join(e.Completed, ", "))
	}
	if e.Next != "" {
		fmt.Fprintf(&b, "\nnext: %s", e.Next)
	}
	return b.String()
}

func (e *StepError) Unwrap() error { return e.Err }

// DecisionError means the run cannot go on without the operator (exit code 3).
type DecisionError struct {
	Step    string
	Action  int
	Summary string
	Why     string
	Choices []string
}

func (e *DecisionError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "step %s needs a decision: %s", e.Step, e.Why)
	if e.Summary != "" {
		fmt.Fprintf(&b, "\nin doubt: action %d: %s", e.Action+1, e.Summary)
	}
	for _, c := range e.Choices {
		fmt.Fprintf(&b, "\n  %s", c)
	}
	return b.String()
}

// InhibitorError lists every unwaived inhibitor found by the preflight checks.
type InhibitorError struct{ Findings []Finding }

func (e *InhibitorError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "preflight found %d inhibitor(s); nothing was changed", len(e.Findings))
	for _, f := range e.Findings {
		fmt.Fprintf(&b, "\n  %s: %s\n    fix: %s", f.ID, f.Message, f.Remediation)
	}
	b.WriteString("\n(an inhibitor can be waived in the answers file: Waive = ID reason)")
	return b.String()
}

// PinError refuses to resume, or back out, a journal with different inputs.
type PinError struct {
	Diff    []string
	Backout bool   // the refused command was a backout
	Version string // the wizard version that began the run
}

func (e *PinError) Error() string {
	with := "the answers file"
	if e.Version != "" {
		with += " and the wizard (" + e.Version + ")"
	}
	if e.Backout {
		return "this state directory's run was made with different inputs, and a backout must use the same ones (its undo actions would aim elsewhere); run the backout with " + with + " the run was made with:\n  " + strings.Join(e.Diff, "\n  ")
	}
	return "this state directory belongs to a run with different inputs; finish or back it out with " + with + " it began with, or start over with another --state-dir:\n  " + strings.Join(e.Diff, "\n  ")
}

// ErrInterrupted is returned when the run stopped at a safe point after a signal.
var ErrInterrupted = errors.New("interrupted at a safe point")

func (r *Runner) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = r.Env.Now()
	}
	if r.Env.Log != nil && e.Kind != EvProgress {
		// The structured log in the state directory keeps every event the faces
		// saw, so a TUI session leaves the same trail as a batch run.
		r.Env.Log.Info(string(e.Kind), "step", e.Step, "action", e.Action, "summary", e.Summary, "message", e.Message, "error", e.Error, "undo", e.Undo)
	}
	if r.Events != nil {
		r.Events(e)
	}
}

func (r *Runner) append(rec journal.Record) error {
	if rec.Node == "" && rec.Step != "" {
		rec.Node = r.nodeOf(rec.Step)
	}
	_, err := r.Journal.Append(rec)
	return err
}

// OutcomeUnknown is an action error whose effect is unknown: a connection to
// the node lost mid-command. The action is left in doubt, never recorded as
// failed (a failed action is retried on the rerun).
type OutcomeUnknown interface{ OutcomeUnknown() bool }

// IsOutcomeUnknown says whether err leaves its action in doubt.
func IsOutcomeUnknown(err error) bool {
	var ou OutcomeUnknown
	return err != nil && errors.As(err, &ou) && ou.OutcomeUnknown()
}

func (r *Runner) nodeOf(id string) string {
	for _, s := range r.Steps {
		if s.ID() == id {
			return Describe(s).Node
		}
	}
	return ""
}

// progressEvery is how often, at most, a long action's progress reaches the
// faces; each face shows it more sparingly still (a batch line every few
// seconds).
const progressEvery = 250 * time.Millisecond

func (r *Runner) wireEnv(step string) {
	r.Env.Nop()
	meter := NewMeter(r.Env.Now)
	r.Env.Progress = func(p Progress) {
		p.Step = step
		p = meter.Observe(p)
		if meter.Due(p, progressEvery) {
			r.emit(Event{Kind: EvProgress, Step: step, Progress: &p})
		}
	}
	r.Env.Output = func(s, line string) { r.emit(Event{Kind: EvOutput, Step: s, Message: line}) }
}

// checkPin binds the journal to its inputs on first use and refuses different ones
// once a step changed something; until then (a run stopped by a preflight
// inhibitor the operator fixes in the answers) the new inputs are pinned.
//
// What must not change under a run is the answers (the target among them) and
// the steps it already reached, in their order. A newer wizard whose runbook
// gained or lost steps after that point resumes the run; the new runbook is
// pinned and the change noted in the journal.
func (r *Runner) checkPin() error {
	st := Fold(r.Journal.Records())
	want := r.wantPin()
	if st.Pin == nil {
		b, _ := json.Marshal(want)
		return r.append(journal.Record{Kind: journal.KindPin, Note: string(b)})
	}
	diff := pinDiff(st.Pin, want, st)
	if len(diff) > 0 && !st.BackedOut && st.Changed() {
		return &PinError{Diff: diff, Version: st.Pin.WizardVersion}
	}
	if same(st.Pin, want) {
		return nil
	}
	if note := pinChange(st.Pin, want); note != "" && len(diff) == 0 && st.Changed() {
		r.emit(Event{Kind: EvNote, Message: note})
		if err := r.append(journal.Record{Kind: journal.KindNote, Note: note}); err != nil {
			return err
		}
	}
	b, _ := json.Marshal(want)
	return r.append(journal.Record{Kind: journal.KindPin, Note: string(b)})
}

func same(a *Pin, b Pin) bool {
	return a.WizardVersion == b.WizardVersion && a.AnswersHash == b.AnswersHash && slices.Equal(a.Steps, b.Steps)
}

func (r *Runner) wantPin() Pin {
	want := r.Opts.Pin
	if want.Steps == nil {
		for _, s := range r.Steps {
			want.Steps = append(want.Steps, s.ID())
		}
	}
	return want
}

// pinDiff lists the changes that stop a run from going on: other answers, or a
// runbook that differs from the pinned one up to the point the journal reached
// (a step reached that is gone, a step added or moved before it). Steps added
// or removed after that point, and a new wizard version, do not stop it.
func pinDiff(have *Pin, want Pin, st *State) []string {
	var diff []string
	if have.AnswersHash != want.AnswersHash {
		diff = append(diff, fmt.Sprintf("answers (secrets excluded): journal sha256 %s, now %s", short(have.AnswersHash), short(want.AnswersHash)))
	}
	if have.Runbook != want.Runbook {
		diff = append(diff, fmt.Sprintf("runbook: journal %q, now %q", have.Runbook, want.Runbook))
	}
	if len(have.Paths) > 0 && len(want.Paths) > 0 {
		keys := make([]string, 0, len(want.Paths))
		for k := range want.Paths {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			// A key the journal's pin lacks was not pinned by the wizard that
			// wrote it: nothing to compare (the answers hash still binds them).
			if _, ok := have.Paths[k]; !ok {
				continue
			}
			if have.Paths[k] != want.Paths[k] {
				diff = append(diff, fmt.Sprintf("%s: journal %s, now %s", k, have.Paths[k], want.Paths[k]))
			}
		}
	}
	reached := -1
	for i, id := range have.Steps {
		if _, ok := st.Steps[id]; ok {
			reached = i
		}
	}
	if reached < 0 {
		return diff
	}
	last := have.Steps[reached]
	at := slices.Index(want.Steps, last)
	if at < 0 {
		at = len(want.Steps) - 1
	}
	old, now := have.Steps[:reached+1], want.Steps[:at+1]
	if slices.Equal(old, now) {
		return diff
	}
	var why []string
	for _, id := range old {
		if !slices.Contains(want.Steps, id) {
			why = append(why, fmt.Sprintf("step %s, which this run already reached, is not in this runbook", id))
		}
	}
	for _, id := range now {
		if !slices.Contains(have.Steps, id) {
			why = append(why, fmt.Sprintf("step %s is new in this runbook and comes before %s, which this run already reached", id, last))
		}
	}
	if len(why) == 0 {
		why = append(why, fmt.Sprintf("the steps this run reached changed order: journal [%s], now [%s]", strings.Join(old, " "), strings.Join(now, " ")))
	}
	diff = append(diff, why...)
	return diff
}

// backoutPinDiff lists the changes that stop a backout: other answers (its
// undo actions would aim elsewhere), or a step the run changed that the
// runbook no longer has (its undo is unknown). Steps added anywhere, or
// reordered, do not matter: the journal says what to undo and the steps'
// backout keys in which order.
func backoutPinDiff(have *Pin, want Pin, st *State) []string {
	var diff []string
	if have.AnswersHash != want.AnswersHash {
		diff = append(diff, fmt.Sprintf("answers (secrets excluded): journal sha256 %s, now %s", short(have.AnswersHash), short(want.AnswersHash)))
	}
	for _, id := range st.Order {
		if st.Steps[id].Ran() && !slices.Contains(want.Steps, id) {
			diff = append(diff, fmt.Sprintf("step %s, which this run changed, is not in this runbook: its undo is unknown", id))
		}
	}
	return diff
}

// pinChange says how the runbook changed after the point reached, for the
// journal's note; "" when only the wizard version changed.
func pinChange(have *Pin, want Pin) string {
	var added, removed []string
	for _, id := range want.Steps {
		if !slices.Contains(have.Steps, id) {
			added = append(added, id)
		}
	}
	for _, id := range have.Steps {
		if !slices.Contains(want.Steps, id) {
			removed = append(removed, id)
		}
	}
	var parts []string
	if have.WizardVersion != want.WizardVersion {
		parts = append(parts, fmt.Sprintf("wizard %s (the run began with %s)", want.WizardVersion, have.WizardVersion))
	}
	if len(added) > 0 {
		parts = append(parts, "steps added after the point reached: "+strings.Join(added, ", "))
	}
	if len(removed) > 0 {
		parts = append(parts, "steps no longer in the runbook, not reached: "+strings.Join(removed, ", "))
	}
	if len(parts) == 0 {
		return ""
	}
	return "resuming with a changed runbook: " + strings.Join(parts, "; ")
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func (r *Runner) selected(s Step) bool {
	return r.selectedPhase(Describe(s))
}

func (r *Runner) selectedPhase(p Phase) bool {
	if !p.Optional {
		return true
	}
	if slices.Contains(r.Opts.Skip, p.ID) {
		return false
	}
	if len(r.Opts.Only) > 0 && !slices.Contains(r.Opts.Only, p.ID) {
		return false
	}
	return true
}

// ValidateStepIDs checks --until/--skip/--only against the runbook.
func ValidateStepIDs(steps []Step, o Options) error {
	known := map[string]Step{}
	var ids []string
	for _, s := range steps {
		known[s.ID()] = s
		ids = append(ids, s.ID())
	}
	var errs []error
	check := func(flag, id string, needOptional bool) {
		s, ok := known[id]
		if !ok {
			errs = append(errs, fmt.Errorf("%s %q: no such step; steps are: %s", flag, id, strings.Join(ids, ", ")))
			return
		}
		if needOptional {
			if !Describe(s).Optional {
				errs = append(errs, fmt.Errorf("%s %q: this step is required and cannot be left out", flag, id))
			}
		}
	}
	if o.Until != "" {
		check("--until", o.Until, false)
	}
	for _, id := range o.Skip {
		check("--skip", id, true)
	}
	for _, id := range o.Only {
		check("--only", id, false)
	}
	return errors.Join(errs...)
}

// Apply runs the runbook from wherever the journal says it stands.
func (r *Runner) Apply(ctx context.Context) (err error) {
	r.Env.Nop()
	if err := ValidateStepIDs(r.Steps, r.Opts); err != nil {
		return err
	}
	if err := r.checkPin(); err != nil {
		return err
	}
	if s := Fold(r.Journal.Records()).HalfBackedOut(); s != nil {
		return &DecisionError{Step: s.ID, Why: "a backout stopped while it was taking this step back; the host is neither upgraded nor restored here, and an upgrade cannot build on it", Choices: []string{
			"mswizard backout                     finish the backout (steps already undone stay undone), then upgrade again",
		}}
	}
	if note := r.Journal.Repaired(); note != "" {
		r.emit(Event{Kind: EvNote, Message: "journal: " + note})
		_ = r.append(journal.Record{Kind: journal.KindNote, Note: note})
	}
	if err := r.ready(ctx); err != nil {
		return err
	}
	if err := r.append(journal.Record{Kind: journal.KindRunStart, Note: "apply"}); err != nil {
		return err
	}
	r.emit(Event{Kind: EvRunStart, Message: "apply"})
	defer func() {
		msg := "finished"
		if err != nil {
			msg = err.Error()
		}
		_ = r.append(journal.Record{Kind: journal.KindRunEnd, Note: firstLine(msg)})
		r.emit(Event{Kind: EvRunEnd, Message: msg})
	}()

	if err := r.preflight(ctx); err != nil {
		return err
	}
	var completed []string
	for _, s := range r.Steps {
		if ctx.Err() != nil {
			return fmt.Errorf("%w before step %s", ErrInterrupted, s.ID())
		}
		st := Fold(r.Journal.Records())
		rec := st.Step(s.ID())
		switch {
		case !r.selected(s):
			r.emit(Event{Kind: EvStepSkipped, Step: s.ID(), Title: s.Title(), Message: "left out by --skip/--only"})
		case rec.State == StateDone || rec.State == StateSkipped:
			r.emit(Event{Kind: EvStepSkipped, Step: s.ID(), Title: s.Title(), Message: "already " + string(rec.State) + " in the journal", Journal: rec.State})
		default:
			if err := r.runStep(ctx, s, rec, completed); err != nil {
				return err
			}
		}
		completed = append(completed, s.ID())
		if r.Opts.Until == s.ID() {
			r.emit(Event{Kind: EvNote, Message: fmt.Sprintf("stopped after %s as asked (--until); rerun without --until to go on", s.ID())})
			return nil
		}
	}
	return nil
}

// failedReceipt is a failed or in-doubt action's receipt as the journal keeps
// it, or nil when the action recorded nothing (no command, no files, no data).
func failedReceipt(rc Receipt) json.RawMessage {
	if rc.Command == nil && len(rc.Files) == 0 && len(rc.Data) == 0 && rc.Note == "" {
		return nil
	}
	b, err := json.Marshal(rc)
	if err != nil {
		return nil
	}
	return b
}

// noteInDoubtReceipt is the note of the record that keeps an in-doubt action's
// partial receipt. It is a note, so the action stays in doubt (no outcome
// record) and journals written before read the same.
const noteInDoubtReceipt = "in doubt: the outcome is unknown; the receipt holds what came back before"

// noteInDoubt journals the partial receipt of an action left in doubt (what
// output the node sent before the connection broke or the timeout struck).
func (r *Runner) noteInDoubt(step string, action int, summary string, aerr error, rc Receipt) {
	if b := failedReceipt(rc); b != nil {
		_ = r.append(journal.Record{Kind: journal.KindNote, Step: step, Action: action, Summary: summary, Error: aerr.Error(), Receipt: b, Note: noteInDoubtReceipt})
	}
}

// ready runs Opts.Ready, if any.
func (r *Runner) ready(ctx context.Context) error {
	if r.Opts.Ready == nil {
		return nil
	}
	return r.Opts.Ready(ctx)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// preflight runs every preflight check before anything changes.
func (r *Runner) preflight(ctx context.Context) error {
	var all, inhibitors []Finding
	for _, s := range r.Steps {
		p := Describe(s)
		if p.Preflight == nil || !r.selectedPhase(p) {
			continue
		}
		fs, err := p.Preflight(ctx, r.Env)
		if err != nil {
			return &StepError{Step: s.ID(), Err: err, Next: "fix what the preflight could not read, then rerun"}
		}
		for _, f := range fs {
			if reason, ok := r.Opts.Waivers[f.ID]; ok && f.Severity == Inhibitor {
				f.Waived = true
				b, _ := json.Marshal(f)
				d := &journal.Decision{Kind: journal.DecideWaive, Subject: f.ID, Choice: "waive", Source: journal.SourceAnswers, Reason: reason}
				if err := r.append(journal.Record{Kind: journal.KindWaived, Step: s.ID(), Summary: f.ID, Receipt: b, Decision: d}); err != nil {
					return err
				}
			}
			if f.Severity == Inhibitor && !f.Waived {
				inhibitors = append(inhibitors, f)
			}
			all = append(all, f)
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	r.emit(Event{Kind: EvPreflight, Findings: all})
	if len(inhibitors) > 0 {
		return &InhibitorError{Findings: inhibitors}
	}
	return nil
}

func (r *Runner) runStep(ctx context.Context, s Step, rec *StepRecord, completed []string) error {
	id := s.ID()
	r.wireEnv(id)
	r.emit(Event{Kind: EvStepStart, Step: id, Title: s.Title()})
	fail := func(action int, summary string, err error, next string) error {
		return &StepError{Step: id, Action: action, Summary: summary, Err: err, Completed: completed, Next: next}
	}
	if rec.InDoubt >= 0 {
		res, why, err := r.resolveInDoubt(ctx, s, rec)
		if err != nil {
			return fail(rec.InDoubt, rec.InDoubtSummary, err, "rerun when the check can read the host again")
		}
		switch res {
		case WasDone:
			if err := r.append(r.resolved(rec, journal.ChoiceDone, journal.SourceEvidence, why)); err != nil {
				return err
			}
			rec.DoneActions[rec.InDoubt] = rec.InDoubtSummary
		case NotDone:
			// An action began: if the step's goal holds now, that action most
			// likely achieved it, and the step must count as done, not skipped,
			// or a backout would leave its change in place.
			if done, cwhy, err := s.Check(ctx, r.Env); err == nil && done {
				if err := r.append(r.resolved(rec, journal.ChoiceDone, journal.SourceEvidence, "the step's goal holds: "+cwhy)); err != nil {
					return err
				}
				rec.DoneActions[rec.InDoubt] = rec.InDoubtSummary
				break
			}
			if err := r.append(r.resolved(rec, journal.ChoiceRetry, journal.SourceEvidence, why)); err != nil {
				return err
			}
		default:
			return &DecisionError{Step: id, Action: rec.InDoubt, Summary: rec.InDoubtSummary, Why: why, Choices: []string{
				fmt.Sprintf("mswizard resolve %s --retry      run the action again", id),
				fmt.Sprintf("mswizard resolve %s --mark-done  it did complete; go on", id),
				"mswizard backout                     take back everything done so far",
			}}
		}
	}
	done, why, err := s.Check(ctx, r.Env)
	if err != nil {
		return fail(0, "", fmt.Errorf("check: %w", err), "fix the cause and rerun")
	}
	if done {
		kind := journal.KindSkipped
		if len(rec.DoneActions) > 0 || rec.Began {
			// An earlier action of this step began (and failed, or was
			// retried): the goal may hold because of it, so the step is done,
			// not found already true.
			kind = journal.KindStepDone
		}
		if err := r.append(journal.Record{Kind: kind, Step: id, Note: why}); err != nil {
			return err
		}
		r.emit(Event{Kind: EvStepSkipped, Step: id, Title: s.Title(), Message: why})
		return nil
	}
	actions, err := s.Plan(ctx, r.Env)
	if err != nil {
		return fail(0, "", fmt.Errorf("plan: %w", err), "fix the cause and rerun")
	}
	if nr := Describe(s).NoReturn; nr != "" && !rec.Confirmed {
		q := Question{ID: id, Prompt: fmt.Sprintf("%s is a point of no return: %s. Go on?", id, nr), Detail: planText(actions)}
		if err := r.confirm(ctx, q); err != nil {
			return err
		}
		if err := r.append(journal.Record{Kind: journal.KindConfirmed, Step: id, Decision: r.confirmation(q)}); err != nil {
			return err
		}
	}
	if prompt := Describe(s).Confirm; prompt != "" && !rec.Confirmed {
		q := Question{ID: id, Prompt: prompt, Detail: planText(actions)}
		if err := r.confirm(ctx, q); err != nil {
			return err
		}
		if err := r.append(journal.Record{Kind: journal.KindConfirmed, Step: id, Decision: r.confirmation(q)}); err != nil {
			return err
		}
	}
	for i, a := range actions {
		if prev, ok := rec.DoneActions[i]; ok && prev == a.Summary {
			continue // done before the last interruption
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w in step %s before action %d (%s); rerun to continue", ErrInterrupted, id, i+1, a.Summary)
		}
		begin := journal.Record{Kind: journal.KindBegin, Step: id, Action: i, Summary: a.Summary}
		if a.Idempotent {
			begin.Note = noteIdempotent // a resume may repeat it even if the plan changed meanwhile
		}
		if err := r.append(begin); err != nil {
			return err
		}
		r.emit(Event{Kind: EvActionBegin, Step: id, Action: i, Summary: a.Summary})
		rc := Receipt{Step: id, Action: i, Summary: a.Summary}
		rc.intend = func(data json.RawMessage) error {
			// The begin record restated with the action's intent, durable
			// before the effect it announces.
			again := begin
			again.Intent = data
			return r.append(again)
		}
		start := r.Env.Now()
		// The action runs to completion even when ctx is cancelled: cancellation is
		// honoured between actions (house rule 2). Actions get a context that is not
		// cancelled by the operator's interrupt, only by their own timeouts.
		aerr := a.Do(context.WithoutCancel(ctx), &rc)
		rc.Duration = r.Env.Now().Sub(start)
		if IsOutcomeUnknown(aerr) {
			// No outcome record: the journal keeps the action in doubt, for
			// its check or the operator to settle on the rerun. What output
			// came back before the connection broke is kept in a note.
			r.noteInDoubt(id, i, a.Summary, aerr, rc)
			r.emit(Event{Kind: EvActionFailed, Step: id, Action: i, Summary: a.Summary, Error: aerr.Error()})
			return fail(i, a.Summary, aerr, "the action is in doubt: rerun when the node is reachable; its check settles it, or `mswizard resolve "+id+" --retry|--mark-done` after looking")
		}
		if aerr != nil {
			// The receipt goes with the failure: the node, the command, its
			// exit code and output tail are the evidence of what went wrong.
			if err := r.append(journal.Record{Kind: journal.KindFailed, Step: id, Action: i, Summary: a.Summary, Error: aerr.Error(), Receipt: failedReceipt(rc)}); err != nil {
				return errors.Join(aerr, err)
			}
			r.emit(Event{Kind: EvActionFailed, Step: id, Action: i, Summary: a.Summary, Error: aerr.Error()})
			return fail(i, a.Summary, aerr, "fix the cause and rerun `mswizard upgrade` to retry this step, or `mswizard backout`")
		}
		b, err := json.Marshal(rc)
		if err != nil {
			return err
		}
		if err := r.append(journal.Record{Kind: journal.KindDone, Step: id, Action: i, Summary: a.Summary, Receipt: b}); err != nil {
			return err
		}
		r.emit(Event{Kind: EvActionDone, Step: id, Action: i, Summary: a.Summary})
	}
	if err := r.append(journal.Record{Kind: journal.KindStepDone, Step: id}); err != nil {
		return err
	}
	r.emit(Event{Kind: EvStepDone, Step: id, Title: s.Title()})
	return nil
}

func (r *Runner) resolveInDoubt(ctx context.Context, s Step, rec *StepRecord) (Resolution, string, error) {
	if rv := Describe(s).InDoubt; rv != nil {
		res, err := rv(ctx, r.Env, rec.InDoubt, rec.InDoubtSummary)
		return res, "the step's evidence was inconclusive", err
	}
	if rec.InDoubtIdempotent {
		return NotDone, "the action is idempotent", nil
	}
	actions, err := s.Plan(ctx, r.Env)
	if err == nil && rec.InDoubt < len(actions) && actions[rec.InDoubt].Summary == rec.InDoubtSummary && actions[rec.InDoubt].Idempotent {
		return NotDone, "the action is idempotent", nil
	}
	done, why, err := s.Check(ctx, r.Env)
	if err != nil {
		return Undecided, "", err
	}
	if done {
		return WasDone, why, nil
	}
	return Undecided, fmt.Sprintf("the wizard stopped while this action ran, and the step's check cannot tell whether it took effect (%s)", why), nil
}

// confirmation is the decision a confirmed record keeps: who said yes to q.
func (r *Runner) confirmation(q Question) *journal.Decision {
	src := journal.SourceTUI // Ask is the TUI's
	if r.Opts.Yes {
		src = r.Opts.YesFrom
		if src == "" {
			src = journal.SourceFlag
		}
	}
	return &journal.Decision{Kind: journal.DecideConfirm, Subject: q.ID, Choice: "yes", Source: src, Reason: firstLine(q.Prompt)}
}

// resolved is the record of a decision about rec's in-doubt action.
func (r *Runner) resolved(rec *StepRecord, choice string, src journal.Source, why string) journal.Record {
	return journal.Record{Kind: journal.KindResolved, Step: rec.ID, Action: rec.InDoubt, Summary: rec.InDoubtSummary,
		Decision: &journal.Decision{Kind: journal.DecideResolve, Subject: fmt.Sprintf("%s action %d (%s)", rec.ID, rec.InDoubt+1, rec.InDoubtSummary), Choice: choice, Source: src, Reason: why}}
}

func (r *Runner) confirm(ctx context.Context, q Question) error {
	if r.Opts.Yes {
		return nil
	}
	if r.Ask == nil {
		return &DecisionError{Step: q.ID, Why: q.Prompt, Choices: []string{"rerun with --yes (or Confirm = yes in [Wizard]) to go on", "mswizard backout to take back what was done"}}
	}
	ok, err := r.Ask(ctx, q)
	if err != nil {
		return err
	}
	if !ok {
		return &DecisionError{Step: q.ID, Why: "the operator declined: " + q.Prompt, Choices: []string{"rerun `mswizard upgrade` when ready", "mswizard backout"}}
	}
	return nil
}

func planText(actions []Action) string {
	var b strings.Builder
	for i, a := range actions {
		fmt.Fprintf(&b, "%d. %s\n", i+1, a.Summary)
	}
	return b.String()
}

// Resolve records the operator's decision about an in-doubt action: done, or retry.
// An undo action a stopped backout left in doubt is decided the same way (it is
// the newer of the two when a step has both); the next backout goes on from it.
func (r *Runner) Resolve(stepID string, markDone bool) error {
	st := Fold(r.Journal.Records())
	rec, ok := st.Steps[stepID]
	choice := journal.ChoiceRetry
	if markDone {
		choice = journal.ChoiceDone
	}
	if ok && rec.UndoInDoubt >= 0 {
		return r.append(journal.Record{Kind: journal.KindResolved, Step: stepID, Action: rec.UndoInDoubt, Summary: rec.UndoInDoubtS,
			Decision: &journal.Decision{Kind: journal.DecideResolve, Subject: fmt.Sprintf("%s undo action %d (%s)", stepID, rec.UndoInDoubt+1, rec.UndoInDoubtS), Choice: choice, Source: journal.SourceFlag, Undo: true}})
	}
	if !ok || rec.InDoubt < 0 {
		return fmt.Errorf("step %s has no action in doubt", stepID)
	}
	return r.append(r.resolved(rec, choice, journal.SourceFlag, ""))
}

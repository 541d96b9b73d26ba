package journal

import (
	"fmt"
	"strings"
)

// Decision is a choice that shaped a run, recorded as data so status, the
// report and the TUI show what was decided and by whom, not a sentence to
// parse.
type Decision struct {
	Kind    DecisionKind `json:"kind"`
	Subject string       `json:"subject"`          // what was decided: a step, a finding ID, "FILE KEY", an installer prompt
	Choice  string       `json:"choice"`           // "yes", "waive", "retry", "done", "reapply", "keep-new", an answer
	Source  Source       `json:"source"`           // who decided
	Reason  string       `json:"reason,omitempty"` // the operator's reason (a waiver), or the evidence
	// Undo says a resolve decision is about an undo action a stopped
	// backout left in doubt.
	Undo bool `json:"undo,omitempty"`
}

// DecisionKind says what sort of decision a record holds.
type DecisionKind string

const (
	DecideConfirm   DecisionKind = "confirm"   // a point of no return or an operator action confirmed
	DecideWaive     DecisionKind = "waive"     // a preflight inhibitor waived
	DecideResolve   DecisionKind = "resolve"   // an in-doubt action decided (done or retry)
	DecideMerge     DecisionKind = "merge"     // a configuration conflict decided (ConfigDecision)
	DecideInstaller DecisionKind = "installer" // an installer prompt answered
)

// Source says who made a decision.
type Source string

const (
	SourceAnswers  Source = "answers"  // the answers file (Confirm = yes, Waive, ConfigDecision, installer answers)
	SourceFlag     Source = "flag"     // a command-line flag (--yes, resolve --retry|--mark-done)
	SourceTUI      Source = "tui"      // the operator, in the TUI
	SourceEvidence Source = "evidence" // the wizard, from the step's own check
	SourceUnknown  Source = "unknown"  // a journal from before sources were recorded
)

// Choices of a resolve decision.
const (
	ChoiceDone  = "done"
	ChoiceRetry = "retry"
)

// String renders a decision as one line for status and the report.
func (d Decision) String() string {
	var b strings.Builder
	switch d.Kind {
	case DecideConfirm:
		fmt.Fprintf(&b, "confirmed %s", d.Subject)
	case DecideWaive:
		fmt.Fprintf(&b, "waived %s", d.Subject)
	case DecideResolve:
		if d.Undo {
			b.WriteString("undo: ")
		}
		if d.Choice == ChoiceDone {
			fmt.Fprintf(&b, "resolved %s as done", d.Subject)
		} else {
			fmt.Fprintf(&b, "resolved %s: %s", d.Subject, d.Choice)
		}
	default:
		fmt.Fprintf(&b, "%s %s: %s", d.Kind, d.Subject, d.Choice)
	}
	if d.Reason != "" && d.Kind != DecideConfirm { // a confirmation's reason is the question asked
		fmt.Fprintf(&b, " (%s)", d.Reason)
	}
	if d.Source != "" {
		fmt.Fprintf(&b, " [by %s]", d.Source)
	}
	return b.String()
}

// Notes a resolved record of an older journal carried in place of a Decision
// (wizard.Fold still reads them).
const (
	legacyUndoDone  = "undo-done"
	legacyUndoRetry = "undo-not-done: operator chose retry"
	legacyRetry     = "not-done: operator chose retry"
)

// DecisionOf returns the decision a record holds: its Decision field, or for
// a journal written before that field existed, the decision its kind and Note
// imply. Records that decide nothing return nil.
func DecisionOf(r Record) *Decision {
	if r.Decision != nil {
		return r.Decision
	}
	subject := r.Step
	if r.Summary != "" {
		subject = fmt.Sprintf("%s action %d (%s)", r.Step, r.Action+1, r.Summary)
	}
	switch r.Kind {
	case KindConfirmed:
		return &Decision{Kind: DecideConfirm, Subject: r.Step, Choice: "yes", Source: SourceUnknown}
	case KindWaived:
		return &Decision{Kind: DecideWaive, Subject: r.Summary, Choice: "waive", Source: SourceAnswers, Reason: r.Note}
	case KindResolved:
		switch {
		case r.Note == "done":
			return &Decision{Kind: DecideResolve, Subject: subject, Choice: ChoiceDone, Source: SourceUnknown}
		case r.Note == legacyUndoDone:
			return &Decision{Kind: DecideResolve, Subject: subject, Choice: ChoiceDone, Source: SourceFlag, Undo: true}
		case r.Note == legacyRetry:
			return &Decision{Kind: DecideResolve, Subject: subject, Choice: ChoiceRetry, Source: SourceFlag}
		case r.Note == legacyUndoRetry:
			return &Decision{Kind: DecideResolve, Subject: subject, Choice: ChoiceRetry, Source: SourceFlag, Undo: true}
		case strings.HasPrefix(r.Note, "not-done: "):
			return &Decision{Kind: DecideResolve, Subject: subject, Choice: ChoiceRetry, Source: SourceEvidence, Reason: strings.TrimPrefix(r.Note, "not-done: ")}
		}
	}
	return nil
}

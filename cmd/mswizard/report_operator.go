package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"mswizard/steps"
	"mswizard/wizard"
)

// isOperatorAction says whether a step stands for an operator action
// (steps/operator.go): the appendix's steps the wizard cannot take itself.
func isOperatorAction(id string) bool { return slices.Contains(steps.OperatorActions(), id) }

// writeOperatorMD lists the run's operator actions — confirmed, waiting for a
// confirmation, or not applying to this host and why — so none is left out
// of the report silently. Nothing is written for a run that has none.
func writeOperatorMD(w io.Writer, rep *runReport) {
	var rows []string
	for _, v := range rep.Steps {
		if !isOperatorAction(v.ID) {
			continue
		}
		var state string
		switch v.State {
		case wizard.StateDone:
			state = "confirmed"
			for _, rc := range v.receipts {
				if rc.Note != "" {
					state = rc.Note
				}
			}
		case wizard.StateSkipped:
			state = "does not apply: " + v.Note
		default:
			state = fmt.Sprintf("**waiting for a confirmation**: confirm it in the TUI, or add `Confirmed = %s` to [Wizard] (or --yes) and rerun", v.ID)
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %s |\n", v.ID, v.Title, strings.ReplaceAll(state, "|", "\\|")))
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprint(w, "## Operator actions\n\nSteps of the appendix the wizard cannot take itself; each needs the operator's confirmation.\n\n| step | action | state |\n|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprint(w, r)
	}
	fmt.Fprint(w, "\n")
}

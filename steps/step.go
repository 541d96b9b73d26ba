package steps

import (
	"context"

	"mswizard/wizard"
)

// findingsRanFirst is the check of a read-only preflight step: its findings
// (wizard.Phase.Preflight) ran before anything changed, and it has nothing to
// plan or undo.
func findingsRanFirst(context.Context, *wizard.Env) (bool, string, error) {
	return true, "read-only check; its findings ran first", nil
}

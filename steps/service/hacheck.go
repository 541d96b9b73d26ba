package service

import (
	"context"

	"mswizard/wizard"
)

// IDDirectoryUpAfterHA is check/directory-up-after-ha.
const IDDirectoryUpAfterHA = "check/directory-up-after-ha"

// directoryUpAfterHA is check/directory-up-after-ha.
type directoryUpAfterHA struct{ directoryUp }

// DirectoryUpAfterHA is check/directory-up-after-ha, read-only: the Directory
// Server is proved up again once ha/prepare has cycled the cluster — on
// Veritas the iMS5 service group taken offline and brought back online
// (appendix C, Veritas steps 1-3, then step 4: "check that the Directory
// Server installed in the same server root is running"), on Sun Cluster 2.2
// the data service turned off and unregistered (steps 1-2, then step 3, the
// same check). Other regimes cycle nothing, and the step says so.
func DirectoryUpAfterHA(c Config) wizard.Step {
	s := &directoryUpAfterHA{directoryUp{step{c.withDefaults()}}}
	return wizard.Phase{
		ID: IDDirectoryUpAfterHA, Title: "Check that the Directory Server is up after the cluster's preparation",
		Check: s.Check, Plan: s.Plan, // read-only: nothing to undo
	}.Step()
}

func (s *directoryUpAfterHA) Check(ctx context.Context, env *wizard.Env) (bool, string, error) {
	if r := s.c.Regime; r != RegimeVeritas && r != RegimeSC22 {
		return true, "the cluster preparation cycles nothing under regime " + string(r) + ": check/directory-up stands: skipped", nil
	}
	return s.directoryUp.Check(ctx, env)
}

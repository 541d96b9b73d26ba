package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"mswizard/steps/runbook"
)

// runCmd is `mswizard run RUNBOOK`: a runbook file's run through the same
// engine, journal and faces as the upgrade.
func runCmd() *cobra.Command {
	c := &common{}
	cmd := &cobra.Command{
		Use:   "run RUNBOOK",
		Short: "Run a runbook (a shipped id or a runbook file) with its answers; --dry-run prints the plan",
		Long: "Run a runbook (a shipped id or a runbook file) with its answers.\n\n" +
			"Batch with --answers FILE (see `mswizard answers template --runbook RUNBOOK`); on a terminal,\n" +
			"--state-dir of a run in progress resumes it in the TUI. `mswizard runbook list` names the shipped ones.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c.runbook = args[0]
			return runRunbook(cmd.Context(), c, cmd.OutOrStdout())
		},
	}
	addCommon(cmd, c, true)
	return cmd
}

func runRunbook(ctx context.Context, c *common, out io.Writer) error {
	if c.answersPath == "" && c.stateDir == "" {
		// The TUI's answers form knows the Messaging Server's answers only; a
		// runbook's answers come from its template.
		return usagef("no answers: give --answers FILE (`mswizard answers template --runbook %s > FILE` writes one), or --state-dir of a run in progress", c.runbook)
	}
	if _, err := runbook.Load(c.runbook); err != nil {
		return err
	}
	return applyRun(ctx, c, out)
}

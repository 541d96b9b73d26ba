package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"mswizard/steps/runbook"
)

// runbookCmd is `mswizard runbook list|validate`.
func runbookCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "runbook", Short: "List the shipped runbooks, or validate a runbook file"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the runbooks that come with the wizard",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, id := range runbook.Shipped() {
				rb, err := runbook.Load(id)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%-24s %s (%d steps)\n", id, rb.Title, len(rb.Steps))
				for _, l := range rb.DescriptionLines(52) {
					fmt.Fprintf(cmd.OutOrStdout(), "%-24s   %s\n", "", l)
				}
			}
			return nil
		},
	})
	var answersPath string
	validate := &cobra.Command{
		Use:   "validate RUNBOOK|FILE",
		Short: "Check a runbook and list every problem at once, as FILE:LINE: message (with --answers, its answers too)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rb, err := runbook.Load(args[0])
			if err != nil {
				return err
			}
			v := runbook.Defaults(rb)
			if answersPath != "" {
				if v, err = runbook.LoadValues(rb, answersPath); err != nil {
					return err
				}
			}
			o := runbook.PlanNodes(rb) // nothing runs: the nodes are not reached
			o.StateDir = "/nonexistent"
			steps, err := runbook.Build(rb, v, o)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid runbook %s (%d answers, %d preflight checks, %d steps)\n", args[0], rb.ID, len(rb.Answers), len(rb.Preflight), len(steps))
			for _, l := range rb.DescriptionLines(76) {
				fmt.Fprintf(cmd.OutOrStdout(), "  %s\n", l)
			}
			for _, st := range steps {
				fmt.Fprintf(cmd.OutOrStdout(), "  %-28s %s\n", st.ID(), st.Title())
			}
			return nil
		},
	}
	validate.Flags().StringVar(&answersPath, "answers", "", "also check this answers file against the runbook")
	cmd.AddCommand(validate)
	return cmd
}

// validateRunbookAnswers is `answers validate FILE` for a runbook's answers
// (a file with [Runbook] Runbook = RUNBOOK).
func validateRunbookAnswers(w io.Writer, ref, path string) error {
	rb, err := runbook.Load(ref)
	if err != nil {
		return err
	}
	v, err := runbook.LoadValues(rb, path)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s: valid answers for runbook %s (state directory %s)\n", path, rb.ID, v.StateDir)
	return err
}

// answersTemplate prints the answers template of a runbook.
func answersTemplate(w io.Writer, ref string) error {
	rb, err := runbook.Load(ref)
	if err != nil {
		return err
	}
	return runbook.WriteTemplate(w, rb, ref)
}

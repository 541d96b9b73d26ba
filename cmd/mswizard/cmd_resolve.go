package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"mswizard/steps"
	"mswizard/wizard"
)

func resolveCmd() *cobra.Command {
	c := &common{}
	var retry, markDone bool
	cmd := &cobra.Command{
		Use:   "resolve STEP --retry|--mark-done",
		Short: "Decide an in-doubt action after a crash: run it again, or record that it completed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if retry == markDone {
				return usagef("give exactly one of --retry or --mark-done")
			}
			s, err := c.load(cmd.Context(), os.Stdin)
			if err != nil {
				return err
			}
			defer s.close()
			j, err := s.openJournal()
			if err != nil {
				return err
			}
			defer j.Close()
			r := &wizard.Runner{Steps: s.steps, Env: s.env, Journal: j}
			if retry && args[0] == "upgrade/run-installer" {
				// Never a second installer, nor a restore under the first.
				if err := steps.RefuseWhileInstallerRuns(s.cfg); err != nil {
					return err
				}
			}
			next := "upgrade"
			if s.rb != nil {
				next = "run " + s.rb.ref
			}
			if rec, ok := wizard.Fold(j.Records()).Steps[args[0]]; ok && rec.UndoInDoubt >= 0 {
				next = "backout"
			}
			if err := r.Resolve(args[0], markDone); err != nil {
				return usagef("%v", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "recorded; rerun `mswizard %s %s` to go on\n", next, c.sessionFlag(s))
			return nil
		},
	}
	addCommon(cmd, c, false)
	cmd.Flags().BoolVar(&retry, "retry", false, "the action did not take effect: run it again")
	cmd.Flags().BoolVar(&markDone, "mark-done", false, "the action completed: record it as done")
	return cmd
}

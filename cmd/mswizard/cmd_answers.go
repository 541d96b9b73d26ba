package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"mswizard/steps/runbook"
	"mswizard/wizard/answers"
)

func answersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "answers", Short: "Work with answers files (install.inf)"}
	var rb string
	tmpl := &cobra.Command{
		Use:   "template [--runbook RUNBOOK]",
		Short: "Print a self-documenting install.inf (or, with --runbook, a runbook's answers): every key, its meaning and default",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rb != "" {
				return answersTemplate(cmd.OutOrStdout(), rb)
			}
			return answers.WriteTemplate(cmd.OutOrStdout())
		},
	}
	tmpl.Flags().StringVar(&rb, "runbook", "", "a shipped runbook id or a runbook file")
	cmd.AddCommand(tmpl)
	var syntaxOnly bool
	validate := &cobra.Command{
		Use:   "validate FILE",
		Short: "Check an answers file and list every problem with its line and fix",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ref, err := runbook.ReadRunbookName(args[0]); err == nil && ref != "" {
				return validateRunbookAnswers(cmd.OutOrStdout(), ref, args[0])
			}
			a, err := answers.Load(args[0], answers.LoadOptions{SkipFiles: syntaxOnly})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid (server root %s, instance %s, regime %s, %d export(s))\n", args[0], a.ServerRoot, a.Instance, a.Regime, len(a.Exports))
			return nil
		},
	}
	validate.Flags().BoolVar(&syntaxOnly, "syntax", false, "check only the file itself, not the secret files it references")
	cmd.AddCommand(validate)
	return cmd
}

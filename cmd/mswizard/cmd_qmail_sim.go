package main

import (
	"os"

	"github.com/spf13/cobra"

	"mswizard/fixtures/qmail"
)

// qmailSimCmd runs the qmail stand-ins behind a qmail world's bin/.
func qmailSimCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "qmail-sim TOOL ROOT [ARGS]",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := qmail.Main(cmd.Context(), args, os.Stdin, os.Stdout, os.Stderr); code != 0 {
				return &codedError{code: code}
			}
			return nil
		},
	}
}

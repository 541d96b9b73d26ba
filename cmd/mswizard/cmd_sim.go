package main

import (
	"os"

	"github.com/spf13/cobra"

	"mswizard/fixtures/sim"
)

// simCmd runs the simulated Messaging Server programs behind a demo world's
// scripts (start-msg, stop-msg, imsimta, the daemons, the installer, the cluster
// stand-ins). Hidden: operators never call it.
func simCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "sim TOOL [ARGS]",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			code := sim.Main(cmd.Context(), args, os.Stdin, cmd.OutOrStdout(), cmd.ErrOrStderr())
			if code != 0 {
				return &codedError{code: code}
			}
			return nil
		},
	}
}

package main

import (
	"os"

	"github.com/spf13/cobra"

	"mswizard/steps/host"
)

// installerPtyCmd is the installer's supervisor, which upgrade/run-installer
// starts as a process of its own: it holds the pseudo-terminal `setup -k` runs
// on, so a killed wizard never hangs the installer up (steps/host/installer_pty.go).
// The secret answers arrive on stdin.
func installerPtyCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "installer-pty SPEC",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := host.Supervise(cmd.Context(), args[0], os.Stdin, cmd.OutOrStdout()); code != 0 {
				return &codedError{code: code}
			}
			return nil
		},
	}
}

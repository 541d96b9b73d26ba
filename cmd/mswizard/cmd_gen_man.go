package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// manSection is where an administrator's command goes (man-pages(7): 8,
// "System management commands"); the package installs it in /usr/sbin.
const manSection = "8"

// genManCmd writes one man page per command, generated from the commands
// themselves (cobra/doc), for `make man` and the Debian package. Hidden:
// operators read the pages, they do not make them. The date comes from
// SOURCE_DATE_EPOCH when it is set, so a rebuild gives the same pages.
func genManCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "gen-man DIR",
		Short:  "Write the man pages into DIR",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return err
			}
			root := cmd.Root()
			root.DisableAutoGenTag = true
			h := &doc.GenManHeader{Title: "MSWIZARD", Section: manSection, Source: "mswizard " + version, Manual: "mswizard manual"}
			if err := doc.GenManTree(root, h, args[0]); err != nil {
				return fmt.Errorf("man pages into %s: %w", args[0], err)
			}
			return nil
		},
	}
}

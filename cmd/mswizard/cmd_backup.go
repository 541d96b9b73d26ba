package main

import (
	"time"

	"github.com/spf13/cobra"

	"mswizard/backup"
)

// backupCmd gives operators the same archive code the runbook uses, so old backups
// can be checked and restored by hand (and benchmarks time it directly).
func backupCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "backup", Short: "Create, verify and restore archives (tar + zstd with a sha256 manifest)"}
	var source, dest string
	var exclude []string
	create := &cobra.Command{
		Use:   "create --source DIR --dest DIR",
		Short: "Archive DIR, verify it against its manifest, print the archive and manifest paths",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if source == "" || dest == "" {
				return usagef("backup create needs --source and --dest")
			}
			_, err := backup.RunCreate(cmd.Context(), cmd.OutOrStdout(), source, dest, exclude, time.Now)
			return err
		},
	}
	create.Flags().StringVar(&source, "source", "", "directory to archive")
	create.Flags().StringVar(&dest, "dest", "", "directory for the archive and its manifest")
	create.Flags().StringSliceVar(&exclude, "exclude", nil, "relative paths to leave out")
	cmd.AddCommand(create)
	cmd.AddCommand(&cobra.Command{
		Use:   "verify PATH",
		Short: "Re-read an archive and compare every entry with its manifest (exit 5 naming the first bad entry)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return backup.RunVerify(cmd.Context(), cmd.OutOrStdout(), args[0])
		},
	})
	var target string
	restore := &cobra.Command{
		Use:   "restore PATH --target DIR",
		Short: "Restore an archive through a staging directory, verified, then swapped into place",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if target == "" {
				return usagef("backup restore needs --target")
			}
			return backup.RunRestore(cmd.Context(), cmd.OutOrStdout(), args[0], target)
		},
	}
	restore.Flags().StringVar(&target, "target", "", "directory to restore into (swapped into place)")
	cmd.AddCommand(restore)
	return cmd
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"mswizard/backup"
	"mswizard/steps"
	"mswizard/wizard"
	"mswizard/wizard/answers"
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
	cmd.AddCommand(restoreCmd())
	return cmd
}

// serverRootRestore is what `backup restore ARCHIVE --answers FILE` needs
// beyond the archive: the answers that describe the server root, the state
// directory whose records hold the manifest's hash, and the operator's answer
// when none does.
type serverRootRestore struct {
	target, answers, stateDir, sha string
	unrecorded                     bool
}

func restoreCmd() *cobra.Command {
	var o serverRootRestore
	restore := &cobra.Command{
		Use:   "restore PATH (--answers FILE | --target DIR)",
		Short: "Restore an archive through a staging directory, verified, then swapped into place (a server root: keeping its store and queue)",
		Long: "Restore an archive through a staging directory, verified, then swapped into place.\n\n" +
			"A Messaging Server server root is restored with --answers: the live store partition, the queue and whatever the archive's manifest " +
			"records as left out are carried into the restored tree (the backout's restore), under the server root's host-wide lock, once the services are " +
			"proved down and the manifest's sha256 matches the one the state directory records (or --manifest-sha256). " +
			"--target refuses a server root, and any target holding what the archive left out: the swap would delete it.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.answers != "" {
				return o.serverRoot(cmd.Context(), cmd.OutOrStdout(), args[0])
			}
			if o.target == "" {
				return usagef("backup restore needs --answers (a server root) or --target")
			}
			if err := refuseTarget(args[0], o.target); err != nil {
				return err
			}
			return backup.RunRestore(cmd.Context(), cmd.OutOrStdout(), args[0], o.target)
		},
	}
	f := restore.Flags()
	f.StringVar(&o.target, "target", "", "directory to restore into (swapped into place); not a server root")
	f.StringVar(&o.answers, "answers", "", "answers file whose ServerRoot the archive restores, keeping the store and the queue")
	f.StringVar(&o.stateDir, "state-dir", "", "state directory whose backups.json or journal records the manifest's sha256 (default: the answers' StateDir)")
	f.StringVar(&o.sha, "manifest-sha256", "", "the manifest's sha256 as recorded when the archive was made (the run's report), when no state directory records it")
	f.BoolVar(&o.unrecorded, "unrecorded-manifest", false, "restore although no sha256 of the manifest is recorded anywhere (an archive replaced under its name would not be noticed)")
	return restore
}

// refuseTarget keeps `--target` off a tree whose restore would lose data: a
// Messaging Server server root (its store partition is left out of its
// archive, and its queue has moved on since), or any target that holds what
// the archive's manifest records as left out.
func refuseTarget(archive, target string) error {
	if msg, _ := filepath.Glob(filepath.Join(target, "msg-*")); len(msg) > 0 {
		return usagef("%s is a Messaging Server server root (%s): `--target` would replace it whole and delete the store and queue; "+
			"restore it with `mswizard backup restore %s --answers FILE`, which keeps them", target, msg[0], archive)
	}
	dropped, err := backup.Dropped(backup.ManifestPath(archive), target)
	if err != nil {
		return err
	}
	if len(dropped) > 0 {
		return usagef("the archive left out %s, which %s holds: restoring it would delete them; move them away first, or restore a server root with --answers", strings.Join(dropped, ", "), target)
	}
	return nil
}

// serverRoot restores a server-root archive through steps.RestoreArchive.
func (o serverRootRestore) serverRoot(ctx context.Context, out io.Writer, archive string) error {
	a, err := answers.Load(o.answers, answers.LoadOptions{})
	if err != nil {
		return err
	}
	state := o.stateDir
	if state != "" {
		if state, err = filepath.Abs(state); err != nil {
			return usagef("--state-dir %s: %v", o.stateDir, err)
		}
	}
	cfg := steps.NewConfig(a, state)
	root := cfg.Host.ServerRoot()
	if o.target != "" {
		if t, _ := filepath.Abs(o.target); filepath.Clean(t) != filepath.Clean(root) {
			return usagef("--target %s is not the server root %s the answers name", o.target, root)
		}
	}
	env := (&wizard.Env{Root: "/", StateDir: cfg.StateDir, Exec: wizard.OSExecer{}, Now: time.Now,
		Output: func(_, line string) { fmt.Fprintln(out, line) }}).Nop()
	carried, err := cfg.RestoreArchive(ctx, env, steps.ArchiveRestore{Archive: archive, ManifestSHA256: o.sha, Unrecorded: o.unrecorded})
	if errors.Is(err, steps.ErrNoRecordedHash) {
		return usagef("%v; give the sha256 the run's report or `backup create` printed with --manifest-sha256, or --state-dir of the run that made it; "+
			"having checked the archive is the one you made, --unrecorded-manifest restores it as it is", err)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "restored %s into %s; the store partition, the queue and what the archive left out were kept (%d queued or delivered message file(s) carried over)\n",
		archive, root, len(carried))
	return err
}

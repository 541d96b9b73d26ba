package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"mswizard/backup"
	"mswizard/fixtures/sim"
	"mswizard/ldif"
	"mswizard/ldif/export"
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

func ldifCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "ldif", Short: "Export the directory to LDIF, and verify LDIF files"}
	c := &common{}
	var outDir string
	exp := &cobra.Command{
		Use:   "export --answers FILE [--out DIR]",
		Short: "Run the configured LDIF exports now (default: DATE.ug.ldif and DATE.pab.ldif)",
		Args:  cobra.NoArgs,
		RunE: c.withSession(func(ctx context.Context, s *session, out io.Writer) error {
			if s.rb != nil {
				return usagef("this command applies to the Messaging Server upgrade, not to runbook %s", s.rb.book.ID)
			}
			if outDir == "" {
				outDir = filepath.Join(s.state, "ldif")
			}
			conn, err := s.cfg.Directory.DialLDAP(ctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			searcher, ok := conn.(export.Searcher)
			if !ok {
				return errors.New("ldif export: the directory connection cannot search")
			}
			for _, spec := range exportSpecs(s) {
				res, err := export.Export(ctx, searcher, spec, outDir, export.Options{Server: s.answers.LDAPAddress()})
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "%s\t%d entries\tsha256 %s\n", res.Path, res.Entries, res.SHA256)
			}
			return nil
		}),
	}
	addCommon(exp, c, false)
	exp.Flags().StringVar(&outDir, "out", "", "directory for the LDIF files (default STATE/ldif)")
	cmd.AddCommand(exp)
	cmd.AddCommand(&cobra.Command{
		Use:   "verify FILE",
		Short: "Parse an LDIF file and print its entry count (exit 5 when it is not valid LDIF)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := os.Stat(args[0]); err != nil {
				return usagef("ldif verify: %v", err) // nothing to verify: a usage error, not damage
			}
			n, err := countLDIF(args[0])
			if err != nil {
				return &verifyFailed{err: err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d entries\n", args[0], n)
			return nil
		},
	})
	return cmd
}

func countLDIF(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := ldif.NewReader(f, filepath.Base(path), ldif.ReaderOptions{})
	n := 0
	for {
		_, err := r.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

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

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

	"mswizard/ldif"
	"mswizard/wizard"
)

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
			env := &wizard.Env{Root: "/", StateDir: s.state, Now: time.Now,
				Output: func(_, line string) { fmt.Fprintln(out, line) }}
			results, err := s.cfg.ExportNow(ctx, env, outDir)
			for _, res := range results {
				fmt.Fprintf(out, "%s\t%d entries (the server's own count agrees)\tsha256 %s\n", res.Path, res.Entries, res.SHA256)
			}
			if err != nil {
				return err
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

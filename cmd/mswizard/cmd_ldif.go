package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mswizard/ldif"
	"mswizard/ldif/export"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
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
			u, err := s.run.upgrade()
			if err != nil {
				return err
			}
			if outDir == "" {
				outDir = filepath.Join(s.state, "ldif")
			}
			conn, err := u.cfg.Directory.DialLDAP(ctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			searcher, ok := conn.(export.Searcher)
			if !ok {
				return errors.New("ldif export: the directory connection cannot search")
			}
			for _, spec := range exportSpecs(u.answers) {
				res, err := export.Export(ctx, searcher, spec, outDir, export.Options{Server: u.answers.LDAPAddress()})
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

package main

import (
	"context"
	"encoding/json"
	"io"

	"github.com/spf13/cobra"

	"mswizard/steps"
	"mswizard/steps/configdiff"
	"mswizard/wizard"
)

// diffCmd shows again, at any time, how the configuration the installer moved
// into backup.TIMESTAMP differs from the live one (seed 003: compare and re-apply
// every customization).
func diffCmd() *cobra.Command {
	c := &common{}
	var noUnified bool
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Show the configuration differences between backup.TIMESTAMP and the live files, per key and as unified diffs",
		Args:  cobra.NoArgs,
		RunE: c.withSession(func(ctx context.Context, s *session, out io.Writer) error {
			u, err := s.run.upgrade()
			if err != nil {
				return err
			}
			rep, err := steps.ConfigReport(ctx, u.cfg)
			if err != nil {
				return err
			}
			if c.output == "json" {
				return json.NewEncoder(out).Encode(struct {
					Version int `json:"version"`
					*configdiff.Report
				}{wizard.PlanVersion, rep})
			}
			return rep.WriteText(out, !noUnified)
		}),
	}
	addCommon(cmd, c, false)
	cmd.Flags().BoolVar(&noUnified, "keys-only", false, "list the keyed changes without the unified diffs")
	return cmd
}

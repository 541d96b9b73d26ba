package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"mswizard/wizard"
)

func backoutCmd() *cobra.Command {
	c := &common{}
	cmd := &cobra.Command{
		Use:   "backout",
		Short: "Take back every step the journal says was done, in the backout procedure's order",
		Args:  cobra.NoArgs,
		RunE: c.withSession(func(ctx context.Context, s *session, out io.Writer) error {
			r := &wizard.Runner{Steps: s.steps, Env: s.env, Opts: s.options(c), Events: batchPrinter(out, c.output)}
			if c.dryRun {
				recs, err := s.records()
				if err != nil {
					return err
				}
				plan, err := r.BackoutPlan(ctx, recs)
				if err != nil {
					return err
				}
				if err := printBackoutPlan(out, c.output, plan); err != nil {
					return err
				}
				if proc := s.run.backoutProcedure(); proc != "" && c.output == "text" {
					// The components and their order, each installed one with
					// what stops it, each other one skipped with its reason.
					_, err = fmt.Fprint(out, "\n"+proc)
				}
				return err
			}
			if err := s.openLog(); err != nil {
				return err
			}
			if useTUI(c) && c.answersPath == "" {
				return runTUIMode(ctx, s, c, "backout")
			}
			j, err := s.openJournal()
			if err != nil {
				return err
			}
			defer j.Close()
			s.rememberAnswers(j)
			r.Journal = j
			err = r.Backout(ctx)
			if errors.Is(err, wizard.ErrNothingToUndo) {
				if c.output == "json" {
					r.Events(wizard.Event{Time: time.Now(), Kind: wizard.EvNote, Message: err.Error()})
				} else {
					fmt.Fprintln(out, err)
				}
				return nil
			}
			writeReport(ctx, s, j)
			if c.output == "text" {
				if err == nil {
					fmt.Fprintf(out, "backout complete; report: %s\n", reportPath(s))
				} else {
					var b strings.Builder
					printKeptSafe(s, &b)
					err = &withNote{err: err, note: b.String()}
				}
			}
			return err
		}),
	}
	addCommon(cmd, c, true)
	return cmd
}

func printBackoutPlan(out io.Writer, format string, plan []wizard.BackoutStep) error {
	if format == "json" {
		return json.NewEncoder(out).Encode(struct {
			Version int                  `json:"version"`
			Steps   []wizard.BackoutStep `json:"steps"`
		}{wizard.PlanVersion, plan})
	}
	_, err := io.WriteString(out, wizard.RenderBackoutPlan(plan))
	return err
}

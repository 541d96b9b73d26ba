package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"mswizard/steps"
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
				room, err := backoutRoom(s, plan)
				if err != nil {
					return err
				}
				if err := printBackoutPlan(out, c.output, plan, room); err != nil {
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

func printBackoutPlan(out io.Writer, format string, plan []wizard.BackoutStep, room *steps.BackoutRoom) error {
	if format == "json" {
		return json.NewEncoder(out).Encode(struct {
			Version int                  `json:"version"`
			Steps   []wizard.BackoutStep `json:"steps"`
			Room    *steps.BackoutRoom   `json:"restore_room,omitempty"`
		}{wizard.PlanVersion, plan, room})
	}
	text := wizard.RenderBackoutPlan(plan)
	if room != nil {
		text += "\n" + room.String() + "\n"
	}
	_, err := io.WriteString(out, text)
	return err
}

// backoutRoom is the room the backout's restore of the server root stages
// on its volume (issue 15 case 7: the plan states the room a backout needs),
// when the backout plan restores it; nil otherwise.
func backoutRoom(s *session, plan []wizard.BackoutStep) (*steps.BackoutRoom, error) {
	u, err := s.run.upgrade()
	if err != nil || !slices.ContainsFunc(plan, func(b wizard.BackoutStep) bool { return b.ID == steps.IDRunInstaller }) {
		return nil, nil // a runbook file's run, or no restore to make room for
	}
	room, ok, err := u.cfg.BackoutRoomNeeded()
	if err != nil || !ok {
		return nil, err
	}
	return &room, nil
}

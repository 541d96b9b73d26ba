package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"mswizard/steps"
	"mswizard/wizard"
	"mswizard/wizard/answers"
	"mswizard/wizard/journal"
)

func upgradeCmd(planOnly bool) *cobra.Command {
	c := &common{}
	cmd := &cobra.Command{
		Use:   "upgrade",
		Short: "Run the upgrade runbook (TUI on a terminal without --answers; batch otherwise)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if planOnly {
				c.dryRun = true
			}
			return runUpgrade(cmd.Context(), c, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	if planOnly {
		cmd.Use, cmd.Short = "plan", "Show the plan: every step, its exact commands, points of no return and the backout at each point (= upgrade --dry-run)"
	}
	addCommon(cmd, c, true)
	cmd.Long = cmd.Short + "\n\nSteps, in order:\n" + stepHelp()
	return cmd
}

// stepHelp lists the runbook's step IDs and titles for --until/--skip/--only,
// generated from the runbook itself (a plain host; HA regimes use the same IDs).
func stepHelp() string {
	a := &answers.Answers{Regime: "plain", StoreAction: "move", ServerRoot: "/SERVER-ROOT", Instance: "INSTANCE"}
	var b strings.Builder
	for _, st := range steps.Upgrade(steps.NewConfig(a, "/STATE")) {
		opt := ""
		if wizard.Describe(st).Optional {
			opt = " (optional)"
		}
		fmt.Fprintf(&b, "  %-28s %s%s\n", st.ID(), st.Title(), opt)
	}
	return strings.TrimRight(b.String(), "\n")
}

func runUpgrade(ctx context.Context, c *common, out, errw io.Writer) error {
	if c.answersPath == "" && c.stateDir == "" {
		if useTUI(c) && !c.dryRun {
			return runTUIWithoutAnswers(ctx, c)
		}
		return usagef("no terminal and no answers: give --answers install.inf for a batch run (see `mswizard answers template`)")
	}
	return applyRun(ctx, c, out)
}

// applyRun is the batch face of every run, the upgrade's and a runbook
// file's: load, check the step names, plan (--dry-run) or apply with the
// journal held, write the report, and after a failure say what is kept safe.
func applyRun(ctx context.Context, c *common, out io.Writer) error {
	s, err := c.load(ctx, os.Stdin)
	if err != nil {
		return err
	}
	defer s.close()
	if err := wizard.ValidateStepIDs(s.steps, s.options(c)); err != nil {
		return usagef("%v", err)
	}
	if c.dryRun {
		return printPlan(ctx, s, c, out)
	}
	if err := s.openLog(); err != nil {
		return err
	}
	if useTUI(c) && c.answersPath == "" {
		return runTUI(ctx, s, c) // resumed from --state-dir on a terminal
	}
	j, err := s.openJournal()
	if err != nil {
		return err
	}
	defer j.Close()
	s.rememberAnswers(j)
	r := &wizard.Runner{Steps: s.steps, Env: s.env, Journal: j, Opts: s.options(c), Events: recordFindings(s, batchPrinter(out, c.output))}
	estimateBeforeRun(ctx, s, r)
	err = r.Apply(ctx)
	writeReport(ctx, s, j)
	if c.output == "text" {
		if err == nil {
			what := "upgrade"
			if s.rb != nil {
				what = "runbook " + s.rb.book.ID
			}
			fmt.Fprintf(out, "%s complete; report: %s\n", what, reportPath(s))
		} else {
			var b strings.Builder
			printKeptSafe(s, &b)
			err = &withNote{err: err, note: b.String()}
		}
	}
	return err
}

// withNote adds lines for the operator after an error's own message; the
// error's type still decides the exit code.
type withNote struct {
	err  error
	note string
}

func (e *withNote) Error() string { return e.err.Error() + "\n" + strings.TrimRight(e.note, "\n") }
func (e *withNote) Unwrap() error { return e.err }

// printKeptSafe tells an operator whose run stopped what is safe: the verified
// archives, the LDIF exports, the journal that a rerun or a backout reads.
func printKeptSafe(s *session, w io.Writer) {
	fmt.Fprintf(w, "kept safe:\n  journal: %s (rerun to continue, `mswizard status` to see it, `mswizard backout` to undo)\n", filepath.Join(s.state, journal.FileName))
	var idx map[string]struct {
		Archive string `json:"archive"`
	}
	if b, err := os.ReadFile(filepath.Join(s.state, "backups.json")); err == nil && json.Unmarshal(b, &idx) == nil {
		names := make([]string, 0, len(idx))
		for n := range idx {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(w, "  %s backup: %s (verified against its manifest)\n", n, idx[n].Archive)
		}
	}
	if ents, _ := filepath.Glob(filepath.Join(s.state, "ldif", "*.ldif")); len(ents) > 0 {
		fmt.Fprintf(w, "  directory exports: %s\n", strings.Join(ents, ", "))
	}
	if s.rb != nil {
		fmt.Fprintf(w, "  saved originals: %s\n", filepath.Join(s.state, "saved"))
	}
	fmt.Fprintf(w, "  report: %s\n", reportPath(s))
}

func printPlan(ctx context.Context, s *session, c *common, out io.Writer) error {
	r := &wizard.Runner{Steps: s.steps, Env: s.env, Opts: s.options(c)}
	recs, err := s.records()
	if err != nil {
		return err
	}
	rep, err := planWithEstimate(ctx, s, r, recs)
	if err != nil {
		return err
	}
	if c.output == "json" {
		return json.NewEncoder(out).Encode(rep)
	}
	_, err = io.WriteString(out, wizard.RenderPlan(rep))
	return err
}

// versionedEvent is one line of `--output json` from a run or a backout: the
// event, with the schema version every JSON output carries.
type versionedEvent struct {
	V int `json:"v"`
	wizard.Event
}

// progressLineEvery is the least time between two progress lines of a step
// in the batch text output.
const progressLineEvery = 3 * time.Second

// progressText is a progress line of the batch text output: "backup/queue
// archive 45% 1.2 MiB/2.7 MiB · 10/22 files · 8.0 MiB/s · ETA 1s".
func progressText(step string, p wizard.Progress) string {
	var b strings.Builder
	b.WriteString(step)
	if p.Phase != "" {
		b.WriteString(" " + p.Phase)
	}
	if f, ok := p.Fraction(); ok {
		fmt.Fprintf(&b, " %.0f%%", f*100)
	}
	b.WriteString(" " + p.Text())
	return b.String()
}

// batchPrinter renders run events as text lines or JSON Lines.
func batchPrinter(out io.Writer, format string) func(wizard.Event) {
	enc := json.NewEncoder(out)
	// Progress is throttled per step by the events' own times (the
	// runner's clock): a JSON event a second at most, a text line every
	// few seconds.
	lastProgress := map[string]time.Time{}
	due := func(e wizard.Event, every time.Duration) bool {
		if last, ok := lastProgress[e.Step]; ok && e.Time.Sub(last) < every {
			return false
		}
		lastProgress[e.Step] = e.Time
		return true
	}
	return func(e wizard.Event) {
		if format == "json" {
			if e.Kind == wizard.EvProgress && !due(e, time.Second) {
				return
			}
			_ = enc.Encode(versionedEvent{V: wizard.PlanVersion, Event: e})
			return
		}
		prefix := ""
		if e.Undo {
			prefix = "undo "
		}
		switch e.Kind {
		case wizard.EvPreflight:
			for _, f := range e.Findings {
				if f.Remediation == "" {
					fmt.Fprintf(out, "preflight [%s] %s: %s\n", f.Severity, f.ID, f.Message)
				} else {
					fmt.Fprintf(out, "preflight [%s] %s: %s (fix: %s)\n", f.Severity, f.ID, f.Message, f.Remediation)
				}
			}
		case wizard.EvStepStart:
			fmt.Fprintf(out, "==> %s: %s\n", e.Step, e.Title)
		case wizard.EvStepSkipped:
			fmt.Fprintf(out, "--- %s: %s\n", e.Step, e.Message)
		case wizard.EvActionBegin:
			fmt.Fprintf(out, "    %s$ %s\n", prefix, e.Summary)
		case wizard.EvActionFailed:
			fmt.Fprintf(out, "    FAILED: %s\n", e.Error)
		case wizard.EvOutput:
			fmt.Fprintf(out, "    | %s\n", e.Message)
		case wizard.EvProgress:
			if e.Progress != nil && due(e, progressLineEvery) {
				fmt.Fprintf(out, "    ... %s\n", progressText(e.Step, *e.Progress))
			}
		case wizard.EvNote:
			fmt.Fprintf(out, "note: %s\n", e.Message)
		}
	}
}

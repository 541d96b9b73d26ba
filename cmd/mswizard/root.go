package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"mswizard/steps"
	"mswizard/steps/runbook"
	"mswizard/wizard"
	"mswizard/wizard/answers"
	"mswizard/wizard/journal"
)

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "mswizard",
		Short:         "Upgrade an iPlanet / Sun ONE Messaging Server, and back it out, as one journaled runbook",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{msg: err.Error()} })
	root.AddCommand(upgradeCmd(false), upgradeCmd(true), backoutCmd(), statusCmd(), resolveCmd(),
		answersCmd(), backupCmd(), ldifCmd(), diffCmd(), demoCmd(), simCmd(), versionCmd(),
		runCmd(), runbookCmd(), qmailSimCmd(), installerPtyCmd(), genManCmd())
	return root
}

func addCommon(cmd *cobra.Command, c *common, run bool) {
	f := cmd.Flags()
	f.StringVar(&c.answersPath, "answers", "", "answers file (install.inf); its [Wizard] StateDir names the state directory")
	f.StringVar(&c.stateDir, "state-dir", "", "state directory of the run (overrides StateDir)")
	f.StringVar(&c.output, "output", "text", "output format: text or json (versioned)")
	if run {
		f.BoolVar(&c.yes, "yes", false, "answer yes to every confirmation")
		f.BoolVar(&c.dryRun, "dry-run", false, "print exactly what would run, and change nothing")
		f.StringVar(&c.until, "until", "", "stop cleanly after this step (staged maintenance windows)")
		f.StringSliceVar(&c.skip, "skip", nil, "leave out these optional steps")
		f.StringSliceVar(&c.only, "only", nil, "run only these optional steps")
		f.BoolVar(&c.newRun, "new-run", false, "start a new run although the host holds archives or installer backups an earlier run left (they are kept, never overwritten)")
	}
}

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

// batchPrinter renders run events as text lines or JSON Lines.
func batchPrinter(out io.Writer, format string) func(wizard.Event) {
	enc := json.NewEncoder(out)
	lastProgress := map[string]time.Time{}
	return func(e wizard.Event) {
		if format == "json" {
			if e.Kind == wizard.EvProgress && time.Since(lastProgress[e.Step]) < time.Second {
				return
			}
			lastProgress[e.Step] = time.Now()
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
			if time.Since(lastProgress[e.Step]) >= 2*time.Second {
				lastProgress[e.Step] = time.Now()
				p := e.Progress
				fmt.Fprintf(out, "    ... %s %d/%d %s\n", e.Step, p.Done, p.Total, p.What)
			}
		case wizard.EvNote:
			fmt.Fprintf(out, "note: %s\n", e.Message)
		}
	}
}

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
				return printBackoutPlan(out, c.output, plan)
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

func statusCmd() *cobra.Command {
	c := &common{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the journal: done, in doubt, pending; the backups; what backout would do now",
		Args:  cobra.NoArgs,
		RunE: c.withSession(func(ctx context.Context, s *session, out io.Writer) error {
			return printStatus(ctx, s, c, out)
		}),
	}
	addCommon(cmd, c, false)
	return cmd
}

// StatusReport is the versioned JSON of `mswizard status`.
type StatusReport struct {
	Version  int                  `json:"version"`
	StateDir string               `json:"state_dir"`
	Holder   *journal.Holder      `json:"running,omitempty"`
	Steps    []statusStep         `json:"steps"`
	Backout  []wizard.BackoutStep `json:"backout"`
	Backups  json.RawMessage      `json:"backups,omitempty"`
	Report   string               `json:"report,omitempty"`
	// Host is what the steps read on the host now (the queue backup/queue
	// would save, the free space preflight/disk-space weighs), by their rules.
	Host map[string]wizard.Count `json:"host,omitempty"`
}

type statusStep struct {
	ID    string           `json:"id"`
	Node  string           `json:"node,omitempty"`
	State wizard.StepState `json:"state"`
	Note  string           `json:"note,omitempty"`
}

func printStatus(ctx context.Context, s *session, c *common, out io.Writer) error {
	recs, err := s.records()
	if err != nil {
		return err
	}
	st := wizard.Fold(recs)
	rep := StatusReport{Version: wizard.PlanVersion, StateDir: s.state}
	if h, ok := journal.LockHolder(s.state); ok {
		rep.Holder = &h
	}
	rep.Steps = statusSteps(s.steps, st)
	rep.Host = wizard.CountsOf(ctx, s.env, s.steps)
	r := &wizard.Runner{Steps: s.steps, Env: s.env}
	rep.Backout, _ = r.BackoutPlan(ctx, recs)
	if _, err := os.Stat(reportPath(s)); err == nil {
		rep.Report = reportPath(s)
	}
	var backups map[string]struct {
		Archive        string `json:"archive"`
		ManifestSHA256 string `json:"manifest_sha256"`
		Files          int64  `json:"files"`
		ArchiveSize    int64  `json:"archive_size"`
	}
	if b, err := os.ReadFile(filepath.Join(s.state, "backups.json")); err == nil && json.Unmarshal(b, &backups) == nil {
		rep.Backups = b
	}
	if c.output == "json" {
		return json.NewEncoder(out).Encode(rep)
	}
	fmt.Fprintf(out, "state directory: %s\n", rep.StateDir)
	if rep.Holder != nil {
		fmt.Fprintf(out, "running now: pid %d (user %s on %s, since %s)\n", rep.Holder.PID, rep.Holder.User, rep.Holder.Host, rep.Holder.Since.Format(time.RFC3339))
	}
	if st.BackedOut {
		fmt.Fprintln(out, "the last run was backed out")
	}
	nodes := nodeOrder(s.steps)
	for _, x := range rep.Steps {
		line := fmt.Sprintf("  %-10s %s", x.State, x.ID)
		if len(nodes) > 1 {
			line = fmt.Sprintf("  %-10s %-6s %s", x.State, x.Node, x.ID)
		}
		if x.Note != "" {
			line += "  — " + x.Note
		}
		fmt.Fprintln(out, line)
	}
	if len(nodes) > 1 {
		fmt.Fprintln(out, "per node:")
		for _, n := range nodes {
			fmt.Fprintf(out, "  %-6s %s\n", n, perNode(rep.Steps, n))
		}
	}
	if len(rep.Host) > 0 {
		fmt.Fprintln(out, "host now, as the steps read it:")
		for _, n := range slices.Sorted(maps.Keys(rep.Host)) {
			fmt.Fprintf(out, "  %-20s %s\n", n, countLine(rep.Host[n]))
		}
	}
	if len(rep.Backout) == 0 {
		fmt.Fprintln(out, "backout now: nothing to undo")
	} else {
		fmt.Fprintln(out, "backout now would undo, in this order:")
		for _, b := range rep.Backout {
			fmt.Fprintf(out, "  - %s (%d action(s))\n", b.ID, len(b.Actions))
		}
	}
	if len(backups) > 0 {
		fmt.Fprintln(out, "backups:")
		names := make([]string, 0, len(backups))
		for n := range backups {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			b := backups[n]
			fmt.Fprintf(out, "  %-12s %s (%d files, %d bytes, manifest sha256 %s)\n", n, b.Archive, b.Files, b.ArchiveSize, b.ManifestSHA256)
		}
	}
	if rep.Report != "" {
		fmt.Fprintf(out, "report: %s\n", rep.Report)
	}
	return nil
}

func resolveCmd() *cobra.Command {
	c := &common{}
	var retry, markDone bool
	cmd := &cobra.Command{
		Use:   "resolve STEP --retry|--mark-done",
		Short: "Decide an in-doubt action after a crash: run it again, or record that it completed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if retry == markDone {
				return usagef("give exactly one of --retry or --mark-done")
			}
			s, err := c.load(cmd.Context(), os.Stdin)
			if err != nil {
				return err
			}
			defer s.close()
			j, err := s.openJournal()
			if err != nil {
				return err
			}
			defer j.Close()
			r := &wizard.Runner{Steps: s.steps, Env: s.env, Journal: j}
			if retry && args[0] == "upgrade/run-installer" {
				// Never a second installer, nor a restore under the first.
				if err := steps.RefuseWhileInstallerRuns(s.cfg); err != nil {
					return err
				}
			}
			next := "upgrade"
			if s.rb != nil {
				next = "run " + s.rb.ref
			}
			if rec, ok := wizard.Fold(j.Records()).Steps[args[0]]; ok && rec.UndoInDoubt >= 0 {
				next = "backout"
			}
			if err := r.Resolve(args[0], markDone); err != nil {
				return usagef("%v", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "recorded; rerun `mswizard %s %s` to go on\n", next, c.sessionFlag(s))
			return nil
		},
	}
	addCommon(cmd, c, false)
	cmd.Flags().BoolVar(&retry, "retry", false, "the action did not take effect: run it again")
	cmd.Flags().BoolVar(&markDone, "mark-done", false, "the action completed: record it as done")
	return cmd
}

func answersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "answers", Short: "Work with answers files (install.inf)"}
	var rb string
	tmpl := &cobra.Command{
		Use:   "template [--runbook RUNBOOK]",
		Short: "Print a self-documenting install.inf (or, with --runbook, a runbook's answers): every key, its meaning and default",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rb != "" {
				return answersTemplate(cmd.OutOrStdout(), rb)
			}
			return answers.WriteTemplate(cmd.OutOrStdout())
		},
	}
	tmpl.Flags().StringVar(&rb, "runbook", "", "a shipped runbook id or a runbook file")
	cmd.AddCommand(tmpl)
	var syntaxOnly bool
	validate := &cobra.Command{
		Use:   "validate FILE",
		Short: "Check an answers file and list every problem with its line and fix",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ref, err := runbook.ReadRunbookName(args[0]); err == nil && ref != "" {
				return validateRunbookAnswers(cmd.OutOrStdout(), ref, args[0])
			}
			a, err := answers.Load(args[0], answers.LoadOptions{SkipFiles: syntaxOnly})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid (server root %s, instance %s, regime %s, %d export(s))\n", args[0], a.ServerRoot, a.Instance, a.Regime, len(a.Exports))
			return nil
		},
	}
	validate.Flags().BoolVar(&syntaxOnly, "syntax", false, "check only the file itself, not the secret files it references")
	cmd.AddCommand(validate)
	return cmd
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the wizard's version",
		Args:  cobra.NoArgs,
		Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintf(cmd.OutOrStdout(), "mswizard %s\n", version) },
	}
}

// statusSteps is the journal folded per step of the runbook, as status, the
// TUI's resume view and the report show it: the in-doubt note names the
// action that began and has no outcome.
func statusSteps(steps []wizard.Step, st *wizard.State) []statusStep {
	var out []statusStep
	for _, step := range steps {
		r := st.Step(step.ID())
		note := r.Why
		if r.State == wizard.StateInDoubt {
			note = fmt.Sprintf("action %d began and has no outcome: %s", r.InDoubt+1, r.InDoubtSummary)
		}
		if r.State == wizard.StateFailed {
			note = r.LastError
		}
		state := r.State
		if state != wizard.StateUndone && (len(r.UndoDone) > 0 || r.UndoInDoubt >= 0) {
			// A backout stopped inside this step: say so, it is neither done
			// nor undone, and `mswizard backout` finishes it.
			state = "undoing"
			note = fmt.Sprintf("a backout stopped inside this step (%d undo action(s) done); run `mswizard backout` to finish it", len(r.UndoDone))
		}
		out = append(out, statusStep{ID: step.ID(), Node: stepNode(step), State: state, Note: note})
	}
	return out
}

// countLine is a count as the step said it.
func countLine(c wizard.Count) string {
	if c.Value < 0 {
		return "unknown: " + c.Text
	}
	return c.Text
}

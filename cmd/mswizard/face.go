package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/charmbracelet/huh"

	"mswizard/internal/atomicfile"
	"mswizard/steps"
	"mswizard/wizard"
	"mswizard/wizard/answers"
	"mswizard/wizard/journal"
	"mswizard/wizard/tui"
)

// useTUI says whether the interactive face runs: only when stdin and stdout are
// terminals and the output is text.
func useTUI(c *common) bool {
	return c.output == "text" && isTerminal(os.Stdin) && isTerminal(os.Stdout) && os.Getenv("TERM") != ""
}

// runTUI runs the interactive face over the same engine as the batch face.
func runTUI(ctx context.Context, s *session, c *common) error {
	return runTUIMode(ctx, s, c, "upgrade")
}

// runTUIMode runs the interactive face for an upgrade or, with mode "backout", a
// backout. The plan is shown first; nothing runs until the operator starts it.
func runTUIMode(ctx context.Context, s *session, c *common, mode string) error {
	j, err := s.openJournal()
	if err != nil {
		return err
	}
	defer j.Close()
	s.rememberAnswers(j)
	r := &wizard.Runner{Steps: s.steps, Env: s.env, Journal: j, Opts: s.options(c)}
	runMode := func(mode string) func(ctx context.Context, events func(wizard.Event), ask func(context.Context, wizard.Question) (bool, error)) error {
		return func(ctx context.Context, events func(wizard.Event), ask func(context.Context, wizard.Question) (bool, error)) error {
			r.Events, r.Ask = recordFindings(s, events), ask
			var err error
			if mode == "backout" {
				err = r.Backout(ctx)
			} else {
				estimateBeforeRun(ctx, s, r)
				err = r.Apply(ctx)
			}
			// The report is written even after an abort, so it must not see the cancel.
			writeReport(context.WithoutCancel(ctx), s, j)
			return err
		}
	}
	o := tui.Options{
		Mode:       mode,
		What:       s.run.what(),
		StateDir:   s.state,
		ReportPath: reportPath(s),
		Plan:       func(ctx context.Context) (*wizard.PlanReport, error) { return planWithEstimate(ctx, s, r, j.Records()) },
		BackoutPlan: func(ctx context.Context) ([]wizard.BackoutStep, error) {
			return r.BackoutPlan(ctx, j.Records())
		},
		Run:     runMode(mode),
		Backout: runMode("backout"),
	}
	if mode != "backout" {
		o.Status = func() []tui.StatusLine { return statusLines(s, j.Records()) }
	}
	s.run.face(ctx, s, c, r, &o)
	return interrupted(ctx, tui.Run(ctx, o, os.Stdin, os.Stdout))
}

// interrupted makes a face that ended under a signal (SIGINT, SIGTERM, SIGHUP
// cancel ctx in main) end as interrupted, exit 130 — bubbletea ends its
// program on a cancelled context as if the operator had quit (FAULTS.md T2).
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() == nil || errors.Is(err, wizard.ErrInterrupted) {
		return err
	}
	if err == nil {
		return fmt.Errorf("%w: a signal ended the wizard; nothing was left half-done — rerun to continue", wizard.ErrInterrupted)
	}
	return fmt.Errorf("%w: %w", wizard.ErrInterrupted, err)
}

// runTUIWithoutAnswers starts the interactive face with no answers file: a
// form asks for what an answers file would say, checks it as the file is
// checked, saves it (0600, the password by reference) where the operator
// chooses, then runs on it like `upgrade --answers FILE`.
func runTUIWithoutAnswers(ctx context.Context, c *common) error {
	v := tui.DefaultAnswerValues()
	return askThenOpenTUI(ctx, c, func() (string, error) { return tui.AskAnswers(ctx, os.Stdin, os.Stdout, &v) })
}

// askThenOpenTUI runs an answers form (the upgrade's, or a runbook's) and, once
// it has saved the answers, opens the interactive face on them. A form the
// operator quits (ctrl+c) wrote nothing and ends the wizard without error; a
// signal ends it as interrupted.
func askThenOpenTUI(ctx context.Context, c *common, ask func() (string, error)) error {
	path, err := ask()
	if ctx.Err() != nil {
		// huh reports the cancel as its own error ("timeout"): the signal is
		// what ended the form.
		return interrupted(ctx, nil)
	}
	if errors.Is(err, huh.ErrUserAborted) {
		return nil // nothing was written, nothing ran
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "answers saved to %s\n", path)
	c.answersPath = path
	return openTUI(ctx, c)
}

// statusLines is what status shows per step (statusSteps), for the resume
// view; a step done or skipped needs no note there.
func statusLines(s *session, recs []journal.Record) []tui.StatusLine {
	var out []tui.StatusLine
	for _, x := range statusSteps(s.steps, wizard.Fold(recs)) {
		note := x.Note
		if x.State == wizard.StateDone || x.State == wizard.StateSkipped {
			note = ""
		}
		var ds []string
		for _, d := range x.Decisions {
			ds = append(ds, d.String())
		}
		out = append(out, tui.StatusLine{Step: x.ID, State: string(x.State), Note: note, Decisions: ds})
	}
	return out
}

// detect reads what the preflight screen shows: the server root and instance,
// the installed version (`imsimta version`) and the target, the regime,
// whether the user directory answers a bind, and — asked of the steps that act
// on them — the free space where the backups go and the messages in the queue.
// It only reads.
func detect(ctx context.Context, s *session, u *upgradeRun) *tui.Preflight {
	a, h := u.answers, u.cfg.Host
	p := &tui.Preflight{
		ServerRoot: a.ServerRoot, Instance: a.Instance, Target: a.TargetVersion, Regime: a.Regime,
		DirectoryURL: a.UserDirectoryLdapURL, BackupDir: a.BackupDir, QueueDir: h.QueueDir(),
	}
	if v := steps.InstalledVersion(ctx, u.cfg, s.env); v.Known() {
		p.Installed = v.String()
	} else {
		p.Installed = a.InstalledVersion + " (per the answers; the host's own version cannot be told: " + v.Why + ")"
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if conn, err := u.cfg.Directory.DialLDAP(dctx); err != nil {
		p.DirectoryErr = err.Error()
	} else {
		conn.Close()
	}
	counts := wizard.CountsOf(ctx, s.env, s.steps)
	p.Backup, p.Queue = counts[steps.CountBackupFree], counts[steps.CountQueueMessages]
	return p
}

// review is what a step of the runbook offers for review (the merge's
// conflicts), asked of the steps: the face neither names the step nor knows
// what it compares. Saving the decisions writes them into the answers and
// reloads the runbook, so the rerun goes on with them.
func review(s *session, c *common, r *wizard.Runner) *tui.Review {
	for _, st := range s.steps {
		p := wizard.Describe(st)
		if p.Review == nil {
			continue
		}
		id := p.ID
		return &tui.Review{Step: id, Title: "config diff",
			Load: func(ctx context.Context) (*wizard.Review, error) {
				for _, st := range s.steps { // the runbook may have been reloaded
					if p := wizard.Describe(st); p.ID == id && p.Review != nil {
						return p.Review(ctx, s.env)
					}
				}
				return nil, fmt.Errorf("the runbook no longer has step %s", id)
			},
			Save: func(ctx context.Context, ds []wizard.Decision) error {
				lines, err := steps.DecisionLines(ds)
				if err != nil {
					return err
				}
				if err := saveDecisions(s.answersFile(), lines); err != nil {
					return err
				}
				c2 := *c
				c2.answersPath = s.answersFile()
				s2, err := c2.load(ctx, os.Stdin)
				if err != nil {
					return err
				}
				s.run, s.steps = s2.run, s2.steps
				r.Steps, r.Opts = s.steps, s.options(c)
				return nil
			}}
	}
	return nil
}

// saveDecisions adds one `ConfigDecision = FILE KEY choice` line per decision
// at the end of [Wizard] of the answers file, atomically, keeping its mode and
// every other line (the operator's comments included).
func saveDecisions(path string, ds []string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("answers: %w", err)
	}
	var kvs []answers.KV
	for _, d := range ds {
		kvs = append(kvs, answers.KV{Key: "ConfigDecision", Value: d})
	}
	out := answers.AppendToSection(data, answers.Wiz, kvs)
	if _, err := answers.Parse(filepath.Base(path), out); err != nil {
		return fmt.Errorf("answers: adding the decisions would break %s: %w", path, err)
	}
	mode := os.FileMode(0o600)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	return atomicfile.WriteFile(path, out, mode)
}

// openTUI loads the session the answers describe, opens its log, and runs the
// interactive face on it.
func openTUI(ctx context.Context, c *common) error {
	s, err := c.load(ctx, os.Stdin)
	if err != nil {
		return err
	}
	defer s.close()
	// --until/--skip/--only name steps of the runbook, as in applyRun.
	if err := wizard.ValidateStepIDs(s.steps, s.options(c)); err != nil {
		return usagef("%v", err)
	}
	if err := s.openLog(); err != nil {
		return err
	}
	return runTUI(ctx, s, c)
}

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"mswizard/steps/node"
	"mswizard/steps/runbook"
	"mswizard/wizard/tui"
)

// runCmd is `mswizard run RUNBOOK`: a runbook file's run through the same
// engine, journal and faces as the upgrade.
func runCmd() *cobra.Command {
	c := &common{}
	cmd := &cobra.Command{
		Use:   "run RUNBOOK",
		Short: "Run a runbook (a shipped id or a runbook file): TUI on a terminal without --answers; batch otherwise; --dry-run prints the plan",
		Long: "Run a runbook (a shipped id or a runbook file) with its answers.\n\n" +
			"On a terminal without --answers, a form asks for the runbook's answers (its types, defaults and\n" +
			"ranges; a secret by the path of a 0600 file), checks them as an answers file is checked, saves\n" +
			"them (0600) where you choose and opens the TUI on them. Batch with --answers FILE (see\n" +
			"`mswizard answers template --runbook RUNBOOK`); --state-dir of a run in progress resumes it\n" +
			"(in the TUI on a terminal). `mswizard runbook list` names the shipped ones.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c.runbook = args[0]
			return runRunbook(cmd.Context(), c, cmd.OutOrStdout())
		},
	}
	addCommon(cmd, c, true)
	return cmd
}

func runRunbook(ctx context.Context, c *common, out io.Writer) error {
	if c.answersPath == "" && c.stateDir == "" {
		// As the upgrade: the form on a terminal; a plan needs answers.
		if useTUI(c) && !c.dryRun {
			rb, err := runbook.Load(c.runbook)
			if err != nil {
				return err
			}
			if runbook.IsFile(c.runbook) {
				// The saved answers name the runbook wherever they are used from.
				if abs, err := filepath.Abs(c.runbook); err == nil {
					c.runbook = abs
				}
			}
			return askThenOpenTUI(ctx, c, func() (string, error) {
				return tui.AskRunbookAnswers(ctx, os.Stdin, os.Stdout, runbookAnswers(rb, c.runbook))
			})
		}
		return usagef("no answers: give --answers FILE (`mswizard answers template --runbook %[1]s > FILE` writes one; on a terminal, `mswizard run %[1]s` alone asks for them), or --state-dir of a run in progress", c.runbook)
	}
	if _, err := runbook.Load(c.runbook); err != nil {
		return err
	}
	return applyRun(ctx, c, out)
}

// runbookAnswers describes the answers file of rb for the TUI's form: the
// [Runbook] keys a run needs, every answer the runbook declares (its help, type,
// range and default, a secret by reference), and a line per node its steps
// name. The form checks what it renders with the runbook's own check.
func runbookAnswers(rb *runbook.Runbook, ref string) *tui.RunbookAnswers {
	a := &tui.RunbookAnswers{
		Title: fmt.Sprintf("mswizard run %s — %s", rb.ID, rb.Title),
		Header: []string{
			fmt.Sprintf("Answers for the runbook %s: %s", rb.ID, rb.Title),
			fmt.Sprintf("Written by the form of `mswizard run %s`; again: mswizard run %s --answers THIS-FILE", ref, ref),
		},
		Check: func(data []byte) error { return checkRunbookAnswers(rb, data) },
		Path:  rb.ID + ".inf",
	}
	a.Fields = append(a.Fields,
		&tui.RunbookField{Section: runbook.Section, Key: "Runbook", Help: "the runbook: a shipped id or a runbook file", Value: ref, Fixed: true},
		&tui.RunbookField{Section: runbook.Section, Key: "StateDir", Help: "the state directory: journal, log, report, saved originals (an absolute path)", Value: "/var/lib/mswizard/" + rb.ID},
	)
	for _, s := range rb.Answers {
		f := &tui.RunbookField{Section: rb.ID, Key: s.Name, Help: answerHelp(s)}
		switch {
		case s.Type == runbook.TypeSecret:
			f.Key, f.Secret = s.Name+"_file", true
		case s.Type == runbook.TypeBool:
			f.Choices, f.Value = []string{"yes", "no"}, "no"
			if s.HasDefault && isYes(s.Default) {
				f.Value = "yes"
			}
		case s.Type == runbook.TypeChoice:
			f.Choices, f.Value = s.Choices, s.Default
		case s.HasDefault && strings.Contains(s.Default, "{{"):
			// A default naming other answers is the runbook's to resolve:
			// left empty, the key is not written.
			f.Default, f.HasDefault = s.Default, true
		case s.HasDefault:
			f.Default, f.HasDefault, f.Value = s.Default, true, s.Default
		}
		a.Fields = append(a.Fields, f)
	}
	for _, n := range runbook.NodeNames(rb) {
		a.Fields = append(a.Fields, &tui.RunbookField{Section: node.SectionNodes, Key: n,
			Help:        fmt.Sprintf("how to reach node %s over SSH", n),
			Placeholder: "address=HOST[:PORT] user=USER key=FILE|agent=yes known_hosts=FILE"})
	}
	return a
}

// answerHelp is an answer's help as the template writes it: its meaning, then
// its type, range and choices.
func answerHelp(s *runbook.AnswerSpec) string {
	h := fmt.Sprintf("%s (%s", s.Help, s.Type)
	if s.Min != nil || s.Max != nil {
		lo, hi := "", ""
		if s.Min != nil {
			lo = strconv.FormatInt(*s.Min, 10)
		}
		if s.Max != nil {
			hi = strconv.FormatInt(*s.Max, 10)
		}
		h += fmt.Sprintf(", %s..%s", lo, hi)
	}
	if len(s.Choices) > 0 {
		h += ": " + strings.Join(s.Choices, ", ")
	}
	return h + ")"
}

// isYes reads a bool answer's default the way the runbook writes it, for the
// form's yes/no choice; the form's value is checked by the runbook itself.
func isYes(s string) bool {
	switch strings.ToLower(s) {
	case "yes", "true", "1", "on":
		return true
	}
	return false
}

// checkRunbookAnswers checks an answers file's bytes for rb exactly as `run
// --answers FILE` checks the file: they are written to a temporary 0600 file
// and read with runbook.LoadValues.
func checkRunbookAnswers(rb *runbook.Runbook, data []byte) error {
	dir, err := os.MkdirTemp("", "mswizard-answers-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, rb.ID+".inf")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return err
	}
	_, err = runbook.LoadValues(rb, path)
	return err
}

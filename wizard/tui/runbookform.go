package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"

	"mswizard/internal/atomicfile"
	"mswizard/wizard/answers"
)

// RunbookField is one key a runbook's answers form asks for, described by the
// command that knows the runbook (the TUI imports no product package).
type RunbookField struct {
	Section string // the answers-file section the key goes in
	Key     string // the key written (a secret's is NAME_file)
	Help    string // what it means, its type and range, as the template says
	// Choices makes the field a choice among these (a bool is yes or no).
	Choices     []string
	Placeholder string
	// Default, when set, applies when the field is left empty: the key is then
	// not written, and the runbook resolves its default (which may name other
	// answers, as {{root}}/var/qmail does).
	Default    string
	HasDefault bool
	// Secret: the value is the path of a 0600 file that holds the secret, so
	// the saved answers hold no secret.
	Secret bool
	// Fixed keys are written but not asked (the runbook the answers are for).
	Fixed bool
	Value string
}

// RunbookAnswers is what the form over a runbook's answers needs: the fields in
// the order they are written, and the runbook's own check of an answers file.
type RunbookAnswers struct {
	Title  string   // shown above the fields: "qmail-daemontools — Move qmail ..."
	Header []string // comment lines at the top of the saved file
	Fields []*RunbookField
	// Check checks an answers file's bytes exactly as a file given with
	// --answers is checked; a problem with the file is an answers.Problems,
	// each at its line.
	Check func(data []byte) error
	// Path is where the form offers to save the answers.
	Path string
}

// Render writes the fields as an answers file, each key after a comment saying
// what it means; a field left empty that has a default is written as a
// commented-out key, so the runbook's default applies. A secret file's path is
// made absolute so the file means the same wherever it is saved.
func (a *RunbookAnswers) Render() []byte {
	var b strings.Builder
	for _, h := range a.Header {
		fmt.Fprintf(&b, "# %s\n", oneLine(h))
	}
	section := ""
	for _, f := range a.Fields {
		if f.Section != section {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			fmt.Fprintf(&b, "[%s]\n", f.Section)
			section = f.Section
		}
		if f.Help != "" {
			fmt.Fprintf(&b, "# %s\n", oneLine(f.Help))
		}
		v := strings.TrimSpace(f.Value)
		if v == "" && f.Secret {
			// Not "KEY =": the runbook then names the missing secret and how to give it.
			fmt.Fprintf(&b, "#%s =\n", f.Key)
			continue
		}
		if v == "" && f.HasDefault {
			fmt.Fprintf(&b, "# default: %s (uncomment to give another value)\n#%s =\n", oneLine(f.Default), f.Key)
			continue
		}
		if f.Secret && v != "" && !filepath.IsAbs(v) {
			if abs, err := filepath.Abs(v); err == nil {
				v = abs
			}
		}
		fmt.Fprintf(&b, "%s = %s\n", f.Key, oneLine(v))
	}
	return []byte(b.String())
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// RunbookProblems are the problems the runbook's check found in the rendered
// answers, each field's under it, the rest (a missing key, a whole-file
// problem) apart.
type RunbookProblems struct {
	Field map[*RunbookField][]string
	Other []string
}

func (p RunbookProblems) empty() bool { return len(p.Field) == 0 && len(p.Other) == 0 }

// String lists every problem, each named by its key: the lines of the file the
// form checks mean nothing to the operator.
func (p RunbookProblems) String(order []*RunbookField) string {
	var lines []string
	for _, f := range order {
		for _, m := range p.Field[f] {
			if strings.HasPrefix(m, f.Key) || strings.HasPrefix(m, "["+f.Section+"] "+f.Key) {
				lines = append(lines, m)
			} else {
				lines = append(lines, f.Key+": "+m)
			}
		}
	}
	return strings.Join(append(lines, p.Other...), "\n")
}

// Problems renders the fields (with override, when not nil, holding value
// instead of its own) and checks the file with the runbook's check. An error
// is one that is not about the answers (a check that could not run).
func (a *RunbookAnswers) Problems(override *RunbookField, value string) (RunbookProblems, error) {
	p := RunbookProblems{Field: map[*RunbookField][]string{}}
	if override != nil {
		saved := override.Value
		override.Value = value
		defer func() { override.Value = saved }()
	}
	data := a.Render()
	err := a.Check(data)
	if err == nil {
		return p, nil
	}
	var probs answers.Problems
	if !errors.As(err, &probs) {
		return p, err
	}
	at := map[int]*RunbookField{}
	if f, perr := answers.Parse("answers", data); perr == nil {
		for _, s := range f.Sections {
			for _, kv := range s.Keys {
				for _, fl := range a.Fields {
					if fl.Section == s.Name && fl.Key == kv.Key {
						at[kv.Line] = fl
					}
				}
			}
		}
	}
	for _, pr := range probs {
		if fl, ok := at[pr.Line]; ok && pr.Line > 0 {
			p.Field[fl] = append(p.Field[fl], pr.Msg)
		} else {
			p.Other = append(p.Other, pr.Msg)
		}
	}
	return p, nil
}

// validator checks one field as the file is checked, on its way out of the
// field: only that field's problems are shown there; the others, and what no
// single field causes, are shown when the form is done.
func (a *RunbookAnswers) validator(f *RunbookField) func(string) error {
	return func(s string) error {
		p, err := a.Problems(f, strings.TrimSpace(s))
		if err != nil {
			return err
		}
		if ms := p.Field[f]; len(ms) > 0 {
			return errors.New(strings.Join(ms, "; "))
		}
		return nil
	}
}

// fieldsPerGroup keeps a page of the form short (huh scrolls a page taller
// than the terminal).
const fieldsPerGroup = 5

// pages splits the asked fields into the form's pages: a page per section, at
// most fieldsPerGroup keys a page; fixed keys are not asked.
func (a *RunbookAnswers) pages() [][]*RunbookField {
	var out [][]*RunbookField
	var page []*RunbookField
	for _, f := range a.Fields {
		if f.Fixed {
			continue
		}
		if len(page) > 0 && (len(page) >= fieldsPerGroup || f.Section != page[0].Section) {
			out, page = append(out, page), nil
		}
		page = append(page, f)
	}
	if len(page) > 0 {
		out = append(out, page)
	}
	return out
}

// runbookForm is the form over a's fields; problems, when set, are shown first.
func runbookForm(a *RunbookAnswers, problems string) *huh.Form {
	var groups []*huh.Group
	if problems != "" {
		groups = append(groups, huh.NewGroup(huh.NewNote().Title("The answers have problems: fix them").Description(problems)))
	}
	intro := huh.NewNote().Title(a.Title).Description("No answers file was given: these are the keys it would hold.\nThey are checked as the file is, then saved (0600) and used for the run.")
	for i, page := range a.pages() {
		var fs []huh.Field
		if i == 0 {
			fs = append(fs, intro)
		}
		for _, f := range page {
			fs = append(fs, a.field(f))
		}
		groups = append(groups, huh.NewGroup(fs...))
	}
	return huh.NewForm(groups...)
}

// field is the huh field of one key: a choice, or a line of text checked as the
// file would check it.
func (a *RunbookAnswers) field(f *RunbookField) huh.Field {
	title := f.Key
	if f.Section != "" {
		title = "[" + f.Section + "] " + f.Key
	}
	desc := f.Help
	if f.HasDefault && !f.Secret {
		desc += "\nempty: the default " + f.Default
	}
	if f.Secret {
		desc += "\na path to a 0600 file holding it (never the secret itself)"
	}
	if len(f.Choices) > 0 {
		return huh.NewSelect[string]().Title(title).Description(desc).Options(huh.NewOptions(f.Choices...)...).Value(&f.Value)
	}
	in := huh.NewInput().Title(title).Description(desc).Value(&f.Value).Validate(a.validator(f))
	if f.Placeholder != "" {
		in = in.Placeholder(f.Placeholder)
	} else if f.HasDefault {
		in = in.Placeholder(f.Default)
	}
	return in
}

// formOn runs f on in and out. The wizard's context carries the signals
// (main): bubbletea's own handler is off, as in Run — with both, a SIGTERM
// that cancels the context first leaves bubbletea's handler blocked sending
// its quit to a program that has ended, and the form never returns.
func formOn(f *huh.Form, in io.Reader, out io.Writer, accessible bool) *huh.Form {
	return f.WithProgramOptions(tea.WithoutSignalHandler()).WithInput(in).WithOutput(out).WithAccessible(accessible)
}

// AskRunbookAnswers asks for a runbook's answers with a form until the
// runbook's check passes, then for a path to save them to, saves them there
// (0600, atomically) and returns the path. An aborted form returns
// huh.ErrUserAborted and writes nothing.
func AskRunbookAnswers(ctx context.Context, in io.Reader, out io.Writer, a *RunbookAnswers) (string, error) {
	check := func() (string, error) {
		p, err := a.Problems(nil, "")
		if err != nil || p.empty() {
			return "", err
		}
		return p.String(a.Fields), nil
	}
	save := func(abs string) error {
		if err := atomicfile.WriteFile(abs, a.Render(), 0o600); err != nil {
			return fmt.Errorf("answers: save %s: %w", abs, err)
		}
		return nil
	}
	return askAndSave(ctx, in, out, func(problems string) *huh.Form { return runbookForm(a, problems) }, check,
		a.Path, "a secret stays in its own file", save)
}

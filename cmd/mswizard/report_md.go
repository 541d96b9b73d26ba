package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"mswizard/wizard"
)

// renderMarkdown writes report.md: plain Markdown a reader takes in from the
// top (the verdict, how long mail was refused, the findings, the steps), the
// evidence after it, and what backout would do now. The step data as the
// journal holds it is in report.json, not here.
func renderMarkdown(w io.Writer, rep *runReport) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("# mswizard run report\n\nGenerated %s from the journal `%s`.\n\n", rep.Generated.Format(time.RFC3339), rep.Journal)
	if rep.BackedOut {
		p("**The run was backed out.** The steps below are what ran, and were undone.\n\n")
	}
	if rep.BackoutDecision != "" {
		p("Decision: %s\n\n", rep.BackoutDecision)
	}
	if !rep.Start.IsZero() {
		p("The journal covers %s to %s (%s).\n\n", rep.Start.Format("2006-01-02 15:04:05"), rep.End.Format("15:04:05"), fmtDur(rep.End.Sub(rep.Start)))
	}
	p("## Mail not accepted\n\n")
	switch w := rep.Window; {
	case w == nil:
		p("The dispatcher was not stopped: mail was accepted throughout.\n\n")
	case w.Open:
		p("**Mail is still refused**: the dispatcher stopped at %s and has not been started again (%s so far).\n\n", w.From.Format("15:04:05"), fmtDur(w.Length))
	default:
		p("**%s**: from %s (the dispatcher stopped) to %s (%s).\n\n", fmtDur(w.Length), w.From.Format("15:04:05"), w.To.Format("15:04:05"), w.Closer)
	}
	if e := rep.Estimated; e != nil {
		p("Estimated before the run: %s, from %s.\n\n", fmtDur(e.Estimate), e.Basis)
	}
	p("## Findings\n\n")
	if len(rep.Findings) == 0 {
		p("The preflight found nothing.\n\n")
	}
	for _, f := range rep.Findings {
		tag := string(f.Severity)
		if f.Waived {
			tag += ", waived"
		}
		p("- **%s** `%s`: %s", tag, f.ID, mdLine(f.Message))
		if f.Remediation != "" {
			p(" — fix: %s", mdLine(f.Remediation))
		}
		p("\n")
	}
	if len(rep.Findings) > 0 {
		p("\n")
	}
	if len(rep.Host) > 0 {
		p("## The host as the steps read it\n\nWhen this report was written, by the rules of the steps that act on it:\n\n")
		for _, c := range rep.Host {
			p("- `%s`: %s\n", c.Name, mdLine(c.Text))
		}
		p("\n")
	}
	writeNodesMD(w, rep)
	writeOperatorMD(w, rep)
	p("## Steps\n\n| step | state | started | took | estimated | note |\n|---|---|---|---|---|---|\n")
	for _, v := range rep.Steps {
		note := v.Note
		if len(v.Decisions) > 0 {
			note = strings.TrimSpace(note + " " + strings.Join(v.Decisions, "; "))
		}
		started, took := "", ""
		if !v.Start.IsZero() {
			started = v.Start.Format("15:04:05")
		}
		if v.Active > 0 {
			took = fmtDur(v.Active)
		}
		mark := ""
		if v.InWindow {
			mark = " ✉✗"
		}
		est := ""
		if v.Estimated > 0 {
			est = fmtDur(v.Estimated)
		}
		p("| `%s` | %s | %s%s | %s | %s | %s |\n", v.ID, v.State, started, mark, took, est, mdEscape(note))
	}
	if rep.Window != nil {
		p("\n✉✗ marks a step that started while mail was refused.\n")
	}
	p("\n## What ran, with its evidence\n")
	for _, v := range rep.Steps {
		if len(v.Evidence) == 0 && len(v.Decisions) == 0 {
			continue
		}
		p("\n### %s\n\n", v.ID)
		for _, d := range v.Decisions {
			p("- decision: %s\n", mdLine(d))
		}
		for _, e := range v.Evidence {
			p("- %s", mdLine(e.Summary))
			if c := e.Command; c != nil {
				p(" — exit %d in %s", c.ExitCode, fmtDur(c.Duration))
			} else if e.Duration > 0 {
				p(" — %s", fmtDur(e.Duration))
			}
			p("\n")
			if e.Note != "" {
				p("  - %s\n", mdLine(e.Note))
			}
			for _, f := range e.Facts {
				p("  - %s: %s\n", f.Key, mdLine(f.Value))
			}
			for _, f := range e.Files {
				if f.Missing {
					p("  - `%s`: no longer present (recorded %d bytes", f.Path, f.Size)
					if f.SHA256 != "" {
						p(", sha256 `%s`", f.SHA256)
					}
					p(")\n")
					continue
				}
				p("  - `%s`: %d bytes, sha256 `%s`\n", f.Path, f.Size, f.SHA256)
			}
			if len(e.Decisions) > 0 {
				p("\n  | file | item | decision |\n  |---|---|---|\n")
				for _, d := range e.Decisions {
					p("  | `%s` | `%s` | %s |\n", d.File, mdEscape(d.Key), d.Choice)
				}
				p("\n")
			}
			for _, c := range e.Checks {
				p("\n  %s:\n\n", c.Name)
				for _, l := range strings.Split(c.Text, "\n") {
					p("      %s\n", l)
				}
				p("\n")
			}
			if c := e.Command; c != nil && c.Tail != "" && c.ExitCode != 0 {
				p("\n  output (last lines):\n\n")
				for _, l := range lastLines(c.Tail, 15) {
					p("      %s\n", l)
				}
				p("\n")
			}
		}
	}
	p("\n## What backout would do now\n\n")
	writeBackoutMD(w, rep.Backout)
}

func writeBackoutMD(w io.Writer, bs []wizard.BackoutStep) {
	if len(bs) == 0 {
		fmt.Fprint(w, "Nothing: no step that changed anything is left to undo.\n")
	}
	for _, b := range bs {
		if len(b.Actions) == 0 {
			fmt.Fprintf(w, "- `%s`: nothing to undo\n", b.ID)
			continue
		}
		fmt.Fprintf(w, "- undo `%s`\n", b.ID)
		for _, a := range b.Actions {
			fmt.Fprintf(w, "  - %s\n", mdLine(a.Summary))
		}
	}
}

func lastLines(s string, n int) []string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return ls
}

// fmtDur rounds a duration for a reader: milliseconds under a second, tenths
// under a minute, seconds above.
func fmtDur(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// mdLine keeps a value on one Markdown line; a command or path in it is
// shown as code.
func mdLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if strings.HasPrefix(s, "/") {
		return "`" + strings.ReplaceAll(s, "`", "'") + "`"
	}
	return s
}

// writeNodesMD gives a run across nodes each node's part of it (issue 17: the
// report shows the run per node); a one-host run has no such table.
func writeNodesMD(w io.Writer, rep *runReport) {
	var nodes []string
	var ss []statusStep
	for _, v := range rep.Steps {
		if v.Node != "" && !slices.Contains(nodes, v.Node) {
			nodes = append(nodes, v.Node)
		}
		ss = append(ss, statusStep{ID: v.ID, Node: v.Node, State: v.State})
	}
	if len(nodes) < 2 {
		return
	}
	fmt.Fprintf(w, "## Nodes\n\n| node | steps |\n|---|---|\n")
	for _, n := range nodes {
		fmt.Fprintf(w, "| %s | %s |\n", n, perNode(ss, n))
	}
	fmt.Fprintf(w, "\n")
}

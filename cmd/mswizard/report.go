package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"mswizard/ldif/export"
	"mswizard/wizard"
	"mswizard/wizard/atomicfile"
	"mswizard/wizard/journal"
)

func reportPath(s *session) string { return filepath.Join(s.state, "report.md") }

// Report is the run report's JSON form (report.json beside report.md).
type Report struct {
	Version   int                  `json:"version"`
	Generated time.Time            `json:"generated"`
	StateDir  string               `json:"state_dir"`
	Journal   string               `json:"journal"`
	Steps     []reportStep         `json:"steps"`
	Backout   []wizard.BackoutStep `json:"backout_now"`
}

type reportStep struct {
	ID       string           `json:"id"`
	Node     string           `json:"node,omitempty"`
	State    wizard.StepState `json:"state"`
	Why      string           `json:"why,omitempty"`
	Error    string           `json:"error,omitempty"`
	Receipts []wizard.Receipt `json:"receipts,omitempty"`
}

// writeReport renders what the journal says ran, with its evidence, as Markdown
// and JSON in the state directory. It is written after every run and backout, so
// `mswizard status` can point at it; failures to write it are logged, not fatal.
func writeReport(ctx context.Context, s *session, j *journal.Journal) {
	recs := j.Records()
	st := wizard.Fold(recs)
	rep := Report{Version: wizard.PlanVersion, Generated: time.Now().UTC(), StateDir: s.state, Journal: j.Path()}
	for _, step := range s.steps {
		r := st.Step(step.ID())
		rep.Steps = append(rep.Steps, reportStep{ID: step.ID(), Node: stepNode(step), State: r.State, Why: r.Why, Error: r.LastError, Receipts: r.Receipts})
	}
	r := &wizard.Runner{Steps: s.steps, Env: s.env}
	rep.Backout, _ = r.BackoutPlan(ctx, recs)

	var b strings.Builder
	fmt.Fprintf(&b, "# mswizard run report\n\nGenerated %s from the journal `%s`.\n\n", rep.Generated.Format(time.RFC3339), rep.Journal)
	if st.BackedOut {
		b.WriteString("**The run was backed out.** The journal's earlier records show what was undone.\n\n")
	}
	nodes := nodeOrder(s.steps)
	if len(nodes) > 1 {
		// A run across nodes: each node's part of it, then every step with its node.
		b.WriteString("| node | steps |\n|---|---|\n")
		var ss []statusStep
		for _, x := range rep.Steps {
			ss = append(ss, statusStep{ID: x.ID, Node: x.Node, State: x.State})
		}
		for _, n := range nodes {
			fmt.Fprintf(&b, "| %s | %s |\n", n, perNode(ss, n))
		}
		b.WriteString("\n| step | node | state | note |\n|---|---|---|---|\n")
	} else {
		b.WriteString("| step | state | note |\n|---|---|---|\n")
	}
	for _, x := range rep.Steps {
		note := x.Why
		if x.Error != "" {
			note = "error: " + x.Error
		}
		if len(nodes) > 1 {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", x.ID, x.Node, x.State, mdEscape(note))
			continue
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", x.ID, x.State, mdEscape(note))
	}
	b.WriteString("\n## What ran, with its evidence\n")
	for _, x := range rep.Steps {
		if len(x.Receipts) == 0 {
			continue
		}
		if len(nodes) > 1 {
			fmt.Fprintf(&b, "\n### %s (on %s)\n\n", x.ID, x.Node)
		} else {
			fmt.Fprintf(&b, "\n### %s\n\n", x.ID)
		}
		for _, rc := range x.Receipts {
			fmt.Fprintf(&b, "- `%s`", rc.Summary)
			if rc.Command != nil {
				fmt.Fprintf(&b, " — exit %d in %s", rc.Command.ExitCode, rc.Command.Duration.Round(time.Millisecond))
			} else if rc.Duration > 0 {
				fmt.Fprintf(&b, " — %s", rc.Duration.Round(time.Millisecond))
			}
			b.WriteString("\n")
			for _, f := range rc.Files {
				fmt.Fprintf(&b, "  - `%s` %d bytes, sha256 `%s`\n", f.Path, f.Size, f.SHA256)
			}
			if rc.Note != "" {
				fmt.Fprintf(&b, "  - %s\n", rc.Note)
			}
			if len(rc.Data) > 0 && string(rc.Data) != "null" {
				fmt.Fprintf(&b, "  - data: `%s`\n", mdEscape(string(rc.Data)))
			}
		}
	}
	b.WriteString("\n## What backout would do now\n\n")
	if len(rep.Backout) == 0 {
		b.WriteString("Nothing: no step that changed anything is left to undo.\n")
	}
	for _, bs := range rep.Backout {
		fmt.Fprintf(&b, "- undo `%s`\n", bs.ID)
		for _, a := range bs.Actions {
			fmt.Fprintf(&b, "  - `%s`\n", a.Summary)
		}
	}
	js, _ := json.MarshalIndent(rep, "", "  ")
	for name, data := range map[string][]byte{"report.md": []byte(b.String()), "report.json": js} {
		if err := atomicfile.WriteFile(filepath.Join(s.state, name), data, 0o600); err != nil {
			s.env.Log.Error("report", "file", name, "err", err)
		}
	}
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// exportSpecs turns the answers' exports into export specs, dated today.
func exportSpecs(s *session) []export.Spec {
	date := time.Now().Format("20060102")
	var out []export.Spec
	for _, e := range s.answers.Exports {
		sc := export.ScopeSub
		switch e.Scope {
		case "base":
			sc = export.ScopeBase
		case "one":
			sc = export.ScopeOne
		}
		out = append(out, export.Spec{Name: e.Name, Base: e.Base, Scope: sc, Filter: e.Filter, Attributes: e.Attributes, File: strings.ReplaceAll(e.File, "DATE", date)})
	}
	return out
}

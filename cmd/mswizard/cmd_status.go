package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"mswizard/wizard"
	"mswizard/wizard/journal"
)

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
	// Waivers are the preflight inhibitors this run waived, and why.
	Waivers []journal.Decision `json:"waivers,omitempty"`
}

type statusStep struct {
	ID    string           `json:"id"`
	Node  string           `json:"node,omitempty"`
	State wizard.StepState `json:"state"`
	Note  string           `json:"note,omitempty"`
	// Decisions taken on the step (confirmations, waivers, resolutions,
	// configuration decisions), as the journal keeps them.
	Decisions []journal.Decision `json:"decisions,omitempty"`
	// Command is the failed (or in-doubt) action's command: the node it ran
	// on, its argv, exit code and output tail.
	Command *wizard.Result `json:"command,omitempty"`
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
	rep.Waivers = st.Waivers
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
		for _, d := range x.Decisions {
			fmt.Fprintf(out, "  %-10s   decided: %s\n", "", d)
		}
	}
	for _, w := range rep.Waivers {
		fmt.Fprintf(out, "waived: %s\n", w)
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
		var cmd *wizard.Result
		if (r.State == wizard.StateFailed || r.State == wizard.StateInDoubt) && r.LastReceipt != nil && r.LastReceipt.Command != nil {
			cmd = r.LastReceipt.Command
			note += " [" + commandOutcome(cmd) + "]"
		}
		state := r.State
		if state != wizard.StateUndone && (len(r.UndoDone) > 0 || r.UndoInDoubt >= 0) {
			// A backout stopped inside this step: say so, it is neither done
			// nor undone, and `mswizard backout` finishes it.
			state = "undoing"
			note = fmt.Sprintf("a backout stopped inside this step (%d undo action(s) done); run `mswizard backout` to finish it", len(r.UndoDone))
		}
		out = append(out, statusStep{ID: step.ID(), Node: stepNode(step), State: state, Note: note, Decisions: r.Decisions, Command: cmd})
	}
	return out
}

// commandOutcome says where a failed or in-doubt command ran and how it
// ended: "on node2: exit 1", "on node1: no exit status (connection lost)".
func commandOutcome(c *wizard.Result) string {
	where := "on the control host"
	if c.Node != "" {
		where = "on " + c.Node
	}
	if c.ExitCode < 0 {
		return where + ": no exit status came back"
	}
	return fmt.Sprintf("%s: exit %d", where, c.ExitCode)
}

// countLine is a count as the step said it.
func countLine(c wizard.Count) string {
	if c.Value < 0 {
		return "unknown: " + c.Text
	}
	return c.Text
}

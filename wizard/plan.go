package wizard

import (
	"context"
	"fmt"
	"strings"
	"time"

	"mswizard/wizard/journal"
)

// PlannedAction is one line of a plan.
type PlannedAction struct {
	Summary      string `json:"summary"`
	Irreversible string `json:"irreversible,omitempty"`
}

// PlannedStep is a step as a dry run sees it.
type PlannedStep struct {
	ID       string          `json:"id"`
	Title    string          `json:"title"`
	Journal  StepState       `json:"journal"`       // what the journal says
	Done     bool            `json:"goal_holds"`    // what Check says now
	Why      string          `json:"why,omitempty"` // Check's reason
	Actions  []PlannedAction `json:"actions"`       // empty when the goal holds
	NoReturn string          `json:"point_of_no_return,omitempty"`
	Optional bool            `json:"optional,omitempty"`
	LeftOut  bool            `json:"left_out,omitempty"`
	Error    string          `json:"error,omitempty"` // Check or Plan could not run
	Undo     string          `json:"undo,omitempty"`  // what backout would do for it
	// BackoutAfter is what a backout would do if the run stopped after this step,
	// newest first.
	BackoutAfter []string `json:"backout_after,omitempty"`
	// Estimate is how long its actions should take, when the runbook could
	// say (from measured sizes and rates); zero when unknown.
	Estimate time.Duration `json:"estimate_ns,omitempty"`
}

// PlanReport is the versioned result of a dry run.
type PlanReport struct {
	Version  int           `json:"version"`
	Steps    []PlannedStep `json:"steps"`
	Findings []Finding     `json:"findings"`
	// Downtime is the runbook's estimate of how long the service is down,
	// when it can make one.
	Downtime *Downtime `json:"downtime,omitempty"`
}

// Downtime is an estimated outage: from the start of step From to the end of
// step To, about Estimate, and what the estimate rests on.
type Downtime struct {
	What     string        `json:"what"` // e.g. "mail is refused"
	From     string        `json:"from_step"`
	To       string        `json:"to_step"`
	Estimate time.Duration `json:"estimate_ns"`
	Basis    string        `json:"basis"`
}

// PlanVersion is the JSON schema version of PlanReport and StatusReport.
const PlanVersion = 1

// Plan describes what Apply would do, without writing anything: it calls only the
// read-only Check, Plan and Findings of each step. recs is the journal as read
// (nil for a fresh run); steps the journal already completed show their state.
//
// It plans the whole run: each step is checked and planned against the host as
// the steps before it will have left it. The facts every earlier step
// establishes (journaled as done, found already true, or planned) are projected
// for the later ones (see Fact), so a plan made while the services run still
// shows the start after the installer.
func (r *Runner) Plan(ctx context.Context, recs []journal.Record) (*PlanReport, error) {
	r.Env.Nop()
	if err := ValidateStepIDs(r.Steps, r.Opts); err != nil {
		return nil, err
	}
	st := Fold(recs)
	rep := &PlanReport{Version: PlanVersion}
	phases := make([]Phase, len(r.Steps))
	for i, s := range r.Steps {
		phases[i] = Describe(s)
	}
	for _, p := range phases {
		if p.Preflight != nil && r.selectedPhase(p) {
			fs, err := p.Preflight(ctx, r.Env)
			if err != nil {
				rep.Findings = append(rep.Findings, Finding{ID: "PRE-READ-" + p.ID, Severity: Inhibitor, Message: err.Error(), Remediation: "make the host readable to the wizard"})
			}
			for _, f := range fs {
				if _, ok := r.Opts.Waivers[f.ID]; ok && f.Severity == Inhibitor {
					f.Waived = true
				}
				rep.Findings = append(rep.Findings, f)
			}
		}
	}
	env := r.Env.Project()
	var undos []backoutLine
	for i, p := range phases {
		rec := st.Step(p.ID)
		ps := PlannedStep{ID: p.ID, Title: p.Title, Journal: rec.State, Optional: p.Optional, NoReturn: p.NoReturn, Undo: p.UndoText}
		ps.LeftOut = !r.selectedPhase(p)
		if !ps.LeftOut && ps.Journal != StateDone && ps.Journal != StateSkipped {
			done, why, err := p.Check(ctx, env)
			ps.Done, ps.Why = done, why
			if err != nil {
				ps.Error = "check: " + err.Error()
			} else if !done {
				actions, err := p.Plan(ctx, env)
				if err != nil {
					ps.Error = "plan: " + err.Error()
				}
				for _, a := range actions {
					ps.Actions = append(ps.Actions, PlannedAction{Summary: a.Summary, Irreversible: a.Irreversible})
				}
			}
		}
		if !ps.LeftOut {
			// What this step leaves true holds for every later step, whether
			// the journal, the host or this plan says so.
			for _, f := range p.Establishes {
				env.project(f)
			}
		}
		if ps.Undo != "" && !strings.HasPrefix(ps.Undo, "nothing") && (len(ps.Actions) > 0 || rec.Ran()) {
			applied := rec.Applied
			if !rec.Ran() {
				applied = 1<<40 + int64(i) // planned: after everything journaled
			}
			undos = append(undos, backoutLine{text: p.ID + ": " + ps.Undo, item: backoutItem{key: p.Backout, applied: applied}})
		}
		ps.BackoutAfter = orderedBackout(undos)
		rep.Steps = append(rep.Steps, ps)
		if r.Opts.Until == p.ID {
			break
		}
	}
	return rep, nil
}

type backoutLine struct {
	text string
	item backoutItem
}

// orderedBackout lists the undos in the order a backout would run them.
func orderedBackout(ls []backoutLine) []string {
	items := make([]backoutItem, len(ls))
	for i, l := range ls {
		items[i] = l.item
	}
	var out []string
	for _, i := range backoutOrder(items) {
		t := ls[i].text
		if k := ls[i].item.key.String(); k != "" {
			t = "[" + k + "] " + t
		}
		out = append(out, t)
	}
	return out
}

// RenderPlan writes a plan as the text --dry-run prints.
func RenderPlan(rep *PlanReport) string {
	var b strings.Builder
	if len(rep.Findings) > 0 {
		b.WriteString("Preflight findings:\n")
		for _, f := range rep.Findings {
			tag := string(f.Severity)
			if f.Waived {
				tag += ", waived"
			}
			fmt.Fprintf(&b, "  [%s] %s: %s\n", tag, f.ID, f.Message)
			if f.Remediation != "" {
				fmt.Fprintf(&b, "      fix: %s\n", f.Remediation)
			}
		}
		b.WriteString("\n")
	}
	if d := rep.Downtime; d != nil {
		fmt.Fprintf(&b, "Downtime: %s for about %s (from %s to the end of %s).\n  Estimated from %s.\n\n", d.What, roundEstimate(d.Estimate), d.From, d.To, d.Basis)
	}
	b.WriteString("Plan (nothing has been run):\n")
	for i, s := range rep.Steps {
		fmt.Fprintf(&b, "\n%2d. %s — %s\n", i+1, s.ID, s.Title)
		switch {
		case s.LeftOut:
			b.WriteString("      left out (--skip/--only)\n")
			continue
		case s.Journal == StateDone || s.Journal == StateSkipped:
			fmt.Fprintf(&b, "      already %s in the journal\n", s.Journal)
			continue
		}
		if s.Estimate > 0 && len(s.Actions) > 0 {
			fmt.Fprintf(&b, "      about %s\n", roundEstimate(s.Estimate))
		}
		if s.NoReturn != "" {
			fmt.Fprintf(&b, "      !! POINT OF NO RETURN: %s\n", s.NoReturn)
		}
		if s.Error != "" {
			fmt.Fprintf(&b, "      cannot plan yet: %s\n", s.Error)
		}
		if s.Done {
			fmt.Fprintf(&b, "      nothing to do: %s\n", s.Why)
		}
		for _, a := range s.Actions {
			fmt.Fprintf(&b, "      $ %s\n", a.Summary)
			if a.Irreversible != "" {
				fmt.Fprintf(&b, "        (cannot be undone: %s)\n", a.Irreversible)
			}
		}
		if len(s.BackoutAfter) > 0 {
			b.WriteString("      if you stop after this step, backout will do:\n")
			for _, u := range s.BackoutAfter {
				fmt.Fprintf(&b, "        - %s\n", u)
			}
		}
	}
	return b.String()
}

// roundEstimate keeps an estimate as coarse as it is: whole seconds under a
// minute, whole minutes above.
func roundEstimate(d time.Duration) time.Duration {
	if d < time.Minute {
		return max(d.Round(time.Second), time.Second)
	}
	return d.Round(time.Minute)
}

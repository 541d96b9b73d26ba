package steps

import (
	"context"

	"mswizard/wizard"
)

// unit is a step assembled from functions, so each step of the runbook reads as
// one literal: its check, its plan and its undo side by side. The engine reads
// it as the wizard.Phase it describes (Phase), the one way a step is declared;
// unit only keeps the literals of this package short.
type unit struct {
	id, title string
	check     func(ctx context.Context, env *wizard.Env) (bool, string, error)
	plan      func(ctx context.Context, env *wizard.Env) ([]wizard.Action, error)
	undo      func(ctx context.Context, env *wizard.Env, rs []wizard.Receipt) ([]wizard.Action, error)
	undoText  string
	// optional steps may be left out with --skip/--only: an operator may have
	// taken the directory backup another way, or run a check by hand.
	optional bool
	// establishes is what holds once the step is done, for a whole-run plan.
	establishes []wizard.Fact
	// backout places the undo in the appendix's backout procedure.
	backout wizard.BackoutKey
	// review offers decisions to review (the merge's conflicts).
	review func(ctx context.Context, env *wizard.Env) (*wizard.Review, error)
	// counts is a read-only query the faces ask instead of counting themselves.
	counts func(ctx context.Context, env *wizard.Env) ([]wizard.Count, error)
}

// Phase is the step as the engine reads it.
func (u *unit) Phase() wizard.Phase {
	return wizard.Phase{
		ID: u.id, Title: u.title,
		Check: u.check, Plan: u.plan, Undo: u.undo, UndoText: u.undoText,
		Optional: u.optional, Establishes: u.establishes, Backout: u.backout,
		Review: u.review, Counts: u.counts,
	}
}

func (u *unit) ID() string    { return u.id }
func (u *unit) Title() string { return u.title }
func (u *unit) Check(ctx context.Context, env *wizard.Env) (bool, string, error) {
	return wizard.Describe(u).Check(ctx, env)
}
func (u *unit) Plan(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
	return wizard.Describe(u).Plan(ctx, env)
}
func (u *unit) Undo(ctx context.Context, env *wizard.Env, rs []wizard.Receipt) ([]wizard.Action, error) {
	return wizard.Describe(u).Undo(ctx, env, rs)
}

// preflight is a read-only step whose findings run before anything changes.
type preflight struct {
	unit
	findings func(ctx context.Context, env *wizard.Env) ([]wizard.Finding, error)
}

func newPreflight(id, title string, f func(ctx context.Context, env *wizard.Env) ([]wizard.Finding, error)) *preflight {
	p := &preflight{findings: f}
	p.unit = unit{id: id, title: title,
		check: func(context.Context, *wizard.Env) (bool, string, error) {
			return true, "read-only check; its findings ran first", nil
		},
		plan: func(context.Context, *wizard.Env) ([]wizard.Action, error) { return nil, nil }}
	return p
}

// withCounts gives a preflight a read-only query for the faces.
func withCounts(f func(ctx context.Context, env *wizard.Env) ([]wizard.Count, error), p *preflight) *preflight {
	p.counts = f
	return p
}

// Phase is the preflight as the engine reads it.
func (p *preflight) Phase() wizard.Phase {
	ph := p.unit.Phase()
	ph.Preflight = p.findings
	return ph
}

func (p *preflight) Findings(ctx context.Context, env *wizard.Env) ([]wizard.Finding, error) {
	return p.findings(ctx, env)
}

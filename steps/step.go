package steps

import (
	"context"

	"mswizard/wizard"
)

// unit is a step assembled from functions, so each step of the runbook reads as
// one literal: its check, its plan and its undo side by side.
type unit struct {
	id, title string
	check     func(ctx context.Context, env *wizard.Env) (bool, string, error)
	plan      func(ctx context.Context, env *wizard.Env) ([]wizard.Action, error)
	undo      func(ctx context.Context, env *wizard.Env, rs []wizard.Receipt) ([]wizard.Action, error)
	undoText  string
	// optional steps may be left out with --skip/--only: an operator may have
	// taken the directory backup another way, or run a check by hand.
	optional bool
}

func (u *unit) Optional() bool { return u.optional }

func (u *unit) ID() string    { return u.id }
func (u *unit) Title() string { return u.title }
func (u *unit) Check(ctx context.Context, env *wizard.Env) (bool, string, error) {
	if u.check == nil {
		return false, "always runs", nil
	}
	return u.check(ctx, env)
}
func (u *unit) Plan(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
	return u.plan(ctx, env)
}
func (u *unit) Undo(ctx context.Context, env *wizard.Env, rs []wizard.Receipt) ([]wizard.Action, error) {
	if u.undo == nil {
		return nil, nil
	}
	return u.undo(ctx, env, rs)
}
func (u *unit) UndoDescription() string { return u.undoText }

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

func (p *preflight) Findings(ctx context.Context, env *wizard.Env) ([]wizard.Finding, error) {
	return p.findings(ctx, env)
}

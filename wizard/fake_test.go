package wizard

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// fakeStep is a step whose effects are files in dir: action i of step S creates
// S.i and appends "S.i" to effects.log, so a test can see exactly what ran, and how
// often. Undo removes the files and logs "undo S.i".
type fakeStep struct {
	id       string
	dir      string
	n        int
	failAt   map[int]bool // action index -> fail once
	optional bool
	noReturn string
	nonIdem  bool
}

func (s *fakeStep) ID() string    { return s.id }
func (s *fakeStep) Title() string { return "fake " + s.id }

// Phase declares the fake as the engine reads it.
func (s *fakeStep) Phase() Phase {
	return Phase{ID: s.id, Title: s.Title(), Check: s.Check, Plan: s.Plan, Undo: s.Undo,
		UndoText: "remove the files of " + s.id, Optional: s.optional, NoReturn: s.noReturn}
}
func (s *fakeStep) file(i int) string {
	return filepath.Join(s.dir, strings.ReplaceAll(s.id, "/", "_")+fmt.Sprintf(".%d", i))
}

func (s *fakeStep) Check(ctx context.Context, env *Env) (bool, string, error) {
	for i := 0; i < s.n; i++ {
		if _, err := os.Stat(s.file(i)); err != nil {
			return false, fmt.Sprintf("%s missing", filepath.Base(s.file(i))), nil
		}
	}
	return true, "all files present", nil
}

func logEffect(dir, line string) error {
	f, err := os.OpenFile(filepath.Join(dir, "effects.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(line + "\n")
	if err == nil {
		err = f.Sync()
	}
	return err
}

func (s *fakeStep) Plan(ctx context.Context, env *Env) ([]Action, error) {
	var as []Action
	for i := 0; i < s.n; i++ {
		as = append(as, Action{
			Summary:    "create " + filepath.Base(s.file(i)),
			Idempotent: !s.nonIdem,
			Do: func(ctx context.Context, r *Receipt) error {
				if s.failAt[i] {
					delete(s.failAt, i)
					return errors.New("injected failure")
				}
				if err := logEffect(s.dir, fmt.Sprintf("%s.%d", s.id, i)); err != nil {
					return err
				}
				r.Note = "created"
				return os.WriteFile(s.file(i), []byte(s.id), 0o600)
			},
		})
	}
	return as, nil
}

func (s *fakeStep) Undo(ctx context.Context, env *Env, receipts []Receipt) ([]Action, error) {
	var as []Action
	for j := len(receipts) - 1; j >= 0; j-- {
		i := receipts[j].Action
		as = append(as, Action{
			Summary:    "remove " + filepath.Base(s.file(i)),
			Idempotent: true,
			Do: func(ctx context.Context, r *Receipt) error {
				if err := logEffect(s.dir, fmt.Sprintf("undo %s.%d", s.id, i)); err != nil {
					return err
				}
				err := os.Remove(s.file(i))
				if errors.Is(err, os.ErrNotExist) {
					return nil
				}
				return err
			},
		})
	}
	return as, nil
}

// noReturnStep is a fake step that is a point of no return (its noReturn).
type noReturnStep struct{ *fakeStep }

// bareStep is a Step that declares no Phase: the engine reads its five
// methods only.
type bareStep struct{ Step }

// preflightStep is a read-only step with findings.
type preflightStep struct {
	id       string
	findings []Finding
}

func (p *preflightStep) ID() string    { return p.id }
func (p *preflightStep) Title() string { return "preflight " + p.id }
func (p *preflightStep) Check(context.Context, *Env) (bool, string, error) {
	return true, "read-only check", nil
}
func (p *preflightStep) Plan(context.Context, *Env) ([]Action, error) { return nil, nil }
func (p *preflightStep) Undo(context.Context, *Env, []Receipt) ([]Action, error) {
	return nil, nil
}
func (p *preflightStep) Phase() Phase {
	return Phase{ID: p.id, Title: p.Title(), Check: p.Check,
		Preflight: func(context.Context, *Env) ([]Finding, error) { return p.findings, nil }}
}

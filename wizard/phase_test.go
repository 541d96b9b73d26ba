package wizard

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"mswizard/wizard/journal"
)

// effectPhase is a Phase whose one action creates the file id in dir and logs
// "id"; its undo logs "undo:id" and removes the file.
func effectPhase(dir, id string, key BackoutKey, facts ...Fact) Phase {
	file := filepath.Join(dir, strings.ReplaceAll(id, "/", "_"))
	return Phase{
		ID: id, Title: "effect " + id,
		Check: func(context.Context, *Env) (bool, string, error) {
			_, err := os.Stat(file)
			return err == nil, "present", nil
		},
		Plan: func(context.Context, *Env) ([]Action, error) {
			return []Action{{Summary: "do " + id, Idempotent: true, Do: func(context.Context, *Receipt) error {
				if err := logEffect(dir, id); err != nil {
					return err
				}
				return os.WriteFile(file, nil, 0o600)
			}}}, nil
		},
		Undo: func(context.Context, *Env, []Receipt) ([]Action, error) {
			return []Action{{Summary: "undo " + id, Idempotent: true, Do: func(context.Context, *Receipt) error {
				if err := logEffect(dir, "undo:"+id); err != nil {
					return err
				}
				return os.Remove(file)
			}}}, nil
		},
		UndoText:    "take back " + id,
		Backout:     key,
		Establishes: facts,
	}
}

const stopped Fact = "services-stopped"

// serviceWorld is a host whose services run while dir/running exists.
func serviceWorld(t *testing.T) (dir string, steps []Step) {
	dir = t.TempDir()
	running := filepath.Join(dir, "running")
	if err := os.WriteFile(running, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	up := func() bool { _, err := os.Stat(running); return err == nil }
	act := func(summary string, on bool) Action {
		return Action{Summary: summary, Idempotent: true, Do: func(context.Context, *Receipt) error {
			if on {
				return os.WriteFile(running, nil, 0o600)
			}
			return os.Remove(running)
		}}
	}
	stop := Phase{ID: "stop/services", Title: "stop",
		Check: func(context.Context, *Env) (bool, string, error) { return !up(), "the services are down", nil },
		Plan: func(context.Context, *Env) ([]Action, error) {
			return []Action{act("stop the services", false)}, nil
		},
		Establishes: []Fact{stopped},
	}
	// start reads the host, unless the plan projects the services stopped by
	// an earlier step.
	start := Phase{ID: "post/start", Title: "start",
		Check: func(_ context.Context, env *Env) (bool, string, error) {
			if env.Projected(stopped) {
				return false, "the services will be stopped by then", nil
			}
			return up(), "the services run", nil
		},
		Plan: func(context.Context, *Env) ([]Action, error) {
			return []Action{act("start the services", true)}, nil
		},
		Establishes: []Fact{Not(stopped)},
	}
	// after only plans while the services will be up.
	after := Phase{ID: "post/after", Title: "after", Optional: true,
		Check: func(_ context.Context, env *Env) (bool, string, error) {
			if env.Projected(stopped) {
				return true, "nothing to check while stopped", nil
			}
			return false, "", nil
		},
		Plan: func(context.Context, *Env) ([]Action, error) {
			return []Action{{Summary: "check the running services", Do: func(context.Context, *Receipt) error { return nil }}}, nil
		},
	}
	mid := effectPhase(dir, "backup/mid", BackoutKey{})
	mid.Optional = true
	return dir, []Step{stop.Step(), mid.Step(), start.Step(), after.Step()}
}

func plannedSummaries(rep *PlanReport) []string {
	var out []string
	for _, s := range rep.Steps {
		for _, a := range s.Actions {
			out = append(out, s.ID+": "+a.Summary)
		}
	}
	return out
}

func journaledSummaries(t *testing.T, state string) []string {
	t.Helper()
	recs, err := journal.Read(state)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		if r.Kind == journal.KindDone {
			out = append(out, r.Step+": "+r.Summary)
		}
	}
	return out
}

// A whole-run plan made while the services run shows the start after the
// stop (the start step sees the projection, not the host), and it is exactly
// what the run then journals.
func TestPlanProjectsWhatEarlierStepsEstablish(t *testing.T) {
	dir, steps := serviceWorld(t)
	state := t.TempDir()
	r := &Runner{Steps: steps, Env: &Env{Root: dir, StateDir: state}}
	rep, err := r.Plan(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"stop/services: stop the services", "backup/mid: do backup/mid", "post/start: start the services", "post/after: check the running services"}
	if got := plannedSummaries(rep); !slices.Equal(got, want) {
		t.Fatalf("plan = %q\nwant %q", got, want)
	}
	j, err := journal.Open(state, journal.Options{Run: "test"})
	if err != nil {
		t.Fatal(err)
	}
	r.Journal = j
	if err := r.Apply(t.Context()); err != nil {
		t.Fatal(err)
	}
	j.Close()
	if got := journaledSummaries(t, state); !slices.Equal(got, want) {
		t.Fatalf("journaled %q\nplanned  %q", got, want)
	}
}

// A step's Check and Plan outside a whole-run plan read the host: no fact is
// projected in a run or for a single step.
func TestProjectionIsEmptyOutsideAPlan(t *testing.T) {
	env := &Env{}
	if env.Projected(stopped) {
		t.Fatal("a fresh Env projects a fact")
	}
	p := env.Project(stopped)
	if !p.Projected(stopped) || env.Projected(stopped) {
		t.Fatal("Project must return a copy that projects the fact and leave the original alone")
	}
	if p.Project(Not(stopped)).Projected(stopped) {
		t.Fatal("Not(f) must end the projection of f")
	}
}

// A half-done run plans exactly the remaining actions: the journal's done
// steps still establish their facts for the steps after them.
func TestPlanOfAHalfDoneRunShowsTheRemainingActions(t *testing.T) {
	dir, steps := serviceWorld(t)
	state := t.TempDir()
	j, err := journal.Open(state, journal.Options{Run: "test"})
	if err != nil {
		t.Fatal(err)
	}
	r := &Runner{Steps: steps, Env: &Env{Root: dir, StateDir: state}, Journal: j, Opts: Options{Until: "backup/mid"}}
	if err := r.Apply(t.Context()); err != nil {
		t.Fatal(err)
	}
	j.Close()
	recs, _ := journal.Read(state)
	r.Opts = Options{}
	rep, err := r.Plan(t.Context(), recs)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"post/start: start the services", "post/after: check the running services"}
	if got := plannedSummaries(rep); !slices.Equal(got, want) {
		t.Fatalf("plan of the rest = %q, want %q", got, want)
	}
}

// A step left out with --skip establishes nothing: the plan does not assume
// what it would have done.
func TestALeftOutStepEstablishesNothing(t *testing.T) {
	dir, steps := serviceWorld(t)
	// backup/mid, when it runs, stops the services too (as a store move would
	// need); left out, post/start must read the host.
	p := Describe(steps[1])
	p.Establishes = []Fact{stopped}
	steps = []Step{p.Step(), steps[2]}
	r := &Runner{Steps: steps, Env: &Env{Root: dir}, Opts: Options{Skip: []string{"backup/mid"}}}
	rep, err := r.Plan(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := plannedSummaries(rep); len(got) != 0 {
		t.Fatalf("plan = %q, want nothing (services run, the stopping step is left out)", got)
	}
	r.Opts = Options{}
	rep, _ = r.Plan(t.Context(), nil)
	if got := plannedSummaries(rep); !slices.Contains(got, "post/start: start the services") {
		t.Fatalf("plan = %q, want the start once the step that stops runs", got)
	}
}

// A step is declared as a Phase, hooks and all; a Step that declares none
// offers the engine its ID, title, check, plan and undo, nothing more.
func TestDescribeReadsTheDeclaredPhaseAndOnlyTheMethodsOfABareStep(t *testing.T) {
	dir := t.TempDir()
	fake := &fakeStep{id: "upgrade/x", dir: dir, n: 1, optional: true, noReturn: "no way back"}
	if p := Describe(fake); p.ID != "upgrade/x" || !p.Optional || p.NoReturn != "no way back" || p.UndoText == "" || p.Preflight != nil {
		t.Fatalf("declared step described as %+v", p)
	}
	bp := Describe(bareStep{fake})
	if bp.ID != "upgrade/x" || bp.Title != fake.Title() || bp.Optional || bp.NoReturn != "" || bp.UndoText != "" || bp.Check == nil || bp.Plan == nil || bp.Undo == nil {
		t.Fatalf("bare step described as %+v", bp)
	}
	ph := Phase{ID: "preflight/y", Title: "y", Preflight: func(context.Context, *Env) ([]Finding, error) {
		return []Finding{{ID: "PRE-Y-001", Severity: Inhibitor}}, nil
	}}
	s := ph.Step()
	d := Describe(s)
	if d.Preflight == nil || d.Check == nil || d.Plan == nil || d.Undo == nil {
		t.Fatal("a described Phase must have its hooks and default Check, Plan and Undo")
	}
	if done, why, _ := d.Check(t.Context(), &Env{}); done || why == "" {
		t.Fatalf("a Phase without Check always runs: %v %q", done, why)
	}
	state := t.TempDir()
	j, _ := journal.Open(state, journal.Options{Run: "test"})
	defer j.Close()
	err := (&Runner{Steps: []Step{s}, Env: &Env{}, Journal: j}).Apply(t.Context())
	var ie *InhibitorError
	if !errors.As(err, &ie) || ie.Findings[0].ID != "PRE-Y-001" {
		t.Fatalf("a Phase's preflight must run as a preflight: %v", err)
	}
}

// The engine's Env carries no product type: a directory connection comes from
// the configuration of the steps that need one.
func TestEnvHoldsNoLDAPType(t *testing.T) {
	ty := reflect.TypeOf(Env{})
	for i := 0; i < ty.NumField(); i++ {
		f := ty.Field(i)
		if strings.Contains(strings.ToLower(f.Name), "ldap") || strings.Contains(f.Type.String(), "ldap") {
			t.Errorf("Env.%s (%s) is an LDAP type", f.Name, f.Type)
		}
	}
}

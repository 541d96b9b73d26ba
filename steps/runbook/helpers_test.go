package runbook

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"mswizard/steps/node"
	"mswizard/wizard"
	"mswizard/wizard/answers"
	"mswizard/wizard/journal"
)

func localNodes() map[string]node.Node { return map[string]node.Node{"local": node.Local{}} }

// world is one test's runbook, answers and state directory.
type world struct {
	t     *testing.T
	dir   string
	state string
	steps map[string]wizard.Step
	order []wizard.Step
	env   *wizard.Env
	vals  *Values
	rb    *Runbook
}

// newWorld builds the steps of a runbook whose steps are stepsYAML, with the
// answers root (= a temp dir) and name plus extra answers.
func newWorld(t *testing.T, answersYAML, stepsYAML, ini string) *world {
	t.Helper()
	dir := t.TempDir()
	src := "id: t\ntitle: test\nanswers:\n  root: {type: path, help: r}\n" + answersYAML + "steps:\n" + stepsYAML
	rb, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, src)
	}
	f, err := answers.Parse("t.inf", []byte("[t]\nroot = "+dir+"\n"+ini))
	if err != nil {
		t.Fatal(err)
	}
	v, err := valuesFrom(rb, f, dir, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, dir: dir, state: filepath.Join(dir, "state"), steps: map[string]wizard.Step{}, vals: v, rb: rb}
	steps, err := Build(rb, v, Options{StateDir: w.state, Nodes: localNodes()})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		w.steps[s.ID()] = s
	}
	w.order = steps
	var out []string
	w.env = (&wizard.Env{Root: "/", StateDir: w.state, Output: func(_, l string) { out = append(out, l) }}).Nop()
	return w
}

func (w *world) step(id string) wizard.Step {
	s, ok := w.steps[id]
	if !ok {
		w.t.Fatalf("no step %s", id)
	}
	return s
}

// kind is the kind behind a step on the control host, for tests that stop
// between its parts.
func (w *world) kind(id string) kind {
	w.t.Helper()
	for _, s := range w.rb.Steps {
		if s.ID == id {
			k, err := buildKind(s, w.vals, Options{StateDir: w.state, Nodes: localNodes()})
			if err != nil {
				w.t.Fatal(err)
			}
			return k
		}
	}
	w.t.Fatalf("no step %s", id)
	return nil
}

func (w *world) check(id string) (bool, string) {
	w.t.Helper()
	done, why, err := w.step(id).Check(context.Background(), w.env)
	if err != nil {
		w.t.Fatalf("%s check: %v", id, err)
	}
	return done, why
}

func (w *world) plan(id string) []wizard.Action {
	w.t.Helper()
	as, err := w.step(id).Plan(context.Background(), w.env)
	if err != nil {
		w.t.Fatalf("%s plan: %v", id, err)
	}
	return as
}

// apply runs the step's plan and returns the receipts.
func (w *world) apply(id string) []wizard.Receipt {
	w.t.Helper()
	var rcs []wizard.Receipt
	for i, a := range w.plan(id) {
		rc := wizard.Receipt{Step: id, Action: i, Summary: a.Summary}
		if err := a.Do(context.Background(), &rc); err != nil {
			w.t.Fatalf("%s action %d (%s): %v", id, i, a.Summary, err)
		}
		rcs = append(rcs, rc)
	}
	return rcs
}

func (w *world) undo(id string, rcs []wizard.Receipt) []wizard.Action {
	w.t.Helper()
	as, err := w.step(id).Undo(context.Background(), w.env, rcs)
	if err != nil {
		w.t.Fatalf("%s undo plan: %v", id, err)
	}
	for i, a := range as {
		rc := wizard.Receipt{Step: id, Action: i, Summary: a.Summary}
		if err := a.Do(context.Background(), &rc); err != nil {
			w.t.Fatalf("%s undo %d (%s): %v", id, i, a.Summary, err)
		}
	}
	return as
}

func (w *world) path(rel string) string { return filepath.Join(w.dir, rel) }

func (w *world) write(rel, content string, mode os.FileMode) {
	w.t.Helper()
	if err := os.MkdirAll(filepath.Dir(w.path(rel)), 0o755); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(w.path(rel), []byte(content), mode); err != nil {
		w.t.Fatal(err)
	}
	if err := os.Chmod(w.path(rel), mode); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) read(rel string) string {
	w.t.Helper()
	b, err := os.ReadFile(w.path(rel))
	if err != nil {
		w.t.Fatal(err)
	}
	return string(b)
}

func nodeCommand(argv []string) node.Command { return node.Command{Argv: argv} }

func secretOf(s string) answers.Secret { return answers.NewSecret(s) }

// runner is the engine over steps (the world's, in runbook order, when nil)
// and the world's journal, as `mswizard run` builds it; done closes the
// journal.
func (w *world) runner(steps []wizard.Step, o wizard.Options) (*wizard.Runner, func()) {
	w.t.Helper()
	if steps == nil {
		steps = w.order
	}
	j, err := journal.Open(w.state, journal.Options{Run: "test"})
	if err != nil {
		w.t.Fatal(err)
	}
	return &wizard.Runner{Steps: steps, Env: &wizard.Env{Root: "/", StateDir: w.state}, Journal: j, Opts: o}, func() { j.Close() }
}

// crashIn journals the begin of a step's action with no outcome, as a
// wizard killed during it leaves the journal.
func (w *world) crashIn(id string, action int) {
	w.t.Helper()
	as := w.plan(id)
	j, err := journal.Open(w.state, journal.Options{Run: "killed"})
	if err != nil {
		w.t.Fatal(err)
	}
	defer j.Close()
	if _, err := j.Append(journal.Record{Kind: journal.KindRunStart, Note: "apply"}); err != nil {
		w.t.Fatal(err)
	}
	if _, err := j.Append(journal.Record{Kind: journal.KindBegin, Step: id, Action: action, Summary: as[action].Summary}); err != nil {
		w.t.Fatal(err)
	}
}

// stateOf is what the journal says of a step.
func (w *world) stateOf(id string) *wizard.StepRecord {
	w.t.Helper()
	recs, err := journal.Read(w.state)
	if err != nil {
		w.t.Fatal(err)
	}
	return wizard.Fold(recs).Step(id)
}

package wizard

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mswizard/wizard/journal"
)

func fakeRunbook(dir string) []Step {
	return []Step{
		&preflightStep{id: "preflight/fake", findings: []Finding{{ID: "PRE-FAKE-001", Severity: Warning, Message: "just so", Remediation: "none"}}},
		&fakeStep{id: "stop/a", dir: dir, n: 2},
		&fakeStep{id: "backup/b", dir: dir, n: 3},
		&fakeStep{id: "upgrade/c", dir: dir, n: 1, optional: true},
		&fakeStep{id: "post/d", dir: dir, n: 2},
	}
}

type harness struct {
	dir, state string
	steps      []Step
	events     []Event
}

func newHarness(t *testing.T) *harness {
	h := &harness{dir: t.TempDir(), state: t.TempDir()}
	h.steps = fakeRunbook(h.dir)
	return h
}

func (h *harness) runner(t *testing.T, o Options) (*Runner, func()) {
	t.Helper()
	j, err := journal.Open(h.state, journal.Options{Run: "test"})
	if err != nil {
		t.Fatal(err)
	}
	r := &Runner{Steps: h.steps, Env: &Env{Root: h.dir, StateDir: h.state}, Journal: j, Opts: o,
		Events: func(e Event) { h.events = append(h.events, e) }}
	return r, func() { j.Close() }
}

func (h *harness) apply(t *testing.T, o Options) error {
	r, done := h.runner(t, o)
	defer done()
	return r.Apply(context.Background())
}

func (h *harness) effects(t *testing.T) []string {
	b, err := os.ReadFile(filepath.Join(h.dir, "effects.log"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(strings.ReplaceAll(string(b), "undo ", "undo:"))
}

var fullRun = []string{"stop/a.0", "stop/a.1", "backup/b.0", "backup/b.1", "backup/b.2", "upgrade/c.0", "post/d.0", "post/d.1"}

func TestApplyRunsStepsInRunbookOrder(t *testing.T) {
	h := newHarness(t)
	if err := h.apply(t, Options{}); err != nil {
		t.Fatal(err)
	}
	if got := h.effects(t); !slices.Equal(got, fullRun) {
		t.Fatalf("effects = %v\nwant %v", got, fullRun)
	}
	var started []string
	for _, e := range h.events {
		if e.Kind == EvStepStart {
			started = append(started, e.Step)
		}
	}
	if want := []string{"preflight/fake", "stop/a", "backup/b", "upgrade/c", "post/d"}; !slices.Equal(started, want) {
		t.Fatalf("started %v, want %v", started, want)
	}
}

func TestApplySkipsAStepWhoseCheckSaysDoneAndJournalsWhy(t *testing.T) {
	h := newHarness(t)
	os.WriteFile(filepath.Join(h.dir, "backup_b.0"), nil, 0o600)
	os.WriteFile(filepath.Join(h.dir, "backup_b.1"), nil, 0o600)
	os.WriteFile(filepath.Join(h.dir, "backup_b.2"), nil, 0o600)
	if err := h.apply(t, Options{}); err != nil {
		t.Fatal(err)
	}
	for _, e := range h.effects(t) {
		if strings.HasPrefix(e, "backup/b") {
			t.Fatalf("skipped step ran: %v", h.effects(t))
		}
	}
	recs, _ := journal.Read(h.state)
	st := Fold(recs)
	if s := st.Step("backup/b"); s.State != StateSkipped || s.Why != "all files present" {
		t.Fatalf("backup/b = %+v", s)
	}
}

func TestResumeAfterAFailureAtEveryActionIndexContinuesWhereItStopped(t *testing.T) {
	for k := range fullRun {
		t.Run(fullRun[k], func(t *testing.T) {
			h := newHarness(t)
			// Inject a failure at global action k.
			n := 0
			for _, s := range h.steps {
				fs, ok := s.(*fakeStep)
				if !ok {
					continue
				}
				for i := 0; i < fs.n; i++ {
					if n == k {
						fs.failAt = map[int]bool{i: true}
					}
					n++
				}
			}
			err := h.apply(t, Options{})
			var se *StepError
			if !errors.As(err, &se) {
				t.Fatalf("first run: err = %v, want *StepError", err)
			}
			if !strings.Contains(se.Error(), "injected failure") || se.Next == "" {
				t.Errorf("step error does not say what failed and what next: %v", se)
			}
			if err := h.apply(t, Options{}); err != nil {
				t.Fatalf("rerun: %v", err)
			}
			if got := h.effects(t); !slices.Equal(got, fullRun) {
				t.Fatalf("effects = %v\nwant each exactly once: %v", got, fullRun)
			}
		})
	}
}

func TestInDoubtAction(t *testing.T) {
	cases := []struct {
		name       string
		nonIdem    bool
		effectDone bool // the in-doubt action's effect happened before the crash
		wantErr    bool
		wantRuns   int // how often backup/b.0 appears in the effects log at the end
	}{
		{"an idempotent action is simply run again", false, false, false, 1},
		{"a non-idempotent action whose effect is visible to Check is recorded done", true, true, false, 0},
		{"a non-idempotent action Check cannot confirm stops with a decision", true, false, true, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			b := h.steps[2].(*fakeStep)
			b.nonIdem = c.nonIdem
			b.n = 1
			// Journal a begin without an outcome, as a crash would leave it.
			j, err := journal.Open(h.state, journal.Options{})
			if err != nil {
				t.Fatal(err)
			}
			j.Append(journal.Record{Kind: journal.KindBegin, Step: "backup/b", Action: 0, Summary: "create backup_b.0"})
			j.Close()
			if c.effectDone {
				os.WriteFile(filepath.Join(h.dir, "backup_b.0"), nil, 0o600)
			}
			err = h.apply(t, Options{})
			var de *DecisionError
			if c.wantErr {
				if !errors.As(err, &de) || len(de.Choices) != 3 {
					t.Fatalf("err = %v, want a DecisionError with three choices", err)
				}
				// The operator says retry: the next run does it.
				r, done := h.runner(t, Options{})
				if err := r.Resolve("backup/b", false); err != nil {
					t.Fatal(err)
				}
				done()
				if err := h.apply(t, Options{}); err != nil {
					t.Fatalf("after resolve: %v", err)
				}
				c.wantRuns = 1
			} else if err != nil {
				t.Fatal(err)
			}
			runs := 0
			for _, e := range h.effects(t) {
				if e == "backup/b.0" {
					runs++
				}
			}
			if runs != c.wantRuns {
				t.Fatalf("backup/b.0 ran %d times, want %d (%v)", runs, c.wantRuns, h.effects(t))
			}
		})
	}
}

func TestBackoutUndoesInReverseOrderOfApplicationFromTheJournal(t *testing.T) {
	h := newHarness(t)
	// Apply post/d's files first by a run limited with --until after stop/a, then
	// reorder: the journal, not the runbook, decides.
	if err := h.apply(t, Options{Until: "backup/b"}); err != nil {
		t.Fatal(err)
	}
	r, done := h.runner(t, Options{Yes: true})
	err := r.Backout(context.Background())
	done()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"stop/a.0", "stop/a.1", "backup/b.0", "backup/b.1", "backup/b.2",
		"undo:backup/b.2", "undo:backup/b.1", "undo:backup/b.0", "undo:stop/a.1", "undo:stop/a.0"}
	if got := h.effects(t); !slices.Equal(got, want) {
		t.Fatalf("effects = %v\nwant %v", got, want)
	}
	// A second backout has nothing to undo and says so.
	r, done = h.runner(t, Options{Yes: true})
	defer done()
	if err := r.Backout(context.Background()); !errors.Is(err, ErrNothingToUndo) {
		t.Fatalf("second backout: %v", err)
	}
	// After a backout a new run starts from the beginning.
	if err := r.Apply(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "post_d.1")); err != nil {
		t.Fatal("new run after backout did not complete")
	}
}

func TestBackoutSkipsStepsThatFoundTheirGoalAlreadyTrue(t *testing.T) {
	h := newHarness(t)
	os.WriteFile(filepath.Join(h.dir, "stop_a.0"), nil, 0o600)
	os.WriteFile(filepath.Join(h.dir, "stop_a.1"), nil, 0o600)
	if err := h.apply(t, Options{Until: "backup/b"}); err != nil {
		t.Fatal(err)
	}
	r, done := h.runner(t, Options{Yes: true})
	defer done()
	recs := r.Journal.Records()
	plan, err := r.BackoutPlan(context.Background(), recs)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan) != 1 || plan[0].ID != "backup/b" {
		t.Fatalf("backout plan = %+v, want only backup/b", plan)
	}
}

func TestBackoutNeedsAConfirmationInBatchWithoutYes(t *testing.T) {
	h := newHarness(t)
	h.apply(t, Options{Until: "stop/a"})
	r, done := h.runner(t, Options{})
	defer done()
	var de *DecisionError
	if err := r.Backout(context.Background()); !errors.As(err, &de) {
		t.Fatalf("err = %v, want DecisionError", err)
	}
}

func treeHash(t *testing.T, dirs ...string) string {
	h := sha256.New()
	for _, d := range dirs {
		filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, _ := e.Info()
			b, _ := os.ReadFile(p)
			fmt.Fprintf(h, "%s %v %d %x\n", p, info.Mode(), info.Size(), sha256.Sum256(b))
			return nil
		})
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestPlanPerformsZeroWrites(t *testing.T) {
	h := newHarness(t)
	h.apply(t, Options{Until: "stop/a"})
	before := treeHash(t, h.dir, h.state)
	r := &Runner{Steps: h.steps, Env: &Env{Root: h.dir}}
	recs, _ := journal.Read(h.state)
	rep, err := r.Plan(context.Background(), recs)
	if err != nil {
		t.Fatal(err)
	}
	if after := treeHash(t, h.dir, h.state); after != before {
		t.Fatal("plan changed the tree")
	}
	text := RenderPlan(rep)
	for _, want := range []string{"stop/a — fake stop/a\n      already done", "$ create backup_b.0", "if you stop after this step, backout will do:", "PRE-FAKE-001"} {
		if !strings.Contains(text, want) {
			t.Errorf("plan text lacks %q:\n%s", want, text)
		}
	}
}

func TestPreflightInhibitorStopsBeforeAnyChangeUnlessWaived(t *testing.T) {
	h := newHarness(t)
	h.steps[0] = &preflightStep{id: "preflight/fake", findings: []Finding{
		{ID: "PRE-DISK-001", Severity: Inhibitor, Message: "no room", Remediation: "free space"},
		{ID: "PRE-HA-001", Severity: Inhibitor, Message: "cluster", Remediation: "say Regime"},
	}}
	err := h.apply(t, Options{})
	var ie *InhibitorError
	if !errors.As(err, &ie) || len(ie.Findings) != 2 {
		t.Fatalf("err = %v, want both inhibitors listed", err)
	}
	if len(h.effects(t)) != 0 {
		t.Fatal("something changed despite inhibitors")
	}
	if err := h.apply(t, Options{Waivers: map[string]string{"PRE-DISK-001": "ok", "PRE-HA-001": "ok"}}); err != nil {
		t.Fatal(err)
	}
	recs, _ := journal.Read(h.state)
	waived := 0
	for _, r := range recs {
		if r.Kind == journal.KindWaived {
			waived++
		}
	}
	if waived != 2 {
		t.Fatalf("journaled %d waivers, want 2", waived)
	}
}

func TestUntilSkipAndOnly(t *testing.T) {
	cases := []struct {
		name    string
		opts    Options
		want    []string
		wantErr string
	}{
		{"until stops cleanly after the named step", Options{Until: "backup/b"}, fullRun[:5], ""},
		{"skip leaves out an optional step", Options{Skip: []string{"upgrade/c"}}, slices.Concat(fullRun[:5], fullRun[6:]), ""},
		{"skip of a required step is refused", Options{Skip: []string{"stop/a"}}, nil, "required"},
		{"an unknown step is refused with the list", Options{Until: "nope"}, nil, "steps are: preflight/fake, stop/a"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			err := h.apply(t, c.opts)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := h.effects(t); !slices.Equal(got, c.want) {
				t.Fatalf("effects = %v, want %v", got, c.want)
			}
		})
	}
}

func TestPointOfNoReturnNeedsConfirmation(t *testing.T) {
	h := newHarness(t)
	h.steps[3] = noReturnStep{&fakeStep{id: "upgrade/c", dir: h.dir, n: 1, noReturn: "runs the installer"}}
	err := h.apply(t, Options{})
	var de *DecisionError
	if !errors.As(err, &de) || de.Step != "upgrade/c" {
		t.Fatalf("err = %v, want a decision at upgrade/c", err)
	}
	asked := 0
	r, done := h.runner(t, Options{})
	r.Ask = func(ctx context.Context, q Question) (bool, error) { asked++; return true, nil }
	err = r.Apply(context.Background())
	done()
	if err != nil || asked != 1 {
		t.Fatalf("err %v, asked %d", err, asked)
	}
}

func TestResumingWithDifferentInputsIsRefusedWithADiff(t *testing.T) {
	h := newHarness(t)
	h.apply(t, Options{Until: "stop/a", Pin: Pin{WizardVersion: "1", AnswersHash: "aaaa"}})
	err := h.apply(t, Options{Pin: Pin{WizardVersion: "1", AnswersHash: "bbbb"}})
	var pe *PinError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "answers") {
		t.Fatalf("err = %v, want a PinError naming the answers", err)
	}
}

func TestInterruptStopsAtASafePointBetweenActions(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	r, done := h.runner(t, Options{})
	defer done()
	r.Events = func(e Event) {
		if e.Kind == EvActionDone && e.Step == "backup/b" && e.Action == 0 {
			cancel()
		}
	}
	err := r.Apply(ctx)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
	if got := h.effects(t); !slices.Equal(got, fullRun[:3]) {
		t.Fatalf("effects = %v", got)
	}
	_ = time.Now
}

// A kill can land while an idempotent action runs after which the step plans
// differently (its goal now partly holds): the begin record says the action
// may be repeated, so the resume re-plans instead of asking the operator.
func TestInDoubtIdempotentActionResumesWhenThePlanChanged(t *testing.T) {
	h := newHarness(t)
	b := h.steps[2].(*fakeStep)
	b.n = 1
	j, err := journal.Open(h.state, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The summary no longer matches anything the step plans now.
	j.Append(journal.Record{Kind: journal.KindBegin, Step: "backup/b", Action: 0, Summary: "create backup_b.0 the old way", Note: noteIdempotent})
	j.Close()
	if err := h.apply(t, Options{}); err != nil {
		t.Fatalf("resume asked instead of repeating an idempotent action: %v", err)
	}
	if st := Fold(mustRead(t, h.state)).Step("backup/b").State; st != StateDone {
		t.Fatalf("backup/b is %s", st)
	}
}

func mustRead(t *testing.T, dir string) []journal.Record {
	t.Helper()
	recs, err := journal.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// A kill after an idempotent action took effect and before its done record:
// the step's goal holds on resume, and the step must be done (backout undoes
// it), not skipped as if its goal had held before the run.
func TestInDoubtActionThatTookEffectLeavesTheStepDone(t *testing.T) {
	h := newHarness(t)
	b := h.steps[2].(*fakeStep)
	b.n = 1
	j, err := journal.Open(h.state, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	j.Append(journal.Record{Kind: journal.KindBegin, Step: "backup/b", Action: 0, Summary: "create backup_b.0", Note: noteIdempotent})
	j.Close()
	os.WriteFile(filepath.Join(h.dir, "backup_b.0"), nil, 0o600)
	if err := h.apply(t, Options{}); err != nil {
		t.Fatal(err)
	}
	rec := Fold(mustRead(t, h.state)).Step("backup/b")
	if rec.State != StateDone || !rec.Ran() {
		t.Fatalf("backup/b is %s (ran %v); want done, so that backout takes it back", rec.State, rec.Ran())
	}
}

func TestEventJSONKeepsTheFirstActionIndex(t *testing.T) {
	b, err := json.Marshal(Event{Kind: EvActionBegin, Step: "stop/dispatcher", Action: 0, Summary: "imsimta stop dispatcher"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"action":0`) {
		t.Fatalf("the first action cannot be told from no action: %s", b)
	}
}

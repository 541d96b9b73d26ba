package wizard

import (
	"slices"
	"strings"
	"testing"

	"mswizard/wizard/journal"
)

// appendixRunbook is the shape of the upgrade: services stopped (web, then
// messaging, then admin), the store set aside, the installer (undone by a
// restore), the store returned, the services started (admin, messaging,
// web), and a step with no place in the procedure.
func appendixRunbook(dir string) []Step {
	return []Step{
		effectPhase(dir, "stop/web", BackoutKey{Stage: BackoutStart, Rank: 4}).Step(),
		effectPhase(dir, "stop/msg", BackoutKey{Stage: BackoutStart, Rank: 3}).Step(),
		effectPhase(dir, "stop/admin", BackoutKey{Stage: BackoutStart, Rank: 1}).Step(),
		effectPhase(dir, "store/aside", BackoutKey{Stage: BackoutReturn}).Step(),
		effectPhase(dir, "export/ldif", BackoutKey{}).Step(),
		effectPhase(dir, "upgrade/install", BackoutKey{Stage: BackoutRestore}).Step(),
		effectPhase(dir, "store/return", BackoutKey{Stage: BackoutSetAside}).Step(),
		effectPhase(dir, "start/admin", BackoutKey{Stage: BackoutStop, Rank: 5}).Step(),
		effectPhase(dir, "start/msg", BackoutKey{Stage: BackoutStop, Rank: 3}).Step(),
		effectPhase(dir, "start/web", BackoutKey{Stage: BackoutStop, Rank: 2}).Step(),
		effectPhase(dir, "post/record", BackoutKey{}).Step(),
	}
}

// Backout follows the procedure's order — stop the services in order, set the
// store aside, restore, return the store, start the services in order — for
// whatever the journal says the run did, not the journal read backwards; steps
// with no place in the procedure keep their reverse order among the rest.
func TestBackoutFollowsTheProcedureScopedByTheJournal(t *testing.T) {
	cases := []struct {
		name  string
		until string
		want  []string
	}{
		{"after a completed run", "", []string{
			"post/record",
			"start/web", "start/msg", "start/admin", // stop stage: rank 2, 3, 5
			"store/return",                       // set aside
			"upgrade/install",                    // restore
			"export/ldif",                        // no place: where reverse order puts it among the keyed
			"store/aside",                        // return
			"stop/admin", "stop/msg", "stop/web", // start stage: rank 1, 3, 4
		}},
		{"after the installer", "upgrade/install", []string{
			"upgrade/install", "export/ldif", "store/aside", "stop/admin", "stop/msg", "stop/web",
		}},
		{"after the stops", "stop/admin", []string{"stop/admin", "stop/msg", "stop/web"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := &harness{dir: t.TempDir(), state: t.TempDir()}
			h.steps = appendixRunbook(h.dir)
			if err := h.apply(t, Options{Until: c.until}); err != nil {
				t.Fatal(err)
			}
			recs, _ := journal.Read(h.state)
			r := &Runner{Steps: h.steps, Env: &Env{Root: h.dir}}
			plan, err := r.BackoutPlan(t.Context(), recs)
			if err != nil {
				t.Fatal(err)
			}
			var planned []string
			for _, s := range plan {
				planned = append(planned, s.ID)
			}
			if !slices.Equal(planned, c.want) {
				t.Fatalf("backout plan = %v\nwant %v", planned, c.want)
			}
			r2, done := h.runner(t, Options{Yes: true})
			defer done()
			if err := r2.Backout(t.Context()); err != nil {
				t.Fatal(err)
			}
			var undone []string
			for _, e := range h.effects(t) {
				if id, ok := strings.CutPrefix(e, "undo:"); ok {
					undone = append(undone, id)
				}
			}
			if !slices.Equal(undone, c.want) {
				t.Fatalf("backout ran %v\nwant %v", undone, c.want)
			}
		})
	}
}

// The plan's "if you stop after this step, backout will do" lists follow the
// same order, with each undo's place in the procedure shown.
func TestPlanShowsTheBackoutInTheProcedureOrder(t *testing.T) {
	dir := t.TempDir()
	r := &Runner{Steps: appendixRunbook(dir), Env: &Env{Root: dir}}
	rep, err := r.Plan(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	last := rep.Steps[len(rep.Steps)-1].BackoutAfter
	want := []string{
		"post/record: take back post/record",
		"[stop 2] start/web: take back start/web",
		"[stop 3] start/msg: take back start/msg",
		"[stop 5] start/admin: take back start/admin",
		"[set aside] store/return: take back store/return",
		"[restore] upgrade/install: take back upgrade/install",
		"export/ldif: take back export/ldif",
		"[return] store/aside: take back store/aside",
		"[start 1] stop/admin: take back stop/admin",
		"[start 3] stop/msg: take back stop/msg",
		"[start 4] stop/web: take back stop/web",
	}
	if !slices.Equal(last, want) {
		t.Fatalf("backout after the last step:\n%s\nwant\n%s", strings.Join(last, "\n"), strings.Join(want, "\n"))
	}
}

// Without keys a backout is the journal read backwards, as it always was.
func TestBackoutOrderWithoutKeysIsNewestFirst(t *testing.T) {
	items := []backoutItem{{applied: 1}, {applied: 5}, {applied: 3}}
	if got := backoutOrder(items); !slices.Equal(got, []int{1, 2, 0}) {
		t.Fatalf("order = %v, want newest first", got)
	}
}

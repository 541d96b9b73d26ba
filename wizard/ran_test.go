package wizard

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"mswizard/wizard/journal"
)

// Backout counts every step whose action began in this epoch, however the run
// went on: a step whose action failed and whose goal then held (the command
// finished after its timeout), or whose in-doubt action the operator chose to
// retry, changed the host and must be taken back.
func TestBackoutCountsEveryStepWhoseActionBegan(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, h *harness, j *journal.Journal)
		apply bool
	}{
		{"a failed action whose goal held on the rerun", func(t *testing.T, h *harness, j *journal.Journal) {
			j.Append(journal.Record{Kind: journal.KindBegin, Step: "stop/a", Action: 0, Summary: "create stop_a.0"})
			j.Append(journal.Record{Kind: journal.KindFailed, Step: "stop/a", Action: 0, Summary: "create stop_a.0", Error: "timed out"})
			os.WriteFile(filepath.Join(h.dir, "stop_a.0"), nil, 0o600)
			os.WriteFile(filepath.Join(h.dir, "stop_a.1"), nil, 0o600)
		}, true},
		{"an in-doubt action resolved as retry before the rerun", func(t *testing.T, h *harness, j *journal.Journal) {
			j.Append(journal.Record{Kind: journal.KindBegin, Step: "stop/a", Action: 0, Summary: "create stop_a.0"})
			j.Append(journal.Record{Kind: journal.KindResolved, Step: "stop/a", Action: 0, Summary: "create stop_a.0", Note: "not-done: operator chose retry"})
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			j, err := journal.Open(h.state, journal.Options{})
			if err != nil {
				t.Fatal(err)
			}
			c.setup(t, h, j)
			j.Close()
			if c.apply {
				if err := h.apply(t, Options{Until: "stop/a"}); err != nil {
					t.Fatal(err)
				}
			}
			r, done := h.runner(t, Options{Yes: true})
			defer done()
			plan, err := r.BackoutPlan(context.Background(), r.Journal.Records())
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, s := range plan {
				ids = append(ids, s.ID)
			}
			if !slices.Contains(ids, "stop/a") {
				t.Fatalf("backout plan %v leaves out stop/a", ids)
			}
		})
	}
}

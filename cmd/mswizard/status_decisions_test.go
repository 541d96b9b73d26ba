package main

import (
	"context"
	"testing"

	"mswizard/wizard"
	"mswizard/wizard/journal"
)

type namedStep struct{ id string }

func (s namedStep) ID() string    { return s.id }
func (s namedStep) Title() string { return s.id }
func (s namedStep) Check(context.Context, *wizard.Env) (bool, string, error) {
	return false, "", nil
}
func (s namedStep) Plan(context.Context, *wizard.Env) ([]wizard.Action, error) { return nil, nil }
func (s namedStep) Undo(context.Context, *wizard.Env, []wizard.Receipt) ([]wizard.Action, error) {
	return nil, nil
}

// TestStatusShowsEachStepsDecisions: status (and the TUI's resume view,
// which shows the same lines) lists under a step the decisions the journal
// keeps typed for it — its confirmation and the configuration conflicts its
// action applied — not the error it stopped with before them.
func TestStatusShowsEachStepsDecisions(t *testing.T) {
	t.Parallel()
	confirm := journal.Decision{Kind: journal.DecideConfirm, Subject: "upgrade/run-installer", Choice: "yes", Source: journal.SourceFlag}
	merge := journal.Decision{Kind: journal.DecideMerge, Subject: "config/local.conf store.quotawarn", Choice: "reapply", Source: journal.SourceAnswers}
	recs := []journal.Record{
		{Seq: 1, Kind: journal.KindConfirmed, Step: "upgrade/run-installer", Decision: &confirm},
		{Seq: 2, Kind: journal.KindBegin, Step: "upgrade/run-installer", Summary: "setup"},
		{Seq: 3, Kind: journal.KindDone, Step: "upgrade/run-installer", Summary: "setup", Receipt: []byte(`{"step":"upgrade/run-installer","action":0,"summary":"setup"}`)},
		{Seq: 4, Kind: journal.KindStepDone, Step: "upgrade/run-installer"},
		{Seq: 5, Kind: journal.KindBegin, Step: "upgrade/config-diff", Summary: "merge"},
		{Seq: 6, Kind: journal.KindFailed, Step: "upgrade/config-diff", Summary: "merge", Error: "step upgrade/config-diff needs a decision: 1 configuration conflict(s)"},
		{Seq: 7, Kind: journal.KindBegin, Step: "upgrade/config-diff", Summary: "merge"},
		{Seq: 8, Kind: journal.KindDone, Step: "upgrade/config-diff", Summary: "merge",
			Receipt: []byte(`{"step":"upgrade/config-diff","action":0,"summary":"merge","decisions":[{"kind":"merge","subject":"config/local.conf store.quotawarn","choice":"reapply","source":"answers"}]}`)},
		{Seq: 9, Kind: journal.KindStepDone, Step: "upgrade/config-diff"},
	}
	got := statusSteps([]wizard.Step{namedStep{"upgrade/run-installer"}, namedStep{"upgrade/config-diff"}}, wizard.Fold(recs))
	if len(got) != 2 {
		t.Fatalf("%d status lines", len(got))
	}
	if ds := got[0].Decisions; len(ds) != 1 || ds[0] != confirm {
		t.Errorf("run-installer decisions %+v", ds)
	}
	if ds := got[1].Decisions; len(ds) != 1 || ds[0] != merge || got[1].State != wizard.StateDone || got[1].Note != "" {
		t.Errorf("config-diff: %+v", got[1])
	}
}

package main

import (
	"encoding/json"
	"strings"
	"testing"

	"mswizard/wizard"
	"mswizard/wizard/journal"
)

// TestReportShowsTypedDecisions: a journal whose decisions are typed fields
// (no words in Note, no ConfigDecision lines handed to the report) shows who
// decided what, on the step it decided; the legacy journal of reportJournal
// (decisions in Note) is the golden test's.
func TestReportShowsTypedDecisions(t *testing.T) {
	in := reportJournal(t)
	in.ConfigDecisions = nil
	for i, r := range in.Records {
		switch {
		case r.Kind == journal.KindConfirmed:
			in.Records[i].Decision = &journal.Decision{Kind: journal.DecideConfirm, Subject: r.Step, Choice: "yes", Source: journal.SourceTUI}
		case r.Kind == journal.KindDone && r.Step == "upgrade/config-diff":
			var rc wizard.Receipt
			if err := json.Unmarshal(r.Receipt, &rc); err != nil {
				t.Fatal(err)
			}
			rc.Decisions = []journal.Decision{{Kind: journal.DecideMerge, Subject: "config/local.conf store.quotawarn", Choice: "reapply", Source: journal.SourceAnswers}}
			b, _ := json.Marshal(rc)
			in.Records[i].Receipt = b
		}
	}
	rep := buildReport(in)
	want := map[string]string{
		"upgrade/run-installer": "confirmed by the operator in the TUI",
		"upgrade/config-diff":   "decided by the answers: ConfigDecision = config/local.conf store.quotawarn reapply",
	}
	for _, v := range rep.Steps {
		w, ok := want[v.ID]
		if !ok {
			continue
		}
		if len(v.Decisions) != 1 || !strings.HasPrefix(v.Decisions[0], w) {
			t.Errorf("%s: decisions %q, want one starting %q", v.ID, v.Decisions, w)
		}
		if strings.Contains(v.Note, "needs a decision") {
			t.Errorf("%s: note %q shows the old error", v.ID, v.Note)
		}
	}
}

package journal

import (
	"reflect"
	"testing"
)

// TestADecisionSurvivesTheJournal: a record's typed decision and intent are
// sealed and read back as written.
func TestADecisionSurvivesTheJournal(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, Options{Run: "r"})
	if err != nil {
		t.Fatal(err)
	}
	d := &Decision{Kind: DecideResolve, Subject: "stop/a action 1 (stop it)", Choice: ChoiceRetry, Source: SourceFlag, Undo: true}
	if _, err := j.Append(Record{Kind: KindResolved, Step: "stop/a", Decision: d}); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(Record{Kind: KindBegin, Step: "stop/a", Intent: []byte(`{"op":"msg"}`)}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	recs, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(recs[0].Decision, d) || DecisionOf(recs[0]) != recs[0].Decision {
		t.Fatalf("decision read back as %+v", recs[0].Decision)
	}
	if string(recs[1].Intent) != `{"op":"msg"}` {
		t.Fatalf("intent read back as %s", recs[1].Intent)
	}
}

// TestDecisionOfReadsTheNotesOfOlderJournals: each Note an older wizard
// wrote for a decision reads as the typed decision it meant.
func TestDecisionOfReadsTheNotesOfOlderJournals(t *testing.T) {
	for _, c := range []struct {
		name string
		rec  Record
		want *Decision
	}{
		{"a confirmation", Record{Kind: KindConfirmed, Step: "upgrade/run-installer"},
			&Decision{Kind: DecideConfirm, Subject: "upgrade/run-installer", Choice: "yes", Source: SourceUnknown}},
		{"a waiver keeps its reason", Record{Kind: KindWaived, Step: "preflight/x", Summary: "PRE-X-001", Note: "known"},
			&Decision{Kind: DecideWaive, Subject: "PRE-X-001", Choice: "waive", Source: SourceAnswers, Reason: "known"}},
		{"an operator's retry", Record{Kind: KindResolved, Step: "s", Action: 1, Summary: "do", Note: "not-done: operator chose retry"},
			&Decision{Kind: DecideResolve, Subject: "s action 2 (do)", Choice: ChoiceRetry, Source: SourceFlag}},
		{"the evidence's retry", Record{Kind: KindResolved, Step: "s", Summary: "do", Note: "not-done: the action is idempotent"},
			&Decision{Kind: DecideResolve, Subject: "s action 1 (do)", Choice: ChoiceRetry, Source: SourceEvidence, Reason: "the action is idempotent"}},
		{"a done", Record{Kind: KindResolved, Step: "s", Summary: "do", Note: "done"},
			&Decision{Kind: DecideResolve, Subject: "s action 1 (do)", Choice: ChoiceDone, Source: SourceUnknown}},
		{"an undo done", Record{Kind: KindResolved, Step: "s", Summary: "undo", Note: "undo-done"},
			&Decision{Kind: DecideResolve, Subject: "s action 1 (undo)", Choice: ChoiceDone, Source: SourceFlag, Undo: true}},
		{"an undo retry", Record{Kind: KindResolved, Step: "s", Summary: "undo", Note: "undo-not-done: operator chose retry"},
			&Decision{Kind: DecideResolve, Subject: "s action 1 (undo)", Choice: ChoiceRetry, Source: SourceFlag, Undo: true}},
		{"a note decides nothing", Record{Kind: KindNote, Note: "done"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := DecisionOf(c.rec); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

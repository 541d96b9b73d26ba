package runbook

import (
	"testing"

	"mswizard/wizard"
)

// Every kind of runbook step is declared as a wizard.Phase: a kind written
// another way would offer the engine only its check, plan and undo, and lose
// its node, its confirmation, its in-doubt rule and its undo text without a
// word.
func TestEveryKindIsADeclaredPhase(t *testing.T) {
	w := newWorld(t, "", `  - {id: run, title: r, run: {argv: ["true"], idempotent: true}}
  - {id: edit, title: e, edit: {path: "{{root}}/rc", line: x, state: present}}
  - {id: file, title: f, file: {path: "{{root}}/f", content: "x\n"}}
  - {id: service, title: s, service: {regime: rc, script: "{{root}}/init", state: stopped, timeout: 5s}}
  - {id: wait, title: w, wait: {until: {command: [cat, "{{root}}/flag"], output: ready}, timeout: 5s, interval: 100ms}}
  - {id: confirm, title: c, confirm: {text: "put the tape in"}}
  - {id: backup, title: b, backup: {path: "{{root}}/data", dest: "{{root}}/archives", name: data}}
`, "")
	if len(w.steps) != 7 {
		t.Fatalf("%d steps built, want one of each of the 7 kinds", len(w.steps))
	}
	for id, s := range w.steps {
		if _, ok := s.(interface{ Phase() wizard.Phase }); !ok {
			t.Errorf("%s (%T) is not declared as a wizard.Phase", id, s)
		}
		if p := wizard.Describe(s); p.Node != "local" || p.UndoText == "" {
			t.Errorf("%s: node %q, undo text %q; want the node it acts on and what its undo does", id, p.Node, p.UndoText)
		}
	}
}

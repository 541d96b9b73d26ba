package runbook

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mswizard/wizard"
	"mswizard/wizard/answers"
)

// qmailPreflight runs the shipped qmail runbook's preflight on a root whose
// /var/qmail/rc is rc, and returns the findings by ID.
func qmailPreflight(t *testing.T, rc string) map[string]wizard.Finding {
	t.Helper()
	rb, err := Load("qmail-daemontools")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "var/qmail"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "var/qmail/rc"), []byte(rc), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := answers.Parse("q.inf", []byte("[qmail-daemontools]\nroot = "+root+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := valuesFrom(rb, f, root, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(root, "state")
	steps, err := Build(rb, v, Options{StateDir: state, Nodes: localNodes()})
	if err != nil {
		t.Fatal(err)
	}
	p := wizard.Describe(steps[0])
	if p.ID != PreflightID || p.Preflight == nil {
		t.Fatalf("the first step is %s, not the preflight", p.ID)
	}
	env := (&wizard.Env{Root: "/", StateDir: state}).Nop()
	fs, err := p.Preflight(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]wizard.Finding{}
	for _, f := range fs {
		out[f.ID] = f
	}
	return out
}

// The seed's rc logs through splogger and step rc/remove-splogger replaces
// exactly that line: an rc of another form is an inhibitor before qmail is
// stopped, not an edit failing (or, before, appending) half-way through.
func TestQmailPreflightWantsTheRcLineTheRunbookReplaces(t *testing.T) {
	const head = "#!/bin/sh\nexec env - PATH=\"/var/qmail/bin:$PATH\" \\\n"
	tests := []struct {
		name, rc string
		finding  bool
	}{
		{"the seed's rc (home+splogger) passes", head + "qmail-start ./Maildir/ splogger qmail\n", false},
		{"an rc already without splogger passes (the seed: nothing to remove)", head + "qmail-start ./Maildir/\n", false},
		{"netqmail's defaultdelivery rc is a finding", head + "qmail-start \"`cat /var/qmail/control/defaultdelivery`\" splogger qmail\n", true},
		{"an rc logging elsewhere is a finding", head + "qmail-start ./Mailbox splogger qmail\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := qmailPreflight(t, tt.rc)
			f, got := fs["PRE-QMAIL-014"]
			if got != tt.finding {
				t.Fatalf("PRE-QMAIL-014 reported: %v, want %v (%+v)", got, tt.finding, f)
			}
			if got && (f.Severity != wizard.Inhibitor || !strings.Contains(f.Message, "qmail-start ./Maildir/ splogger qmail") || !strings.Contains(f.Remediation, "rc/remove-splogger")) {
				t.Fatalf("finding %+v: an inhibitor naming the line and the step to adapt", f)
			}
		})
	}
}

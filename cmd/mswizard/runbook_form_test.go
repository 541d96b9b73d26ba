package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mswizard/steps/runbook"
	"mswizard/wizard/tui"
)

// qmailForm is the form the TUI asks for the shipped qmail-daemontools runbook.
func qmailForm(t *testing.T) (*runbook.Runbook, *tui.RunbookAnswers) {
	t.Helper()
	rb, err := runbook.Load("qmail-daemontools")
	if err != nil {
		t.Fatal(err)
	}
	return rb, runbookAnswers(rb, "qmail-daemontools")
}

func fieldOf(t *testing.T, a *tui.RunbookAnswers, key string) *tui.RunbookField {
	t.Helper()
	for _, f := range a.Fields {
		if f.Key == key {
			return f
		}
	}
	t.Fatalf("the form has no field %s", key)
	return nil
}

// TestRunbookFormFields: the form asks for every answer the runbook declares,
// in its order, each starting from its default, with its help, type and range;
// a default that names other answers is left to the runbook.
func TestRunbookFormFields(t *testing.T) {
	rb, a := qmailForm(t)
	var keys []string
	for _, f := range a.Fields {
		if f.Section == rb.ID {
			keys = append(keys, f.Key)
		}
	}
	var want []string
	for _, s := range rb.Answers {
		want = append(want, s.Name)
	}
	if strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Fatalf("the form asks %v, the runbook declares %v", keys, want)
	}
	cases := []struct {
		name, key, value, help string
		hasDefault             bool
		fixed                  bool
	}{
		{"the runbook the answers are for is written, not asked", "Runbook", "qmail-daemontools", "the runbook", false, true},
		{"the state directory starts under /var/lib/mswizard", "StateDir", "/var/lib/mswizard/qmail-daemontools", "state directory", false, false},
		{"a plain default starts the field", "root", "/", "(path)", true, false},
		{"a default naming other answers leaves the field empty for the runbook to resolve", "qmail_dir", "", "the qmail home", true, false},
		{"an int shows multilog's documented range", "log_size", "99999", "(int, 4096..16777215)", true, false},
		{"an int with a minimum only shows it", "log_count", "10", "(int, 2..)", true, false},
		{"a port starts at its default", "smtp_port", "25", "(port)", true, false},
		{"a duration starts at its default", "stable_for", "5s", "(duration)", true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := fieldOf(t, a, c.key)
			if f.Value != c.value || f.HasDefault != c.hasDefault || f.Fixed != c.fixed || !strings.Contains(f.Help, c.help) {
				t.Errorf("field %s = %+v; want value %q, default %v, fixed %v, help with %q", c.key, f, c.value, c.hasDefault, c.fixed, c.help)
			}
		})
	}
	if d := fieldOf(t, a, "qmail_dir").Default; d != "{{root}}/var/qmail" {
		t.Errorf("qmail_dir's default is shown as %q", d)
	}
}

// TestRunbookFormValidation: the form's values are checked by the runbook's
// own check of an answers file, and each problem lands on its field.
func TestRunbookFormValidation(t *testing.T) {
	rb, a := qmailForm(t)
	p, err := a.Problems(nil, "")
	if err != nil || len(p.Field) != 0 || len(p.Other) != 0 {
		t.Fatalf("the defaults are not valid answers: %+v, %v", p, err)
	}
	cases := []struct {
		name, key, value, want string
	}{
		{"log_size below multilog's 4096 is refused", "log_size", "100", "below the minimum 4096"},
		{"log_size above multilog's 16777215 is refused", "log_size", "16777216", "above the maximum 16777215"},
		{"log_count below 2 is refused", "log_count", "1", "below the minimum 2"},
		{"a count that is not an integer is refused", "log_count", "ten", "not an integer"},
		{"a port beyond 65535 is refused", "smtp_port", "70000", "a port is 1..65535"},
		{"a relative path is refused", "root", "srv/qmail", "not an absolute path"},
		{"an unclean path is refused", "service_dir", "/service/", "not a clean path"},
		{"a reference in a value is refused: references belong in the runbook", "qmail_dir", "{{root}}/q", "references belong in the runbook"},
		{"a user name with a space is refused", "send_log_user", "q maill", "not a user name"},
		{"a duration of zero is refused", "stable_for", "0s", "not a positive duration"},
		{"a relative state directory is refused", "StateDir", "state", "must be an absolute path"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := fieldOf(t, a, c.key)
			p, err := a.Problems(f, c.value)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(p.Field[f], "; "); !strings.Contains(got, c.want) {
				t.Errorf("%s = %s: problems at the field %q, other %q; want %q", c.key, c.value, got, p.Other, c.want)
			}
			if f.Value == c.value && c.value != "" {
				t.Error("checking a value changed the field")
			}
		})
	}
	t.Run("a field left empty takes the runbook's default, resolved", func(t *testing.T) {
		fieldOf(t, a, "root").Value = "/srv/world"
		defer func() { fieldOf(t, a, "root").Value = "/" }()
		path := filepath.Join(t.TempDir(), "q.inf")
		if err := os.WriteFile(path, a.Render(), 0o600); err != nil {
			t.Fatal(err)
		}
		v, err := runbook.LoadValues(rb, path)
		if err != nil {
			t.Fatal(err)
		}
		if v.Get("qmail_dir") != "/srv/world/var/qmail" || v.Get("services_dir") != "/srv/world/var/qmail/services" || v.Get("log_size") != "99999" || v.StateDir != "/var/lib/mswizard/qmail-daemontools" {
			t.Errorf("resolved qmail_dir %q services_dir %q log_size %q state %q", v.Get("qmail_dir"), v.Get("services_dir"), v.Get("log_size"), v.StateDir)
		}
	})
}

// secretBook declares a secret, a bool, a choice without a default and steps on
// named nodes.
const secretBook = `id: two
title: a secret and two nodes
answers:
  pw: {type: secret, help: the admin password}
  mail: {type: bool, default: "true", help: mail too}
  setup: {type: choice, choices: [new, existing], help: which path}
steps:
  - {id: a, title: on node2, node: node2, run: {argv: ["true"], stdin: "{{pw}}"}}
  - {id: b, title: on node1, node: node1, run: {argv: ["true"]}}
`

// TestRunbookFormSecretsAndNodes: a secret is asked by reference (the path of a
// 0600 file), never written in clear; a bool is yes or no; every node the
// steps name gets its [Nodes] line, checked by the node parser.
func TestRunbookFormSecretsAndNodes(t *testing.T) {
	rb, err := runbook.Parse("two.yaml", []byte(secretBook))
	if err != nil {
		t.Fatal(err)
	}
	a := runbookAnswers(rb, "/srv/two.yaml")
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sec := fieldOf(t, a, "pw_file")
	if !sec.Secret || sec.Section != "two" {
		t.Fatalf("the secret is not asked by reference: %+v", sec)
	}
	if m := fieldOf(t, a, "mail"); strings.Join(m.Choices, "/") != "yes/no" || m.Value != "yes" {
		t.Errorf("the bool is %+v", m)
	}
	if s := fieldOf(t, a, "setup"); strings.Join(s.Choices, "/") != "new/existing" {
		t.Errorf("the choice is %+v", s)
	}
	fieldOf(t, a, "setup").Value = "new"
	n1, n2 := fieldOf(t, a, "node1"), fieldOf(t, a, "node2")
	if n1.Section != "Nodes" || n2.Section != "Nodes" {
		t.Fatalf("nodes not in [Nodes]: %+v %+v", n1, n2)
	}
	node := "address=127.0.0.1:22 user=root agent=yes known_hosts=" + kh

	cases := []struct {
		name  string
		field *tui.RunbookField
		value string
		want  string
	}{
		{"a missing secret is named with how to give it", nil, "", "give pw_file = PATH to a 0600 file"},
		{"a secret file that does not exist is refused at its field", sec, pw + ".missing", "no such file"},
		{"a node without its address is refused at its field", n1, "user=root agent=yes known_hosts=" + kh, "[Nodes] node1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n1.Value, n2.Value, sec.Value = node, node, ""
			p, err := a.Problems(c.field, c.value)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(p.Other, "; ")
			if c.field != nil {
				got = strings.Join(p.Field[c.field], "; ")
			}
			if !strings.Contains(got, c.want) {
				t.Errorf("problems %q (all: %+v); want %q", got, p, c.want)
			}
		})
	}
	t.Run("a secret file others can read is refused at its field", func(t *testing.T) {
		open := filepath.Join(dir, "open")
		if err := os.WriteFile(open, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		p, _ := a.Problems(sec, open)
		if !strings.Contains(strings.Join(p.Field[sec], ";"), "chmod 600") {
			t.Errorf("problems %+v", p)
		}
	})
	t.Run("the saved answers hold the secret's path, never the secret", func(t *testing.T) {
		n1.Value, n2.Value, sec.Value = node, node, pw
		p, err := a.Problems(nil, "")
		if err != nil || len(p.Field) != 0 || len(p.Other) != 0 {
			t.Fatalf("valid answers refused: %+v %v", p, err)
		}
		data := string(a.Render())
		if strings.Contains(data, "s3cret") || !strings.Contains(data, "pw_file = "+pw) || !strings.Contains(data, "Runbook = /srv/two.yaml") || !strings.Contains(data, "mail = yes") {
			t.Errorf("rendered:\n%s", data)
		}
	})
}

// TestEveryShippedRunbookFormIsValidAtItsDefaults: for every shipped runbook,
// the form's starting values, with its nodes given, are answers the runbook
// accepts — the form never starts from what the runbook would refuse.
func TestEveryShippedRunbookFormIsValidAtItsDefaults(t *testing.T) {
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, id := range runbook.Shipped() {
		t.Run(id, func(t *testing.T) {
			rb, err := runbook.Load(id)
			if err != nil {
				t.Fatal(err)
			}
			a := runbookAnswers(rb, id)
			nodes := 0
			for _, f := range a.Fields {
				if f.Section == "Nodes" {
					f.Value = "address=127.0.0.1:22 user=root agent=yes known_hosts=" + kh
					nodes++
				}
			}
			if want := len(runbook.NodeNames(rb)); nodes != want {
				t.Errorf("%d node fields, the steps name %d nodes", nodes, want)
			}
			p, err := a.Problems(nil, "")
			if err != nil || len(p.Field) != 0 || len(p.Other) != 0 {
				t.Errorf("the form's starting values are refused: %s (%v)\n%s", p.String(a.Fields), err, a.Render())
			}
		})
	}
}

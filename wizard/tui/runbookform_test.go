package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"

	"mswizard/wizard/answers"
)

// sampleRunbookAnswers is a runbook's form as the command describes it: a
// fixed key, a state directory, an answer with a plain default, one whose
// default names another answer, a choice, a secret, a node. Its check refuses
// size below 10 at the key's line and wants the secret (a whole-file problem).
func sampleRunbookAnswers() *RunbookAnswers {
	a := &RunbookAnswers{
		Title:  "mswizard run sample — a sample runbook",
		Header: []string{"Answers for the runbook sample"},
		Fields: []*RunbookField{
			{Section: "Runbook", Key: "Runbook", Help: "the runbook", Value: "sample", Fixed: true},
			{Section: "Runbook", Key: "StateDir", Help: "the state directory", Value: "/var/lib/mswizard/sample"},
			{Section: "sample", Key: "root", Help: "the root (path)", Default: "/", HasDefault: true, Value: "/"},
			{Section: "sample", Key: "home", Help: "the home (path)", Default: "{{root}}/home", HasDefault: true},
			{Section: "sample", Key: "size", Help: "the size (int, 10..)", Default: "20", HasDefault: true, Value: "20"},
			{Section: "sample", Key: "mode", Help: "the mode (choice: a, b)", Choices: []string{"a", "b"}, Value: "b"},
			{Section: "sample", Key: "pw_file", Help: "the password (secret)", Secret: true},
			{Section: "Nodes", Key: "node1", Help: "how to reach node node1 over SSH", Value: "address=n1:22 user=root agent=yes known_hosts=/kh"},
		},
		Path: "sample.inf",
	}
	a.Check = func(data []byte) error {
		f, err := answers.Parse("sample.inf", data)
		if err != nil {
			return err
		}
		var probs answers.Problems
		for _, kv := range f.Section("sample").Keys {
			if kv.Key == "size" && len(kv.Value) < 2 {
				probs = append(probs, answers.Problem{File: f.Name, Line: kv.Line, Msg: "size = " + kv.Value + ": below the minimum 10"})
			}
		}
		if _, ok := f.Section("sample").Get("pw_file"); !ok {
			probs = append(probs, answers.Problem{File: f.Name, Msg: "[sample] has no secret pw: give pw_file = PATH to a 0600 file"})
		}
		if len(probs) > 0 {
			return probs
		}
		return nil
	}
	return a
}

// TestRunbookAnswersRender: the saved file says what each key means; a key left
// empty with a default is commented out so the runbook's default applies; a
// secret left empty is not written as an empty path.
func TestRunbookAnswersRender(t *testing.T) {
	a := sampleRunbookAnswers()
	got := string(a.Render())
	if _, err := answers.Parse("sample.inf", []byte(got)); err != nil {
		t.Fatalf("the rendered answers do not parse: %v\n%s", err, got)
	}
	golden(t, "runbook-answers", got)
	a.Fields[6].Value = "/root/pw"
	if got := string(a.Render()); !strings.Contains(got, "pw_file = /root/pw\n") {
		t.Errorf("the secret's path is not written:\n%s", got)
	}
}

// TestRunbookProblemsLandOnFields: a problem at a key's line is that field's,
// named by its key; a problem of the whole file is shown apart; checking a
// value leaves the field as it was.
func TestRunbookProblemsLandOnFields(t *testing.T) {
	a := sampleRunbookAnswers()
	size, pw := a.Fields[4], a.Fields[6]
	cases := []struct {
		name       string
		field      *RunbookField
		value      string
		wantField  string
		wantOther  string
		wantString string
	}{
		{"a bad value is its field's problem", size, "5", "size = 5: below the minimum 10", "has no secret pw", "size = 5: below the minimum 10\n[sample] has no secret pw"},
		{"a missing secret is the file's problem", pw, "", "", "has no secret pw", "[sample] has no secret pw"},
		{"good values have no problem", pw, "/root/pw", "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := a.Problems(c.field, c.value)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(p.Field[c.field], "; "); got != c.wantField {
				t.Errorf("field problems %q, want %q", got, c.wantField)
			}
			if got := strings.Join(p.Other, "; "); !strings.Contains(got, c.wantOther) || (c.wantOther == "" && got != "") {
				t.Errorf("other problems %q, want %q", got, c.wantOther)
			}
			if got := p.String(a.Fields); !strings.HasPrefix(got, c.wantString) || (c.wantString == "" && got != "") {
				t.Errorf("shown as %q, want %q", got, c.wantString)
			}
		})
	}
	if size.Value != "20" || pw.Value != "" {
		t.Errorf("checking changed the fields: size %q pw %q", size.Value, pw.Value)
	}
	// The field's own check shows that field's problems only.
	if err := a.validator(size)("5"); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("size's check: %v", err)
	}
	if err := a.validator(size)("30"); err != nil {
		t.Errorf("a good size refused: %v", err)
	}
	a.Check = func([]byte) error { return errors.New("no temporary directory") }
	if _, err := a.Problems(nil, ""); err == nil {
		t.Error("a check that could not run passed")
	}
}

// TestRunbookFormPages: fixed keys are not asked; each section starts a page
// and a page holds at most fieldsPerGroup keys.
func TestRunbookFormPages(t *testing.T) {
	a := sampleRunbookAnswers()
	for i := 0; i < 7; i++ {
		a.Fields = append(a.Fields[:7:7], append([]*RunbookField{{Section: "sample", Key: "extra" + string(rune('a'+i)), Help: "more"}}, a.Fields[7:]...)...)
	}
	v := formView(runbookForm(a, ""))
	if !strings.Contains(v, "No answers file was given") || !strings.Contains(v, "[Runbook] StateDir") || strings.Contains(v, "[sample] root") || strings.Contains(v, "[Runbook] Runbook") {
		t.Errorf("the first page is not the introduction and the state directory:\n%s", v)
	}
	var sizes []string
	for _, p := range a.pages() {
		sizes = append(sizes, fmt.Sprintf("%s:%d", p[0].Section, len(p)))
	}
	if got := strings.Join(sizes, " "); got != "Runbook:1 sample:5 sample:5 sample:2 Nodes:1" {
		t.Errorf("pages %s", got)
	}
	if v := formView(runbookForm(a, "size = 5: below the minimum 10")); !strings.Contains(v, "The answers have problems") || !strings.Contains(v, "below the minimum 10") {
		t.Errorf("the problems are not shown first:\n%s", v)
	}
}

// formView is the form's first page on an 80x24 terminal.
func formView(f *huh.Form) string {
	f.Init()
	f.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	return f.View()
}

// TestTheTitleNamesTheRun: a runbook file's run is named in the TUI's titles,
// not called an upgrade.
func TestTheTitleNamesTheRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := newModel(ctx, cancel, Options{Mode: "upgrade", What: "runbook qmail-daemontools"}, asciiRenderer())
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 24})
	m.Update(planMsg{plan: samplePlan()})
	if v := m.View(); !strings.Contains(v, "mswizard runbook qmail-daemontools — review the plan") {
		t.Errorf("plan screen:\n%s", v)
	}
}

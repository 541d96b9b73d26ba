package tui

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"mswizard/wizard"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func asciiRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return r
}

func samplePlan() *wizard.PlanReport {
	return &wizard.PlanReport{
		Version: 1,
		Findings: []wizard.Finding{
			{ID: "PRE-DISK-001", Severity: wizard.Warning, Message: "/var has 2 GiB free", Remediation: "free some space"},
		},
		Steps: []wizard.PlannedStep{
			{ID: "disk", Title: "Check disk space", Journal: wizard.StateDone},
			{ID: "stop", Title: "Stop the services", Actions: []wizard.PlannedAction{{Summary: "/opt/iplanet/server5/stop-msg"}},
				Undo: "start the services", BackoutAfter: []string{"stop: start the services"}},
			{ID: "install", Title: "Run the 5.2 installer", NoReturn: "the installer rewrites the server root",
				Actions:      []wizard.PlannedAction{{Summary: "./setup -s install.inf", Irreversible: "the old binaries are replaced"}},
				BackoutAfter: []string{"install: restore the server root", "stop: start the services"}},
			{ID: "start", Title: "Start the services", Actions: []wizard.PlannedAction{{Summary: "/opt/iplanet/server5/start-msg"}}},
		},
	}
}

func testModel(t *testing.T, w, h int) *model {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m := newModel(ctx, cancel, Options{Mode: "upgrade", StateDir: "/var/tmp/mswizard", ReportPath: "/var/tmp/mswizard/report.md"}, asciiRenderer())
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m.Update(planMsg{plan: samplePlan()})
	return m
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func checkSize(t *testing.T, v string, w, h int) {
	t.Helper()
	lines := strings.Split(v, "\n")
	if len(lines) > h {
		t.Errorf("view has %d lines, the terminal %d", len(lines), h)
	}
	for _, l := range lines {
		if lipgloss.Width(l) > w {
			t.Errorf("line wider than %d: %q", w, l)
		}
	}
}

func press(s string) tea.KeyMsg {
	switch s {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

// midRun puts m on the run screen with some events fed, without a goroutine.
func midRun(m *model) {
	m.screen, m.started = scrRun, true
	for _, e := range []wizard.Event{
		{Kind: wizard.EvStepStart, Step: "stop", Title: "Stop the services"},
		{Kind: wizard.EvActionBegin, Step: "stop", Summary: "/opt/iplanet/server5/stop-msg"},
		{Kind: wizard.EvOutput, Step: "stop", Message: "Stopping imap ... done"},
		{Kind: wizard.EvActionDone, Step: "stop"},
		{Kind: wizard.EvStepDone, Step: "stop"},
		{Kind: wizard.EvStepStart, Step: "install", Title: "Run the 5.2 installer"},
		{Kind: wizard.EvActionBegin, Step: "install", Summary: "tar -cf server-root.tar /opt/iplanet/server5"},
		{Kind: wizard.EvOutput, Step: "install", Message: "a server5/bin"},
		{Kind: wizard.EvOutput, Step: "install", Message: "a server5/lib\na server5/config"},
		{Kind: wizard.EvProgress, Step: "install", Progress: &wizard.Progress{Phase: "archive", What: "bytes", Done: 512 << 20, Total: 1 << 30, DoneFiles: 10, TotalFiles: 40,
			Elapsed: 64 * time.Second, Rate: 8 << 20, ETA: 64 * time.Second, ETAKnown: true}},
	} {
		m.onEvent(e)
	}
}

func TestPlanReview(t *testing.T) {
	m := testModel(t, 80, 24)
	v := m.View()
	for _, want := range []string{"$ /opt/iplanet/server5/stop-msg", "!! POINT OF NO RETURN", "[warning] PRE-DISK-001", "if you stop after this step, backout will do", "enter"} {
		if !strings.Contains(v, want) {
			t.Errorf("plan review lacks %q", want)
		}
	}
	checkSize(t, v, 80, 24)
	golden(t, "plan", v)
	// q quits without running anything.
	_, cmd := m.Update(press("q"))
	if cmd == nil || cmd() != tea.Quit() || m.started {
		t.Fatal("q on the plan did not quit cleanly")
	}
}

func TestPlanHelpAndScroll(t *testing.T) {
	m := testModel(t, 80, 24)
	m.Update(press("?"))
	if !m.help.ShowAll || !strings.Contains(m.View(), "scroll down") {
		t.Fatal("? did not show full help")
	}
	before := m.vp.YOffset
	m.Update(tea.KeyMsg{Type: tea.KeyDown})
	if m.vp.YOffset != before+1 {
		t.Fatalf("down did not scroll: %d -> %d", before, m.vp.YOffset)
	}
}

func TestRunScreenMidRun(t *testing.T) {
	m := testModel(t, 80, 24)
	midRun(m)
	v := m.View()
	checkSize(t, v, 80, 24)
	for _, want := range []string{"✓ disk", "✓ stop", "install", "· start", "$ tar -cf", "50%", "512.0 MiB/1.0 GiB", "a server5/config"} {
		if !strings.Contains(v, want) {
			t.Errorf("run screen lacks %q", want)
		}
	}
	golden(t, "run", v)
}

func TestConfirmation(t *testing.T) {
	m := testModel(t, 80, 24)
	midRun(m)
	reply := make(chan bool, 1)
	m.Update(askMsg{q: wizard.Question{ID: "install", Prompt: "Run the installer now?", Detail: "This is the point of no return."}, reply: reply})
	v := m.View()
	checkSize(t, v, 80, 24)
	if !strings.Contains(v, "Run the installer now?") || !strings.Contains(v, "(y/n)") {
		t.Error("no confirmation dialog")
	}
	golden(t, "confirm", v)
	m.Update(press("x"))
	select {
	case <-reply:
		t.Fatal("an unrelated key answered")
	default:
	}
	m.Update(press("y"))
	if got := <-reply; !got || m.ask != nil {
		t.Fatal("y did not answer yes")
	}
}

func TestFinalSuccess(t *testing.T) {
	m := testModel(t, 80, 24)
	midRun(m)
	m.onEvent(wizard.Event{Kind: wizard.EvStepDone, Step: "install"})
	m.onEvent(wizard.Event{Kind: wizard.EvStepSkipped, Step: "start", Message: "already running"})
	m.Update(runDoneMsg{})
	v := m.View()
	checkSize(t, v, 80, 24)
	if !strings.Contains(v, "upgrade complete") || !strings.Contains(v, "report: /var/tmp/mswizard/report.md") || strings.Contains(v, "backout") {
		t.Errorf("final success screen wrong:\n%s", v)
	}
	golden(t, "final-ok", v)
}

func TestFinalFailure(t *testing.T) {
	m := testModel(t, 80, 24)
	midRun(m)
	m.onEvent(wizard.Event{Kind: wizard.EvActionFailed, Step: "install", Error: "setup: exit status 1"})
	err := &wizard.StepError{Step: "install", Action: 0, Summary: "./setup -s install.inf", Err: errors.New("exit status 1"), Completed: []string{"disk", "stop"}}
	m.Update(runDoneMsg{err: err})
	v := m.View()
	checkSize(t, v, 80, 24)
	for _, want := range []string{"upgrade failed", "step install failed", "run `mswizard backout` to back out", "state:  /var/tmp/mswizard", "1 failed"} {
		if !strings.Contains(v, want) {
			t.Errorf("failure screen lacks %q:\n%s", want, v)
		}
	}
	golden(t, "final-fail", v)
}

func TestSmallTerminal(t *testing.T) {
	m := testModel(t, 40, 10)
	checkSize(t, m.View(), 40, 10)
	golden(t, "small-plan", m.View())
	midRun(m)
	v := m.View()
	checkSize(t, v, 40, 10)
	golden(t, "small-run", v)
	m.Update(askMsg{q: wizard.Question{Prompt: "Go on?", Detail: strings.Repeat("long detail ", 20)}, reply: make(chan bool, 1)})
	checkSize(t, m.View(), 40, 10)
	m.Update(tea.WindowSizeMsg{Width: 5, Height: 2})
	_ = m.View() // must not panic
}

// drive runs the model's commands as the program would, feeding the messages
// they return back into Update, until the model quits or stops producing work.
func drive(t *testing.T, m *model, cmd tea.Cmd, answer func(wizard.Question) bool) {
	t.Helper()
	queue := []tea.Cmd{cmd}
	deadline := time.Now().Add(5 * time.Second)
	for len(queue) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the run did not finish")
		}
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		msg := c()
		switch msg := msg.(type) {
		case tea.BatchMsg:
			queue = append(queue, msg...)
			continue
		case askMsg:
			_, next := m.Update(msg)
			queue = append(queue, next)
			if answer(msg.q) {
				m.Update(press("y"))
			} else {
				m.Update(press("n"))
			}
			continue
		case eventMsg, runDoneMsg:
			_, next := m.Update(msg)
			queue = append(queue, next)
		}
		// Printf and ticks are for the terminal only.
	}
}

func TestWholeRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var asked []string
	o := Options{Mode: "upgrade", Run: func(ctx context.Context, ev func(wizard.Event), ask func(context.Context, wizard.Question) (bool, error)) error {
		ev(wizard.Event{Kind: wizard.EvPreflight})
		ev(wizard.Event{Kind: wizard.EvStepSkipped, Step: "disk"})
		ev(wizard.Event{Kind: wizard.EvStepStart, Step: "stop"})
		ev(wizard.Event{Kind: wizard.EvStepDone, Step: "stop"})
		ev(wizard.Event{Kind: wizard.EvStepStart, Step: "install"})
		yes, err := ask(ctx, wizard.Question{ID: "install", Prompt: "Run the installer?"})
		if err != nil {
			return err
		}
		if !yes {
			ev(wizard.Event{Kind: wizard.EvActionFailed, Step: "install", Error: "declined"})
			return errors.New("declined")
		}
		ev(wizard.Event{Kind: wizard.EvStepDone, Step: "install"})
		ev(wizard.Event{Kind: wizard.EvStepStart, Step: "start"})
		ev(wizard.Event{Kind: wizard.EvActionFailed, Step: "start", Error: "start-msg: exit status 2"})
		ev(wizard.Event{Kind: wizard.EvRunEnd, Error: "step start failed"})
		return errors.New("step start failed")
	}}
	m := newModel(ctx, cancel, o, asciiRenderer())
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.Update(planMsg{plan: samplePlan()})
	_, cmd := m.Update(press("enter"))
	if m.screen != scrRun {
		t.Fatal("enter did not start the run")
	}
	drive(t, m, cmd, func(q wizard.Question) bool { asked = append(asked, q.Prompt); return true })
	if len(asked) != 1 {
		t.Fatalf("asked %v", asked)
	}
	if m.screen != scrFinal || m.runErr == nil || m.runErr.Error() != "step start failed" {
		t.Fatalf("screen %v err %v", m.screen, m.runErr)
	}
	want := map[string]string{"disk": stSkipped, "stop": stDone, "install": stDone, "start": stFailed}
	for _, r := range m.rows {
		if want[r.id] != r.status {
			t.Errorf("step %s: %s, want %s", r.id, r.status, want[r.id])
		}
	}
	if !strings.Contains(m.View(), "mswizard backout") {
		t.Error("no backout hint after a failure")
	}
}

func TestAbortAndPanic(t *testing.T) {
	// Ctrl-C asks first; yes cancels the run's context.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	o := Options{Run: func(ctx context.Context, ev func(wizard.Event), ask func(context.Context, wizard.Question) (bool, error)) error {
		ev(wizard.Event{Kind: wizard.EvStepStart, Step: "stop"})
		close(started)
		<-ctx.Done()
		return wizard.ErrInterrupted
	}}
	m := newModel(ctx, cancel, o, asciiRenderer())
	m.Update(planMsg{plan: samplePlan()})
	_, cmd := m.Update(press("enter"))
	_, next := m.Update(cmd()) // step-start
	<-started
	m.Update(press("ctrl+c"))
	if !m.abortAsk || !strings.Contains(m.View(), "abort after the current action? (y/n)") {
		t.Fatal("ctrl-c did not ask")
	}
	m.Update(press("n"))
	if m.abortAsk || ctx.Err() != nil {
		t.Fatal("n did not dismiss the question")
	}
	m.Update(press("ctrl+c"))
	m.Update(press("y"))
	if ctx.Err() == nil {
		t.Fatal("yes did not cancel the run")
	}
	m.Update(next())
	if !m.finished || !errors.Is(m.runErr, wizard.ErrInterrupted) {
		t.Fatalf("run error %v", m.runErr)
	}
	if v := m.View(); !strings.Contains(v, "stopped at a safe point") || !strings.Contains(v, "again to resume") {
		t.Errorf("interrupted screen:\n%s", v)
	}

	// A panic in Run comes back as an error.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	m = newModel(ctx2, cancel2, Options{Run: func(context.Context, func(wizard.Event), func(context.Context, wizard.Question) (bool, error)) error {
		panic("boom")
	}}, asciiRenderer())
	m.Update(planMsg{plan: samplePlan()})
	_, cmd = m.Update(press("enter"))
	m.Update(cmd())
	if m.runErr == nil || !strings.Contains(m.runErr.Error(), "panicked: boom") {
		t.Fatalf("panic error %v", m.runErr)
	}
}

// TestProgram runs the real Bubble Tea program over pipes: plan, enter, a
// question answered y, the final screen, q.
func TestProgram(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	inR, inW := io.Pipe()
	var out bytes.Buffer
	asked := make(chan struct{})
	o := Options{
		Mode:       "upgrade",
		ReportPath: "/tmp/r.md",
		Plan:       func(context.Context) (*wizard.PlanReport, error) { return samplePlan(), nil },
		Run: func(ctx context.Context, ev func(wizard.Event), ask func(context.Context, wizard.Question) (bool, error)) error {
			ev(wizard.Event{Kind: wizard.EvStepStart, Step: "stop"})
			close(asked)
			yes, err := ask(ctx, wizard.Question{Prompt: "Stop the services?"})
			if err != nil || !yes {
				return errors.New("not confirmed")
			}
			ev(wizard.Event{Kind: wizard.EvStepDone, Step: "stop"})
			return nil
		},
	}
	errc := make(chan error, 1)
	go func() { errc <- Run(context.Background(), o, inR, &out) }()
	time.Sleep(100 * time.Millisecond)
	io.WriteString(inW, "\r")
	<-asked
	time.Sleep(100 * time.Millisecond)
	io.WriteString(inW, "y")
	time.Sleep(200 * time.Millisecond)
	io.WriteString(inW, "q")
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the program did not end")
	}
	inW.Close()
	s := out.String()
	if !strings.Contains(s, "upgrade complete") || !strings.Contains(s, "Stop the services?") {
		t.Errorf("program output lacks the confirmation or the final screen:\n%s", s)
	}
}

func TestBackoutPlan(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := newModel(ctx, cancel, Options{Mode: "backout"}, asciiRenderer())
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.Update(planMsg{backout: []wizard.BackoutStep{
		{ID: "install", Title: "Run the 5.2 installer", Stage: "restore", Actions: []wizard.PlannedAction{{Summary: "restore server-root.tar"}}},
		{ID: "stop", Title: "Stop the services", Stage: "start 3", Actions: []wizard.PlannedAction{{Summary: "start-msg"}}},
	}})
	v := m.View()
	checkSize(t, v, 80, 24)
	// The screen follows the backout procedure's order and names each stage.
	for _, want := range []string{"procedure's order", "undo install — Run the 5.2 installer [restore]", "undo stop — Stop the services [start 3]"} {
		if !strings.Contains(v, want) {
			t.Errorf("backout screen lacks %q", want)
		}
	}
	golden(t, "backout-plan", v)
	if len(m.rows) != 2 || m.rows[0].id != "install" {
		t.Fatalf("rows %+v", m.rows)
	}
	m.screen, m.started = scrRun, true
	m.Update(runDoneMsg{err: errors.New("undo failed")})
	if strings.Contains(m.View(), "run `mswizard backout`") {
		t.Error("a failed backout must not suggest a backout")
	}
}

// TestProgramAbort sends Ctrl-C then y through the real program: the run's
// context is cancelled and Run returns its ErrInterrupted.
func TestProgramAbort(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	inR, inW := io.Pipe()
	defer inW.Close()
	started := make(chan struct{})
	o := Options{
		Plan: func(context.Context) (*wizard.PlanReport, error) { return samplePlan(), nil },
		Run: func(ctx context.Context, ev func(wizard.Event), _ func(context.Context, wizard.Question) (bool, error)) error {
			ev(wizard.Event{Kind: wizard.EvStepStart, Step: "stop"})
			close(started)
			<-ctx.Done()
			return wizard.ErrInterrupted
		},
	}
	errc := make(chan error, 1)
	go func() { errc <- Run(context.Background(), o, inR, io.Discard) }()
	time.Sleep(100 * time.Millisecond)
	io.WriteString(inW, "\r")
	<-started
	time.Sleep(50 * time.Millisecond)
	io.WriteString(inW, "\x03")
	time.Sleep(50 * time.Millisecond)
	io.WriteString(inW, "y")
	time.Sleep(100 * time.Millisecond)
	io.WriteString(inW, "q")
	select {
	case err := <-errc:
		if !errors.Is(err, wizard.ErrInterrupted) {
			t.Fatalf("Run returned %v, want ErrInterrupted", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the program did not end")
	}
}

func resumeStatus() []StatusLine {
	return []StatusLine{
		{Step: "disk", State: "done"},
		{Step: "stop", State: "done"},
		{Step: "install", State: "in-doubt", Note: "action 1 began and has no outcome: ./setup -s install.inf",
			Decisions: []string{"confirmed install [by tui]"}},
		{Step: "start", State: "pending"},
		{Step: "check", State: "pending"},
	}
}

// TestResumeView: a journal in progress opens on the resume view, which shows
// done, in doubt (with the action) and pending; r goes on to the plan review.
func TestResumeView(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := Options{Mode: "upgrade", StateDir: "/var/tmp/mswizard", Status: resumeStatus,
		Backout: func(context.Context, func(wizard.Event), func(context.Context, wizard.Question) (bool, error)) error {
			return nil
		}}
	m := newModel(ctx, cancel, o, asciiRenderer())
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if m.screen != scrResume {
		t.Fatalf("screen %v, want the resume view", m.screen)
	}
	m.Update(planMsg{mode: "upgrade", plan: samplePlan()})
	if m.screen != scrResume {
		t.Fatal("the plan arriving left the resume view")
	}
	v := m.View()
	checkSize(t, v, 80, 24)
	for _, want := range []string{"2 done, 1 in doubt", "? in-doubt  install", "./setup -s install.inf", "2 pending: start, check", "r resume", "b back out", "s status"} {
		if !strings.Contains(v, want) {
			t.Errorf("resume view lacks %q", want)
		}
	}
	golden(t, "resume", v)
	checkSize(t, m.View(), 80, 24)
	m.Update(tea.WindowSizeMsg{Width: 40, Height: 10})
	checkSize(t, m.View(), 40, 10)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})

	m.Update(press("r"))
	if m.screen != scrPlan || !strings.Contains(m.View(), "review the plan") {
		t.Fatalf("r did not go on to the plan review: %v", m.screen)
	}
}

func TestResumeBackoutAndStatus(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	backedOut := false
	o := Options{Mode: "upgrade", StateDir: "/s", Status: resumeStatus,
		BackoutPlan: func(context.Context) ([]wizard.BackoutStep, error) {
			return []wizard.BackoutStep{{ID: "stop", Title: "Stop the services", Actions: []wizard.PlannedAction{{Summary: "start-msg"}}}}, nil
		},
		Backout: func(context.Context, func(wizard.Event), func(context.Context, wizard.Question) (bool, error)) error {
			backedOut = true
			return nil
		}}
	m := newModel(ctx, cancel, o, asciiRenderer())
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.Update(planMsg{mode: "upgrade", plan: samplePlan()})
	_, cmd := m.Update(press("b"))
	if m.o.Mode != "backout" || cmd == nil {
		t.Fatal("b did not switch to the backout")
	}
	m.Update(planMsg{mode: "upgrade", plan: samplePlan()}) // stale: dropped
	if m.screen != scrLoading {
		t.Fatal("a stale upgrade plan was shown")
	}
	m.Update(cmd())
	if m.screen != scrPlan || !strings.Contains(m.View(), "undo stop") {
		t.Fatalf("no backout plan review:\n%s", m.View())
	}
	_, cmd = m.Update(press("enter"))
	drive(t, m, cmd, func(wizard.Question) bool { return true })
	if !backedOut || !strings.Contains(m.View(), "backout complete") {
		t.Fatalf("backout did not run:\n%s", m.View())
	}

	// s prints the status after the program and quits.
	m = newModel(ctx, cancel, o, asciiRenderer())
	_, cmd = m.Update(press("s"))
	if cmd == nil || cmd() != tea.Quit() || !m.printStatus {
		t.Fatal("s did not quit to print the status")
	}
	if s := m.statusText(); !strings.Contains(s, "  in-doubt   install  — action 1 began") {
		t.Errorf("status text:\n%s", s)
	}
}

func samplePreflight() *Preflight {
	return &Preflight{ServerRoot: "/opt/iplanet/server5", Instance: "budgie", Installed: "5.1", Target: "5.2",
		Regime: "plain", DirectoryURL: "ldap://ldap.siroe.com:389/o=siroe.com",
		BackupDir: "/backup/mswizard", Backup: wizard.Count{Name: "backup-free-bytes", Value: 3 << 30, Text: "3.0 GiB free on /backup"}, QueueDir: "/opt/iplanet/server5/msg-budgie/imta/queue", Queue: wizard.Count{Name: "queue-messages", Value: 42, Text: "42 message file(s) in the queue"}}
}

// TestPreflightScreen: the detected host and the findings come before the plan
// review; enter goes on to it.
func TestPreflightScreen(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := newModel(ctx, cancel, Options{Mode: "upgrade", Preflight: samplePreflight()}, asciiRenderer())
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.Update(planMsg{plan: samplePlan()})
	if m.screen != scrPreflight {
		t.Fatalf("screen %v, want preflight", m.screen)
	}
	v := m.View()
	checkSize(t, v, 80, 24)
	for _, want := range []string{"server root:   /opt/iplanet/server5", "msg-budgie", "5.1 installed → 5.2", "(answers)", "3.0 GiB free", "42 message file(s)", "[warning] PRE-DISK-001", "fix: free some space", "enter"} {
		if !strings.Contains(v, want) {
			t.Errorf("preflight lacks %q", want)
		}
	}
	golden(t, "preflight", v)
	m.Update(press("enter"))
	if m.screen != scrPlan {
		t.Fatal("enter did not go on to the plan review")
	}
}

// TestPreflightInhibitor: an unwaived inhibitor blocks; the operator can only
// quit or see how to waive it.
func TestPreflightInhibitor(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pf := samplePreflight()
	pf.DirectoryErr = "connection refused"
	m := newModel(ctx, cancel, Options{Mode: "upgrade", Preflight: pf}, asciiRenderer())
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	plan := samplePlan()
	plan.Findings = append(plan.Findings,
		wizard.Finding{ID: "PRE-LDAP-001", Severity: wizard.Inhibitor, Message: "the user directory does not answer", Remediation: "start the directory"},
		wizard.Finding{ID: "PRE-QUEUE-002", Severity: wizard.Inhibitor, Message: "queue not empty", Remediation: "drain it", Waived: true})
	m.Update(planMsg{plan: plan})
	m.Update(press("enter"))
	if m.screen != scrPreflight || m.started {
		t.Fatal("enter went past an inhibitor")
	}
	m.Update(press("w"))
	v := m.View()
	checkSize(t, v, 80, 24)
	for _, want := range []string{"1 inhibitor(s) block", "does not answer:", "connection refused", "[inhibitor] PRE-LDAP-001", "[inhibitor, waived] PRE-QUEUE-002", "Waive = PRE-LDAP-001"} {
		if !strings.Contains(v, want) {
			t.Errorf("blocked preflight lacks %q:\n%s", want, v)
		}
	}
	if strings.Contains(v, "enter") {
		t.Error("a blocked preflight offers enter")
	}
	golden(t, "preflight-blocked", v)
	m.Update(tea.WindowSizeMsg{Width: 40, Height: 10})
	checkSize(t, m.View(), 40, 10)
	_, cmd := m.Update(press("q"))
	if cmd == nil || cmd() != tea.Quit() {
		t.Fatal("q did not quit")
	}
}

func sp(s string) *string { return &s }

// sampleDiff is a review as the configuration merge offers it; the viewer
// knows nothing of the step or its files.
func sampleDiff() *wizard.Review {
	unified := "--- backup.20261128/config/local.conf\n+++ msg-budgie/config/local.conf\n@@ -1,3 +1,4 @@\n service.imap.port = \"143\"\n-store.quotawarn = \"90\"\n+store.quotawarn = \"80\"\n+store.expirestart = \"1\"\n local.hostname = \"budgie\"\n"
	return &wizard.Review{Step: configStep, Title: "config diff", Old: "/srv/msg-budgie/backup.20261128", New: "/srv/msg-budgie",
		Files: []wizard.ReviewFile{
			{Path: "config/local.conf", Status: "changed", Unified: unified, Items: []wizard.ReviewItem{
				{Key: "store.quotawarn", Kind: "changed", Reason: "both-changed", Open: true},
				{Key: "store.expirestart", Kind: "added", Reason: "vendor-added", Outcome: "kept new"},
			}},
			{Path: "imta/config/mappings", Status: "changed", Unified: "--- a\n+++ b\n@@ -1 +1 @@\n-PORT_ACCESS *|*|*|*|* $Y\n+PORT_ACCESS *|*|*|*|* $C$|INTERNAL_IP;$3|$Y$E\n", Items: []wizard.ReviewItem{
				{Key: "PORT_ACCESS", Kind: "changed", Reason: "customized", Outcome: "re-applied"},
			}},
		},
		Open: []wizard.ReviewChoice{{File: "config/local.conf", Key: "store.quotawarn", Old: sp("90"), New: sp("80"), Options: []wizard.Option{
			{Key: "r", Value: "reapply", Label: `re-apply yours "90"`, Help: "re-apply"},
			{Key: "k", Value: "keep-new", Label: `keep the new "80"`, Help: "keep new"},
		}}},
	}
}

// configStep is the step that offers the review in these tests; the viewer
// learns its ID from Options.Review, never from its own code.
const configStep = "upgrade/merge"

// TestConfigDiffViewer: a failed config-diff step opens the viewer on the
// conflict's file; r decides it, w writes the decision and reruns.
func TestConfigDiffViewer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var saved []wizard.Decision
	runs := 0
	o := Options{Mode: "upgrade", StateDir: "/s", ReportPath: "/s/report.md",
		Review: &Review{Step: configStep, Title: "config diff",
			Load: func(context.Context) (*wizard.Review, error) { return sampleDiff(), nil },
			Save: func(_ context.Context, ds []wizard.Decision) error {
				saved = ds
				return nil
			}},
		Run: func(ctx context.Context, ev func(wizard.Event), _ func(context.Context, wizard.Question) (bool, error)) error {
			runs++
			ev(wizard.Event{Kind: wizard.EvStepStart, Step: configStep, Title: "Re-apply the configuration customizations"})
			if runs == 1 {
				ev(wizard.Event{Kind: wizard.EvActionFailed, Step: configStep, Error: "1 conflict"})
				return errors.New("step upgrade/config-diff needs a decision")
			}
			ev(wizard.Event{Kind: wizard.EvStepDone, Step: configStep})
			return nil
		}}
	m := newModel(ctx, cancel, o, asciiRenderer())
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.Update(planMsg{plan: &wizard.PlanReport{Steps: []wizard.PlannedStep{{ID: configStep, Title: "Re-apply the configuration customizations"}}}})
	_, cmd := m.Update(press("enter"))
	queue := []tea.Cmd{cmd}
	for len(queue) > 0 && m.screen != scrDiff {
		msg := queue[0]()
		queue = queue[1:]
		if b, ok := msg.(tea.BatchMsg); ok {
			queue = append(queue, b...)
			continue
		}
		if _, ok := msg.(eventMsg); !ok {
			if _, ok := msg.(runDoneMsg); !ok {
				continue
			}
		}
		_, next := m.Update(msg)
		if next != nil {
			queue = append(queue, next)
		}
	}
	if m.screen != scrDiff {
		t.Fatal("a failed config-diff step did not open the viewer")
	}
	m.Update(queue[len(queue)-1]()) // the comparison
	v := m.View()
	checkSize(t, v, 80, 24)
	for _, want := range []string{"1/2 config/local.conf (changed)", "store.quotawarn  [both-changed]  CONFLICT: undecided", "store.expirestart  [vendor-added]  kept new", "-store.quotawarn = \"90\"", "+store.expirestart", "conflict 1/1", "r re-apply yours \"90\"", "k keep the new \"80\""} {
		if !strings.Contains(v, want) {
			t.Errorf("viewer lacks %q", want)
		}
	}
	golden(t, "diff", v)
	m.Update(press("w"))
	if saved != nil || !strings.Contains(m.View(), "0 of 1 conflict(s) decided") {
		t.Fatal("w wrote before every conflict was decided")
	}
	m.Update(tea.KeyMsg{Type: tea.KeyTab})
	if v := m.View(); !strings.Contains(v, "imta/config/mappings") || !strings.Contains(v, "PORT_ACCESS  [customized]  re-applied") {
		t.Errorf("tab did not show the next file:\n%s", v)
	}
	m.Update(press("r"))
	if v := m.View(); !strings.Contains(v, "(1/1 decided)") {
		t.Errorf("r did not decide:\n%s", v)
	}
	m.Update(press("c"))
	if !strings.Contains(m.View(), "CONFLICT → reapply") {
		t.Error("the decision is not shown on the conflict")
	}
	_, cmd = m.Update(press("w"))
	_, cmd = m.Update(cmd())
	if len(saved) != 1 || saved[0] != (wizard.Decision{File: "config/local.conf", Key: "store.quotawarn", Choice: "reapply"}) {
		t.Fatalf("saved %v", saved)
	}
	if m.screen != scrRun {
		t.Fatalf("no rerun after the decisions: screen %v", m.screen)
	}
	drive(t, m, cmd, func(wizard.Question) bool { return true })
	if runs != 2 || m.runErr != nil || !strings.Contains(m.View(), "upgrade complete") {
		t.Fatalf("rerun: runs %d err %v\n%s", runs, m.runErr, m.View())
	}
	// d opens it again from the final screen; esc comes back.
	_, cmd = m.Update(press("d"))
	m.Update(cmd())
	if m.screen != scrDiff {
		t.Fatal("d did not open the viewer")
	}
	m.Update(tea.WindowSizeMsg{Width: 40, Height: 10})
	checkSize(t, m.View(), 40, 10)
	m.Update(tea.KeyMsg{Type: tea.KeyEsc})
	if m.screen != scrFinal {
		t.Fatal("esc did not go back")
	}
}

// TestFinalBackout: after a failed upgrade the final screen says where the
// report, backups and LDIF are, and b runs the backout in the same program.
func TestFinalBackout(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	backedOut := false
	o := Options{Mode: "upgrade", StateDir: "/var/tmp/mswizard", ReportPath: "/var/tmp/mswizard/report.md",
		BackupDir: "/backup/mswizard", LDIFDir: "/var/tmp/mswizard/ldif",
		BackoutPlan: func(context.Context) ([]wizard.BackoutStep, error) {
			return []wizard.BackoutStep{{ID: "stop", Title: "Stop the services", Actions: []wizard.PlannedAction{{Summary: "start-msg"}}}}, nil
		},
		Backout: func(ctx context.Context, ev func(wizard.Event), _ func(context.Context, wizard.Question) (bool, error)) error {
			backedOut = true
			ev(wizard.Event{Kind: wizard.EvStepStart, Step: "stop", Undo: true})
			ev(wizard.Event{Kind: wizard.EvStepDone, Step: "stop", Undo: true})
			return nil
		}}
	m := newModel(ctx, cancel, o, asciiRenderer())
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.Update(planMsg{plan: samplePlan()})
	midRun(m)
	m.onEvent(wizard.Event{Kind: wizard.EvActionFailed, Step: "install", Error: "setup: exit status 1"})
	m.finished = false
	m.Update(runDoneMsg{err: &wizard.StepError{Step: "install", Summary: "./setup -s install.inf", Err: errors.New("exit status 1")}})
	v := m.View()
	checkSize(t, v, 80, 24)
	for _, want := range []string{"report: /var/tmp/mswizard/report.md", "backups: /backup/mswizard", "LDIF:   /var/tmp/mswizard/ldif", "press b to back out now", "b back out"} {
		if !strings.Contains(v, want) {
			t.Errorf("final screen lacks %q:\n%s", want, v)
		}
	}
	golden(t, "final-backout", v)
	_, cmd := m.Update(press("b"))
	m.Update(cmd())
	if m.screen != scrPlan || !strings.Contains(m.View(), "undo stop") {
		t.Fatalf("b did not show the backout plan:\n%s", m.View())
	}
	_, cmd = m.Update(press("enter"))
	drive(t, m, cmd, func(wizard.Question) bool { return true })
	if v := m.View(); !backedOut || !strings.Contains(v, "backout complete") || strings.Contains(v, "press b") {
		t.Fatalf("backout did not run:\n%s", v)
	}
}

func TestAStepDoneByAnEarlierRunCountsAsDone(t *testing.T) {
	m := testModel(t, 80, 24)
	midRun(m)
	m.onEvent(wizard.Event{Kind: wizard.EvStepSkipped, Step: "install", Message: "already done in the journal", Journal: wizard.StateDone})
	m.onEvent(wizard.Event{Kind: wizard.EvStepSkipped, Step: "start", Message: "already running"})
	m.Update(runDoneMsg{})
	v := m.View()
	if !strings.Contains(v, "1 skipped") {
		t.Errorf("the step whose goal already held is not the only skipped one:\n%s", v)
	}
}

func TestTheBackoutScreenShowsTheProcedureAndItsSkips(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	proc := "The appendix's backout order:\n stop:\n  1. iPlanet Delegated Administrator: skipped, not installed\n"
	m := newModel(ctx, cancel, Options{Mode: "backout", BackoutProcedure: proc}, asciiRenderer())
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 40})
	m.Update(planMsg{backout: []wizard.BackoutStep{{ID: "stop/web", Title: "Stop the web server instances", Stage: "start 4"}}})
	if v := m.View(); !strings.Contains(v, "1. iPlanet Delegated Administrator: skipped, not installed") {
		t.Errorf("the backout screen does not show the procedure:\n%s", v)
	}
}

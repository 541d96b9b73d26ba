// Package tui is the interactive face of mswizard: a Bubble Tea program that
// shows the plan, runs the engine in a goroutine and renders its events. Like
// every face it only renders events; the run itself belongs to the engine.
package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"mswizard/wizard"
)

// StatusLine is one step of a run in progress, shown when resuming.
type StatusLine struct {
	Step  string
	State string
	Note  string
	// Decisions taken on the step, one line each (journal.Decision.String).
	Decisions []string
}

// Options say what the interactive face runs.
type Options struct {
	Mode string // "upgrade" or "backout"
	// What names the run in the titles when it is not a backout: "upgrade"
	// when empty, "runbook qmail-daemontools" for a runbook file's run.
	What        string
	Plan        func(ctx context.Context) (*wizard.PlanReport, error)
	BackoutPlan func(ctx context.Context) ([]wizard.BackoutStep, error)
	// BackoutProcedure, when set, is shown under the backout plan: the
	// procedure's components in their order, or why each is skipped.
	BackoutProcedure string
	// Run runs the engine; it reports through events and asks through ask, which
	// blocks until the operator answers or ctx ends.
	Run        func(ctx context.Context, events func(wizard.Event), ask func(context.Context, wizard.Question) (bool, error)) error
	StateDir   string
	ReportPath string
	// Status is the journal of a run in progress, one line per step. When any
	// step is not pending the program opens on the resume view: resume (r),
	// back out (b) or print the status and quit (s).
	Status func() []StatusLine
	// Preflight, when set, is shown before the plan review: what was detected
	// on the host and the plan's findings; unwaived inhibitors stop there.
	Preflight *Preflight
	// Backout runs the backout in the same program (from the resume view, or
	// from the final screen after a failed upgrade); nil offers no backout.
	Backout func(ctx context.Context, events func(wizard.Event), ask func(context.Context, wizard.Question) (bool, error)) error
	// Review is what a step of the runbook offers for review (d on the final
	// screen; opened by itself when that step fails); nil offers none.
	Review *Review
	// BackupDir and LDIFDir are shown on the final screen with the report.
	BackupDir, LDIFDir string
}

// Run shows the plan, runs it when the operator says so, and returns the run's
// error (wizard.ErrInterrupted after an abort at a safe point). Quitting from the
// plan review runs nothing and returns nil.
func Run(ctx context.Context, o Options, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := newModel(ctx, cancel, o, rendererFor(out))
	p := tea.NewProgram(m, tea.WithInput(in), tea.WithOutput(out), tea.WithContext(ctx), tea.WithoutSignalHandler())
	final, perr := p.Run()
	// The program is gone: nothing reads the channel any more.
	close(m.quit)
	fm, _ := final.(*model)
	if fm == nil {
		fm = m
	}
	if fm.started && !fm.finished {
		// The program ended under a running engine: stop it at a safe point and wait.
		cancel()
		err := <-m.done
		if perr != nil && !errors.Is(perr, tea.ErrProgramKilled) {
			return errors.Join(err, perr)
		}
		return err
	}
	if fm.printStatus {
		if _, err := io.WriteString(out, fm.statusText()); err != nil {
			return err
		}
	}
	if fm.finished {
		return fm.runErr
	}
	if fm.planErr != nil {
		return fm.planErr
	}
	if perr != nil && !errors.Is(perr, tea.ErrProgramKilled) {
		return perr
	}
	return nil
}

// rendererFor returns a renderer for out that honours NO_COLOR and TERM=dumb.
func rendererFor(out io.Writer) *lipgloss.Renderer {
	r := lipgloss.NewRenderer(out)
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		r.SetColorProfile(termenv.Ascii)
	}
	return r
}

// Messages from the run goroutine.
type (
	planMsg struct {
		mode    string // the mode it was read for; a stale plan is dropped
		plan    *wizard.PlanReport
		backout []wizard.BackoutStep
		err     error
	}
	eventMsg wizard.Event
	askMsg   struct {
		q     wizard.Question
		reply chan bool
	}
	runDoneMsg struct{ err error }
)

// startRun launches the engine in a goroutine; its events, questions and end
// come back through m.ch. A second run (a backout after a failed upgrade, a
// rerun after config decisions) starts from a clean slate.
func (m *model) startRun() tea.Cmd {
	select {
	case <-m.done: // the previous run's result, already shown
	default:
	}
	m.started, m.finished, m.runErr, m.aborting = true, false, nil, false
	m.tail, m.action, m.progress = nil, "", nil
	ch, quit, done := m.ch, m.quit, m.done
	ctx := m.ctx
	send := func(msg tea.Msg) bool {
		select {
		case ch <- msg:
			return true
		case <-quit:
			return false
		}
	}
	events := func(e wizard.Event) { send(eventMsg(e)) }
	ask := func(actx context.Context, q wizard.Question) (bool, error) {
		reply := make(chan bool, 1)
		if !send(askMsg{q: q, reply: reply}) {
			return false, wizard.ErrInterrupted
		}
		select {
		case yes := <-reply:
			return yes, nil
		case <-actx.Done():
			return false, actx.Err()
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	run := m.o.Run
	if m.o.Mode == "backout" && m.o.Backout != nil {
		run = m.o.Backout
	}
	go func() {
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("the run panicked: %v", r)
				}
			}()
			if run == nil {
				err = errors.New("tui: no Run function")
				return
			}
			err = run(ctx, events, ask)
		}()
		done <- err
		send(runDoneMsg{err: err})
	}()
	return m.wait()
}

// wait reads the next message of the run goroutine.
func (m *model) wait() tea.Cmd {
	ch := m.ch
	return func() tea.Msg { return <-ch }
}

// loadPlan reads the plan; I/O stays in a Cmd.
func (m *model) loadPlan() tea.Cmd {
	o, ctx := m.o, m.ctx
	return func() tea.Msg {
		if o.Mode == "backout" {
			if o.BackoutPlan == nil {
				return planMsg{mode: o.Mode}
			}
			bs, err := o.BackoutPlan(ctx)
			return planMsg{mode: o.Mode, backout: bs, err: err}
		}
		if o.Plan == nil {
			return planMsg{mode: o.Mode, plan: &wizard.PlanReport{}}
		}
		p, err := o.Plan(ctx)
		return planMsg{mode: o.Mode, plan: p, err: err}
	}
}

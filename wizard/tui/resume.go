package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"mswizard/wizard"
)

// inProgress says whether the journal records a run in progress: any step that
// is not pending.
func (m *model) inProgress() bool {
	for _, s := range m.status {
		if s.State != string(wizard.StatePending) && s.State != "" {
			return true
		}
	}
	return false
}

func (k keyMap) resumeKeys() []key.Binding {
	ks := []key.Binding{k.Resume}
	if k.canBackout != nil && k.canBackout() {
		ks = append(ks, k.Backout)
	}
	return append(ks, k.Status, k.Quit)
}

// afterPlan leaves the loading screen once the plan is read: the preflight
// screen first when there is one to show, then the plan review.
func (m *model) afterPlan() {
	if m.planErr != nil {
		m.screen = scrFinal
		return
	}
	if m.o.Mode != "backout" && m.o.Preflight != nil && !m.preflightOK {
		m.screen = scrPreflight
	} else {
		m.screen = scrPlan
	}
	m.layoutPlan()
}

func (m *model) onResumeKey(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch {
	case key.Matches(k, m.keys.Abort, m.keys.Quit):
		m.quitEarly = true
		return m, tea.Quit
	case key.Matches(k, m.keys.Status):
		m.printStatus = true
		return m, tea.Quit
	case key.Matches(k, m.keys.Resume, m.keys.Start):
		m.resumeOK = true
		if m.planLoaded {
			m.afterPlan()
		} else {
			m.screen = scrLoading
		}
		return m, nil
	case key.Matches(k, m.keys.Backout) && m.o.Backout != nil:
		return m, m.switchToBackout()
	}
	return m, nil
}

// switchToBackout turns the program into a backout: its plan is read and shown
// for review; nothing runs until the operator starts it.
func (m *model) switchToBackout() tea.Cmd {
	m.o.Mode = "backout"
	m.o.Run = m.o.Backout
	m.planLoaded, m.plan, m.backout, m.planErr = false, nil, nil, nil
	m.screen = scrLoading
	m.started = false
	return m.loadPlan()
}

func (m *model) statusGlyph(state string) string {
	switch wizard.StepState(state) {
	case wizard.StateDone:
		return m.st.ok.Render("✓")
	case wizard.StateSkipped:
		return m.st.dim.Render("–")
	case wizard.StateInDoubt:
		return m.st.bad.Render("?")
	case wizard.StateFailed:
		return m.st.bad.Render("✗")
	case wizard.StateRunning:
		return m.st.warn.Render("◐")
	case wizard.StateUndone:
		return m.st.dim.Render("↶")
	}
	return m.st.dim.Render("·")
}

// resumeView is the journal of a run in progress: what is done, what is in
// doubt (with the action that began and has no outcome) and what is pending.
func (m *model) resumeView() []string {
	var done, doubt, pending, other int
	var detail, pend []string
	for _, s := range m.status {
		switch wizard.StepState(s.State) {
		case wizard.StateDone, wizard.StateSkipped:
			done++
		case wizard.StateInDoubt:
			doubt++
		case wizard.StatePending, "":
			pending++
			pend = append(pend, s.Step)
			continue
		default:
			other++
		}
		line := fmt.Sprintf("%s %-9s %s", m.statusGlyph(s.State), s.State, s.Step)
		if wizard.StepState(s.State) == wizard.StateInDoubt {
			line = fmt.Sprintf("%s %-9s %s", m.statusGlyph(s.State), s.State, m.st.bold.Render(s.Step))
		}
		detail = append(detail, line)
		if s.Note != "" {
			note := "            " + s.Note
			if wizard.StepState(s.State) == wizard.StateInDoubt || wizard.StepState(s.State) == wizard.StateFailed {
				note = m.st.bad.Render(note)
			} else {
				note = m.st.dim.Render(note)
			}
			detail = append(detail, note)
		}
		for _, d := range s.Decisions {
			detail = append(detail, m.st.dim.Render("            decided: "+d))
		}
	}
	out := []string{
		m.st.title.Render("mswizard — a run is in progress in " + m.o.StateDir),
		fmt.Sprintf("%d done, %d in doubt, %d failed or partial, %d pending", done, doubt, other, pending),
		"",
	}
	var tail []string
	if len(pend) > 0 {
		tail = append(tail, m.st.dim.Render(fmt.Sprintf("· %d pending: %s", len(pend), strings.Join(pend, ", "))))
	}
	tail = append(tail, "")
	switch {
	case doubt > 0:
		tail = append(tail, m.st.warn.Render("An action began and has no outcome: resuming lets its step decide, or asks you."))
	default:
		tail = append(tail, "Resume where the run stopped, or back out what it did.")
	}
	room := m.hgt - len(out) - len(tail) - 1 - m.helpHeight()
	if room < 1 {
		room = 1
	}
	if len(detail) > room {
		cut := len(detail) - room + 1
		detail = append([]string{m.st.dim.Render(fmt.Sprintf("  … %d earlier line(s)", cut))}, detail[cut:]...)
	}
	out = append(out, detail...)
	return append(out, tail...)
}

func (m *model) helpHeight() int { return strings.Count(m.help.View(m.keys), "\n") + 1 }

// statusText is what s prints after the program ends: the status lines, plain.
func (m *model) statusText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "state directory: %s\n", m.o.StateDir)
	for _, s := range m.status {
		line := fmt.Sprintf("  %-10s %s", s.State, s.Step)
		if s.Note != "" {
			line += "  — " + s.Note
		}
		b.WriteString(line + "\n")
		for _, d := range s.Decisions {
			b.WriteString("               decided: " + d + "\n")
		}
	}
	return b.String()
}

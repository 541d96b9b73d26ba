package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"mswizard/wizard"
)

type screen int

const (
	scrLoading screen = iota
	scrResume
	scrPreflight
	scrPlan
	scrRun
	scrFinal
	scrDiff
)

// Step statuses on the run screen.
const (
	stPending = "pending"
	stRunning = "running"
	stDone    = "done"
	stSkipped = "skipped"
	stFailed  = "failed"
)

type stepRow struct {
	id, title, status string
}

const tailLines = 8

type keyMap struct {
	Start, Quit, Up, Down, Yes, No, Abort, Help key.Binding
	Resume, Backout, Status, Waive, Next        key.Binding
	Diff, File, Conflict, Write                 key.Binding
	Back                                        key.Binding
	screen                                      func() screen
	asking, canBackout, blocked                 func() bool
	canDiff, canFinalBackout, hasConflicts      func() bool
	decideKeys                                  func() []key.Binding
}

func newKeys() keyMap {
	return keyMap{
		Start: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "start")),
		Quit:  key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		Up:    key.NewBinding(key.WithKeys("up", "k", "pgup"), key.WithHelp("↑/k", "scroll up")),
		Down:  key.NewBinding(key.WithKeys("down", "j", "pgdown", " "), key.WithHelp("↓/j", "scroll down")),
		Yes:   key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes")),
		No:    key.NewBinding(key.WithKeys("n", "N"), key.WithHelp("n", "no")),
		Abort: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "abort at a safe point")),
		Help:  key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),

		Resume:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "resume")),
		Backout: key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "back out")),
		Status:  key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "status and quit")),
		Waive:   key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "how to waive")),
		Next:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "review the plan")),

		Diff:     key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "config diff")),
		File:     key.NewBinding(key.WithKeys("tab", "n"), key.WithHelp("tab", "file")),
		Conflict: key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "conflict")),
		Write:    key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "write")),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
	}
}

func (k keyMap) ShortHelp() []key.Binding {
	if k.asking() {
		return []key.Binding{k.Yes, k.No}
	}
	switch k.screen() {
	case scrResume:
		return k.resumeKeys()
	case scrPreflight:
		if k.blocked != nil && k.blocked() {
			return []key.Binding{k.Waive, k.Quit, k.Help}
		}
		return []key.Binding{k.Next, k.Quit, k.Help}
	case scrPlan:
		return []key.Binding{k.Start, k.Quit, k.Help}
	case scrRun:
		return []key.Binding{k.Abort, k.Help}
	case scrFinal:
		ks := []key.Binding{k.Quit}
		if k.canDiff != nil && k.canDiff() {
			ks = append(ks, k.Diff)
		}
		if k.canFinalBackout != nil && k.canFinalBackout() {
			ks = append(ks, k.Backout)
		}
		return ks
	case scrDiff:
		if k.hasConflicts != nil && k.hasConflicts() {
			ks := []key.Binding{k.File, k.Conflict}
			ks = append(ks, k.decideKeys()...)
			return append(ks, k.Write, k.Back)
		}
		return []key.Binding{k.File, k.Back}
	}
	return []key.Binding{k.Abort}
}

func (k keyMap) FullHelp() [][]key.Binding {
	switch k.screen() {
	case scrPlan:
		return [][]key.Binding{{k.Start, k.Quit}, {k.Up, k.Down}, {k.Abort, k.Help}}
	case scrRun:
		return [][]key.Binding{{k.Yes, k.No}, {k.Abort, k.Help}}
	}
	return [][]key.Binding{k.ShortHelp()}
}

type styles struct {
	title, dim, ok, bad, warn, bold, box lipgloss.Style
}

func newStyles(r *lipgloss.Renderer) styles {
	return styles{
		title: r.NewStyle().Bold(true).Foreground(lipgloss.Color("12")),
		dim:   r.NewStyle().Faint(true),
		ok:    r.NewStyle().Foreground(lipgloss.Color("10")),
		bad:   r.NewStyle().Foreground(lipgloss.Color("9")).Bold(true),
		warn:  r.NewStyle().Foreground(lipgloss.Color("11")),
		bold:  r.NewStyle().Bold(true),
		box:   r.NewStyle().Border(lipgloss.NormalBorder()).Padding(0, 1),
	}
}

type model struct {
	o      Options
	ctx    context.Context
	cancel context.CancelFunc
	ch     chan tea.Msg
	quit   chan struct{}
	done   chan error

	st    styles
	keys  keyMap
	help  help.Model
	spin  spinner.Model
	vp    viewport.Model
	width int
	hgt   int

	screen   screen
	plan     *wizard.PlanReport
	backout  []wizard.BackoutStep
	planErr  error
	status   []StatusLine
	rows     []stepRow
	findings []wizard.Finding
	action   string
	progress *wizard.Progress
	tail     []string

	ask       *askMsg
	abortAsk  bool
	aborting  bool
	started   bool
	finished  bool
	runErr    error
	quitEarly bool

	planLoaded  bool
	preflightOK bool // the preflight screen has been left with enter
	showWaive   bool

	diff        *wizard.Review
	diffErr     error
	diffFile    int // the one shown, in diffFiles
	conflictSel int
	choices     map[[2]string]string // file, key -> the chosen option's value
	diffNote    string
	resumeOK    bool // the resume view has been left with r
	printStatus bool // s on the resume view: print the status after the program
}

func newModel(ctx context.Context, cancel context.CancelFunc, o Options, r *lipgloss.Renderer) *model {
	if o.Mode == "" {
		o.Mode = "upgrade"
	}
	m := &model{
		o: o, ctx: ctx, cancel: cancel,
		ch: make(chan tea.Msg), quit: make(chan struct{}), done: make(chan error, 1),
		st: newStyles(r), help: help.New(), width: 80, hgt: 24,
	}
	m.keys = newKeys()
	m.keys.screen = func() screen { return m.screen }
	m.keys.asking = func() bool { return m.ask != nil || m.abortAsk }
	m.spin = spinner.New(spinner.WithSpinner(spinner.Line), spinner.WithStyle(r.NewStyle()))
	m.help.Styles.ShortKey = r.NewStyle().Bold(true)
	m.help.Styles.FullKey = r.NewStyle().Bold(true)
	m.help.Styles.ShortDesc = r.NewStyle()
	m.help.Styles.FullDesc = r.NewStyle()
	m.help.Styles.ShortSeparator = r.NewStyle()
	m.help.Styles.FullSeparator = r.NewStyle()
	m.help.Styles.Ellipsis = r.NewStyle()
	m.vp = viewport.New(80, 20)
	if o.Status != nil {
		m.status = o.Status()
	}
	m.keys.canBackout = func() bool { return m.o.Backout != nil }
	m.keys.blocked = func() bool { return len(m.blocking()) > 0 }
	m.keys.canDiff = m.canDiff
	m.keys.canFinalBackout = m.canFinalBackout
	m.keys.hasConflicts = func() bool { return len(m.conflicts()) > 0 }
	m.keys.decideKeys = m.decideKeys
	m.keys.Diff.SetHelp("d", m.reviewTitle())
	if m.inProgress() {
		m.screen = scrResume
	}
	return m
}

func (m *model) Init() tea.Cmd { return tea.Batch(m.loadPlan(), m.spin.Tick) }

func (m *model) verb() string {
	if m.o.Mode == "backout" {
		return "backout"
	}
	if m.o.What != "" {
		return m.o.What
	}
	return "upgrade"
}

func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.hgt = msg.Width, msg.Height
		m.help.Width = msg.Width
		m.layoutPlan()
		return m, nil
	case spinner.TickMsg:
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case planMsg:
		if msg.mode != "" && msg.mode != m.o.Mode {
			return m, nil // read for a mode the operator has left
		}
		m.planLoaded = true
		if msg.err != nil {
			m.planErr = msg.err
			if m.screen != scrResume {
				m.screen = scrFinal
			}
			return m, nil
		}
		m.plan, m.backout = msg.plan, msg.backout
		m.buildRows()
		if m.screen != scrResume {
			m.afterPlan()
		}
		return m, nil
	case eventMsg:
		cmd := m.onEvent(wizard.Event(msg))
		return m, tea.Batch(cmd, m.wait())
	case askMsg:
		m.ask = &msg
		return m, m.wait()
	case runDoneMsg:
		m.finished, m.runErr = true, msg.err
		m.ask, m.abortAsk = nil, false
		m.screen = scrFinal
		configFailed := false
		for i := range m.rows {
			if m.rows[i].status == stRunning {
				if msg.err != nil {
					m.rows[i].status = stFailed
				} else {
					m.rows[i].status = stDone
				}
			}
			if m.o.Review != nil && m.rows[i].id == m.o.Review.Step && m.rows[i].status == stFailed {
				configFailed = true
			}
		}
		if configFailed && m.canDiff() {
			return m, m.openDiff()
		}
		return m, nil
	case diffMsg:
		if m.screen != scrDiff {
			return m, nil
		}
		m.diffErr = msg.err
		if msg.err == nil {
			m.setDiff(msg.d)
		}
		m.layoutPlan()
		return m, nil
	case decisionsSavedMsg:
		return m, m.onDecisionsSaved(msg.err)
	case tea.KeyMsg:
		return m.onKey(msg)
	}
	if m.screen == scrPlan || m.screen == scrPreflight || m.screen == scrDiff {
		var cmd tea.Cmd
		m.vp, cmd = m.vp.Update(msg)
		return m, cmd
	}
	return m, nil
}

func (m *model) onKey(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	if key.Matches(k, m.keys.Help) && m.ask == nil && !m.abortAsk {
		m.help.ShowAll = !m.help.ShowAll
		m.layoutPlan()
		return m, nil
	}
	switch m.screen {
	case scrResume:
		return m.onResumeKey(k)
	case scrPreflight:
		return m.onPreflightKey(k)
	case scrLoading:
		if key.Matches(k, m.keys.Abort, m.keys.Quit) {
			m.quitEarly = true
			m.cancel()
			return m, tea.Quit
		}
	case scrPlan:
		switch {
		case key.Matches(k, m.keys.Abort, m.keys.Quit):
			m.quitEarly = true
			return m, tea.Quit
		case key.Matches(k, m.keys.Start):
			m.screen = scrRun
			return m, m.startRun()
		}
		var cmd tea.Cmd
		m.vp, cmd = m.vp.Update(k)
		return m, cmd
	case scrRun:
		if m.abortAsk {
			switch {
			case key.Matches(k, m.keys.Yes, m.keys.Abort):
				m.abortAsk, m.aborting = false, true
				if m.ask != nil {
					// Stopping answers the pending question: no.
					m.ask.reply <- false
					m.ask = nil
				}
				m.cancel()
			case key.Matches(k, m.keys.No):
				m.abortAsk = false
			}
			return m, nil
		}
		if key.Matches(k, m.keys.Abort) {
			if !m.aborting {
				m.abortAsk = true
			}
			return m, nil
		}
		if m.ask != nil {
			switch {
			case key.Matches(k, m.keys.Yes):
				m.ask.reply <- true
				m.ask = nil
			case key.Matches(k, m.keys.No):
				m.ask.reply <- false
				m.ask = nil
			}
		}
	case scrFinal:
		switch {
		case key.Matches(k, m.keys.Quit, m.keys.Abort, m.keys.Start) || k.Type == tea.KeyEsc:
			return m, tea.Quit
		case key.Matches(k, m.keys.Diff) && m.canDiff():
			return m, m.openDiff()
		case key.Matches(k, m.keys.Backout) && m.canFinalBackout():
			return m, m.switchToBackout()
		}
	case scrDiff:
		return m.onDiffKey(k)
	}
	return m, nil
}

func (m *model) rowIndex(id, title string) int {
	if id == "" {
		return -1
	}
	for i, r := range m.rows {
		if r.id == id {
			if r.title == "" {
				m.rows[i].title = title
			}
			return i
		}
	}
	m.rows = append(m.rows, stepRow{id: id, title: title, status: stPending})
	return len(m.rows) - 1
}

func (m *model) onEvent(e wizard.Event) tea.Cmd {
	i := m.rowIndex(e.Step, e.Title)
	var cmd tea.Cmd
	switch e.Kind {
	case wizard.EvPreflight:
		m.findings = e.Findings
		for _, f := range e.Findings {
			if f.Severity == wizard.Inhibitor && !f.Waived {
				m.addTail(fmt.Sprintf("[inhibitor] %s: %s", f.ID, f.Message))
			}
		}
	case wizard.EvStepStart:
		m.rows[i].status = stRunning
		m.action, m.progress = "", nil
	case wizard.EvStepSkipped:
		m.rows[i].status = stSkipped
		if e.Journal == wizard.StateDone {
			m.rows[i].status = stDone // done by an earlier run of this journal
		}
		cmd = tea.Printf("– %s  %s (%s)", e.Step, m.rows[i].title, firstNonEmpty(e.Message, "goal already holds"))
	case wizard.EvActionBegin:
		m.action, m.progress = e.Summary, nil
	case wizard.EvActionDone:
		m.progress = nil
	case wizard.EvActionFailed:
		m.rows[i].status = stFailed
		m.addTail("failed: " + firstNonEmpty(e.Error, e.Message))
		cmd = tea.Printf("✗ %s  %s: %s", e.Step, m.rows[i].title, firstNonEmpty(e.Error, e.Message))
	case wizard.EvStepDone:
		m.rows[i].status = stDone
		m.action, m.progress = "", nil
		cmd = tea.Printf("✓ %s  %s", e.Step, m.rows[i].title)
	case wizard.EvOutput:
		m.addTail(e.Message)
	case wizard.EvProgress:
		m.progress = e.Progress
	case wizard.EvNote:
		m.addTail("note: " + e.Message)
	case wizard.EvRunEnd:
		if e.Error != "" {
			m.addTail(e.Error)
		}
	}
	return cmd
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func (m *model) addTail(s string) {
	m.tail = append(m.tail, strings.Split(strings.TrimRight(s, "\n"), "\n")...)
	if len(m.tail) > tailLines {
		m.tail = m.tail[len(m.tail)-tailLines:]
	}
}

func (m *model) buildRows() {
	m.rows = nil
	if m.plan != nil {
		for _, s := range m.plan.Steps {
			if s.LeftOut {
				continue
			}
			st := stPending
			switch s.Journal {
			case wizard.StateDone:
				st = stDone
			case wizard.StateSkipped:
				st = stSkipped
			}
			m.rows = append(m.rows, stepRow{id: s.ID, title: s.Title, status: st})
		}
	}
	for _, s := range m.backout {
		m.rows = append(m.rows, stepRow{id: s.ID, title: s.Title, status: stPending})
	}
}

// planText is what the plan review shows.
func (m *model) planText() string {
	var b strings.Builder
	if m.o.Mode == "backout" {
		if len(m.backout) == 0 {
			b.WriteString("Nothing to undo: the journal records no step that changed anything.\n")
		} else {
			b.WriteString(wizard.RenderBackoutPlan(m.backout))
			if m.o.BackoutProcedure != "" {
				b.WriteString("\n" + m.o.BackoutProcedure)
			}
		}
	} else if m.plan != nil {
		b.WriteString(wizard.RenderPlan(m.plan))
	}
	var out []string
	for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "!! POINT OF NO RETURN"), strings.HasPrefix(t, "[inhibitor]"), strings.HasPrefix(t, "cannot"), strings.HasPrefix(t, "(cannot be undone"):
			l = m.st.bad.Render(l)
		case strings.HasPrefix(t, "[warning"), strings.HasPrefix(t, "[inhibitor, waived"):
			l = m.st.warn.Render(l)
		case strings.HasPrefix(t, "$ "):
			l = m.st.bold.Render(l)
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

func (m *model) layoutPlan() {
	var text string
	switch m.screen {
	case scrPlan:
		text = m.planText()
	case scrPreflight:
		text = m.preflightText()
	case scrDiff:
		text = m.diffText()
	default:
		return
	}
	h := m.hgt - 2 - lipgloss.Height(m.help.View(m.keys))
	if m.screen == scrDiff {
		h = m.diffHeight()
	}
	if h < 1 {
		h = 1
	}
	w := max(m.width, 1)
	m.vp.Width, m.vp.Height = w, h
	wrapped := lipgloss.NewStyle().Width(w).Render(text)
	m.vp.SetContent(wrapped)
}

func (m *model) View() string {
	var parts []string
	switch m.screen {
	case scrLoading:
		parts = append(parts, m.st.title.Render("mswizard "+m.verb()), m.spin.View()+" reading the host and the journal…")
	case scrResume:
		parts = append(parts, m.resumeView()...)
	case scrPreflight:
		parts = append(parts, m.preflightTitle(), m.vp.View())
	case scrDiff:
		parts = append(parts, m.diffTitle(), m.vp.View())
		parts = append(parts, m.diffFooter()...)
	case scrPlan:
		parts = append(parts, m.st.title.Render(fmt.Sprintf("mswizard %s — review the plan (enter to start, q to quit)", m.verb())), m.vp.View())
	case scrRun:
		parts = append(parts, m.runView()...)
	case scrFinal:
		parts = append(parts, m.finalView())
	}
	parts = append(parts, m.help.View(m.keys))
	return m.fit(strings.Join(parts, "\n"))
}

// fit clips every line to the width and the whole to the height.
func (m *model) fit(s string) string {
	lines := strings.Split(s, "\n")
	if m.hgt > 0 && len(lines) > m.hgt {
		lines = lines[len(lines)-m.hgt:]
	}
	for i, l := range lines {
		if m.width > 0 {
			l = ansi.Truncate(l, m.width, "…")
		}
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

func (m *model) glyph(st string) string {
	switch st {
	case stDone:
		return m.st.ok.Render("✓")
	case stSkipped:
		return m.st.dim.Render("–")
	case stRunning:
		return m.spin.View()
	case stFailed:
		return m.st.bad.Render("✗")
	}
	return m.st.dim.Render("·")
}

func (m *model) runView() []string {
	done := 0
	cur := -1
	for i, r := range m.rows {
		if r.status == stDone || r.status == stSkipped {
			done++
		}
		if r.status == stRunning || (cur < 0 && r.status == stFailed) {
			cur = i
		}
	}
	header := m.st.title.Render(fmt.Sprintf("mswizard %s — %d/%d steps", m.verb(), done, len(m.rows)))
	if m.aborting {
		header += " " + m.st.warn.Render("stopping at a safe point…")
	}
	var below []string
	if m.action != "" {
		below = append(below, "$ "+m.action)
	}
	if p := m.progress; p != nil {
		below = append(below, m.progressLine(p))
	}
	if m.abortAsk {
		below = append(below, m.st.warn.Render("abort after the current action? (y/n)"))
	}
	if m.ask != nil {
		below = append(below, m.askView()...)
	}
	helpH := lipgloss.Height(m.help.View(m.keys))
	room := m.hgt - 1 - len(below) - helpH
	tail := m.tail
	maxTail := min(tailLines, room/2)
	if m.ask != nil {
		maxTail = 0
	}
	if maxTail < 0 {
		maxTail = 0
	}
	if len(tail) > maxTail {
		tail = tail[len(tail)-maxTail:]
	}
	stepRoom := max(room-len(tail), 1)
	start := 0
	if len(m.rows) > stepRoom && cur >= 0 {
		start = min(max(cur-stepRoom/2, 0), len(m.rows)-stepRoom)
	} else if len(m.rows) > stepRoom {
		start = max(done-stepRoom/2, 0)
		start = min(start, len(m.rows)-stepRoom)
	}
	end := min(start+stepRoom, len(m.rows))
	out := []string{header}
	for _, r := range m.rows[start:end] {
		line := fmt.Sprintf("%s %s  %s", m.glyph(r.status), r.id, m.st.dim.Render(r.title))
		if r.status == stRunning {
			line = fmt.Sprintf("%s %s  %s", m.glyph(r.status), m.st.bold.Render(r.id), r.title)
		}
		out = append(out, line)
	}
	out = append(out, below...)
	for _, t := range tail {
		out = append(out, m.st.dim.Render("  │ "+t))
	}
	return out
}

func (m *model) askView() []string {
	q := m.ask.q
	body := m.st.bold.Render(q.Prompt)
	if q.Detail != "" {
		body += "\n" + q.Detail
	}
	body += "\n" + m.st.warn.Render("(y/n)")
	w := max(m.width-4, 10)
	box := m.st.box.Width(w).Render(body)
	return strings.Split(box, "\n")
}

// progressLine is a long action's progress: a bar when the total is known and
// there is room, the percentage, the phase, the counts (bytes, files or
// entries), the rate and the ETA. A narrow terminal loses the bar first, then
// the bytes written, the rate, the file counts and the phase; the percentage,
// the counts and the ETA stay.
func (m *model) progressLine(p *wizard.Progress) string {
	frac, ok := p.Fraction()
	pct := ""
	if ok {
		pct = fmt.Sprintf("%3.0f%% ", frac*100)
	}
	q := *p
	drops := []func(){
		func() { q.DoneBytes = 0 },
		func() { q.Rate = 0 },
		func() { q.DoneFiles, q.TotalFiles = 0, 0 },
		func() { q.Phase = "" },
	}
	label := func() string {
		if q.Phase != "" {
			return pct + q.Phase + " " + q.Text()
		}
		return pct + q.Text()
	}
	room := m.width - 2
	l := label()
	for _, drop := range drops {
		if lipgloss.Width(l) <= room {
			break
		}
		drop()
		l = label()
	}
	if r := []rune(l); len(r) > room {
		l = string(r[:max(room-1, 0)]) + "…"
	}
	if barW := min(room-lipgloss.Width(l)-1, 30); ok && barW >= 8 {
		fill := int(frac * float64(barW))
		return "  " + strings.Repeat("█", fill) + strings.Repeat("░", barW-fill) + " " + l
	}
	return "  " + l
}

func (m *model) finalView() string {
	var b strings.Builder
	err := m.runErr
	if m.planErr != nil {
		err = m.planErr
	}
	switch {
	case err == nil:
		b.WriteString(m.st.ok.Render(fmt.Sprintf("✓ %s complete", m.verb())))
	case errors.Is(err, wizard.ErrInterrupted) || errors.Is(err, context.Canceled):
		b.WriteString(m.st.warn.Render(fmt.Sprintf("%s stopped at a safe point", m.verb())))
	case m.planErr != nil:
		b.WriteString(m.st.bad.Render("✗ could not plan the " + m.verb()))
	default:
		b.WriteString(m.st.bad.Render(fmt.Sprintf("✗ %s failed", m.verb())))
	}
	b.WriteString("\n")
	if m.started {
		done, skipped, failed := 0, 0, 0
		for _, r := range m.rows {
			switch r.status {
			case stDone:
				done++
			case stSkipped:
				skipped++
			case stFailed:
				failed++
			}
		}
		fmt.Fprintf(&b, "steps: %d done, %d skipped, %d failed, %d in all\n", done, skipped, failed, len(m.rows))
	}
	if err != nil {
		w := max(m.width, 20)
		b.WriteString(lipgloss.NewStyle().Width(w).Render(err.Error()))
		b.WriteString("\n")
	}
	if m.o.ReportPath != "" && m.started {
		fmt.Fprintf(&b, "report: %s\n", m.o.ReportPath)
	}
	if m.started && m.o.BackupDir != "" {
		fmt.Fprintf(&b, "backups: %s\n", m.o.BackupDir)
	}
	if m.started && m.o.LDIFDir != "" {
		fmt.Fprintf(&b, "LDIF:   %s\n", m.o.LDIFDir)
	}
	if m.o.StateDir != "" {
		fmt.Fprintf(&b, "state:  %s\n", m.o.StateDir)
	}
	if err != nil && m.started && m.o.Mode != "backout" {
		if errors.Is(err, wizard.ErrInterrupted) || errors.Is(err, context.Canceled) {
			b.WriteString("run `mswizard upgrade` again to resume, or ")
		}
		b.WriteString("run `mswizard backout` to back out\n")
		if m.canFinalBackout() {
			b.WriteString(m.st.warn.Render("press b to back out now: its plan is shown first, nothing runs before enter") + "\n")
		}
	}
	if m.canDiff() && m.started {
		b.WriteString("press d to see the " + m.reviewTitle() + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// canDiff says whether the config diff viewer can be opened: an upgrade whose
// caller can read the comparison.
func (m *model) canDiff() bool {
	return m.o.Review != nil && m.o.Review.Load != nil && m.o.Mode != "backout"
}

// canFinalBackout says whether the final screen offers a backout: an upgrade
// that failed or stopped, with a backout to run.
func (m *model) canFinalBackout() bool {
	return m.o.Backout != nil && m.o.Mode != "backout" && m.started && m.finished && m.runErr != nil
}

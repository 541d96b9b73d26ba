package tui

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"mswizard/wizard"
)

// Review is a step's offer of decisions to review (the configuration merge
// offers its comparison and its conflicts). The viewer knows neither the step
// nor the product: it renders the wizard.Review the step computed and hands
// the operator's decisions back.
type Review struct {
	// Step is the step that offers the review: its failure opens the viewer.
	Step string
	// Title names the review on the final screen and in the viewer ("config diff").
	Title string
	// Load reads the review, read-only.
	Load func(ctx context.Context) (*wizard.Review, error)
	// Save writes the decisions where the step reads them (the answers), so the
	// next run goes on with them.
	Save func(ctx context.Context, ds []wizard.Decision) error
}

type (
	diffMsg struct {
		d   *wizard.Review
		err error
	}
	decisionsSavedMsg struct{ err error }
)

func (m *model) loadDiff() tea.Cmd {
	f, ctx := m.o.Review.Load, m.ctx
	return func() tea.Msg {
		d, err := f(ctx)
		return diffMsg{d: d, err: err}
	}
}

// openDiff shows the viewer, reading the review in a Cmd.
func (m *model) openDiff() tea.Cmd {
	m.screen = scrDiff
	m.diff, m.diffErr, m.diffNote = nil, nil, ""
	return m.loadDiff()
}

// setDiff takes in a review.
func (m *model) setDiff(d *wizard.Review) {
	m.diff, m.diffFile, m.conflictSel = d, 0, 0
	if m.choices == nil {
		m.choices = map[[2]string]string{}
	}
	if d == nil {
		return
	}
	if cs := m.conflicts(); len(cs) > 0 {
		m.showConflictFile(0)
	}
}

func (m *model) files() []wizard.ReviewFile {
	if m.diff == nil {
		return nil
	}
	return m.diff.Files
}

func (m *model) conflicts() []wizard.ReviewChoice {
	if m.diff == nil {
		return nil
	}
	return m.diff.Open
}

// showConflictFile selects conflict i and shows its file.
func (m *model) showConflictFile(i int) {
	cs := m.conflicts()
	if i < 0 || i >= len(cs) {
		return
	}
	m.conflictSel = i
	for n, f := range m.files() {
		if f.Path == cs[i].File {
			m.diffFile = n
		}
	}
}

// optionFor is the option of the selected conflict bound to the pressed key.
func (m *model) optionFor(k tea.KeyMsg) (wizard.Option, bool) {
	cs := m.conflicts()
	if len(cs) == 0 {
		return wizard.Option{}, false
	}
	for _, o := range cs[m.conflictSel].Options {
		if o.Key == k.String() {
			return o, true
		}
	}
	return wizard.Option{}, false
}

// decideKeys are the help entries of the selected conflict's options.
func (m *model) decideKeys() []key.Binding {
	cs := m.conflicts()
	if len(cs) == 0 {
		return nil
	}
	var out []key.Binding
	for _, o := range cs[m.conflictSel].Options {
		h := o.Help
		if h == "" {
			h = o.Value
		}
		out = append(out, key.NewBinding(key.WithKeys(o.Key), key.WithHelp(o.Key, h)))
	}
	return out
}

func (m *model) onDiffKey(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	cs := m.conflicts()
	fs := m.files()
	opt, isOption := m.optionFor(k)
	switch {
	case key.Matches(k, m.keys.Abort, m.keys.Quit) || k.Type == tea.KeyEsc:
		m.screen = scrFinal
		return m, nil
	case isOption:
		c := cs[m.conflictSel]
		m.choices[[2]string{c.File, c.Key}] = opt.Value
		m.diffNote = ""
		// Go on to the next undecided conflict.
		for j := 1; j <= len(cs); j++ {
			n := (m.conflictSel + j) % len(cs)
			if _, ok := m.choices[[2]string{cs[n].File, cs[n].Key}]; !ok {
				m.showConflictFile(n)
				break
			}
		}
	case k.Type == tea.KeyTab || k.String() == "n":
		if len(fs) > 0 {
			m.diffFile = (m.diffFile + 1) % len(fs)
		}
	case k.Type == tea.KeyShiftTab || k.String() == "p":
		if len(fs) > 0 {
			m.diffFile = (m.diffFile + len(fs) - 1) % len(fs)
		}
	case k.String() == "c" && len(cs) > 0:
		m.showConflictFile((m.conflictSel + 1) % len(cs))
	case k.String() == "w" && len(cs) > 0:
		ds := m.decisions()
		if len(ds) < len(cs) {
			m.diffNote = fmt.Sprintf("%d of %d conflict(s) decided: decide each before writing", len(ds), len(cs))
			break
		}
		if m.o.Review.Save == nil {
			m.diffNote = "cannot write decisions here"
			break
		}
		save, ctx := m.o.Review.Save, m.ctx
		m.diffNote = "writing the decisions into the answers…"
		return m, func() tea.Msg { return decisionsSavedMsg{err: save(ctx, ds)} }
	default:
		var cmd tea.Cmd
		m.vp, cmd = m.vp.Update(k)
		return m, cmd
	}
	m.layoutPlan()
	m.vp.GotoTop()
	return m, nil
}

// decisions are the operator's choices, in the order of the conflicts.
func (m *model) decisions() []wizard.Decision {
	var out []wizard.Decision
	for _, c := range m.conflicts() {
		if ch, ok := m.choices[[2]string{c.File, c.Key}]; ok {
			out = append(out, wizard.Decision{File: c.File, Key: c.Key, Choice: ch})
		}
	}
	return out
}

// onDecisionsSaved reruns the upgrade: the runner resumes at the failed step
// that offered the review, which goes on with the decisions.
func (m *model) onDecisionsSaved(err error) tea.Cmd {
	if err != nil {
		m.diffNote = "could not write the decisions: " + err.Error()
		return nil
	}
	for i := range m.rows {
		if m.rows[i].status == stFailed {
			m.rows[i].status = stPending
		}
	}
	m.choices = nil
	m.screen = scrRun
	return m.startRun()
}

func (m *model) reviewTitle() string {
	if m.o.Review != nil && m.o.Review.Title != "" {
		return m.o.Review.Title
	}
	return "review"
}

func (m *model) diffTitle() string {
	t := "mswizard " + m.reviewTitle()
	if m.diffErr != nil {
		return m.st.bad.Render(t + " — cannot compare")
	}
	if m.diff == nil {
		return m.st.title.Render(t) + " " + m.spin.View() + " comparing…"
	}
	fs := m.files()
	if len(fs) == 0 {
		return m.st.title.Render(t + " — no file differs")
	}
	f := fs[m.diffFile]
	return m.st.title.Render(fmt.Sprintf("%s — %d/%d %s (%s)", t, m.diffFile+1, len(fs), f.Path, f.Status))
}

// diffFooter is the conflict being decided and what to press.
func (m *model) diffFooter() []string {
	var out []string
	if cs := m.conflicts(); len(cs) > 0 {
		c := cs[m.conflictSel]
		out = append(out, m.st.bad.Render(fmt.Sprintf("conflict %d/%d: %s %s", m.conflictSel+1, len(cs), c.File, c.Key)))
		var opts []string
		for _, o := range c.Options {
			opts = append(opts, o.Key+" "+o.Label)
		}
		opts = append(opts, fmt.Sprintf("w write and rerun (%d/%d decided)", len(m.decisions()), len(cs)))
		out = append(out, "  "+strings.Join(opts, " · "))
	}
	if m.diffNote != "" {
		out = append(out, m.st.warn.Render(m.diffNote))
	}
	return out
}

// outcome is what the step did, or will do, with one item.
func (m *model) outcome(file string, it wizard.ReviewItem) (string, bool) {
	if it.Open {
		if ch, ok := m.choices[[2]string{file, it.Key}]; ok {
			return "CONFLICT → " + ch, true
		}
		return "CONFLICT: undecided", true
	}
	return it.Outcome, false
}

// diffText is the selected file: its keyed changes with their outcome, then
// its unified diff, coloured.
func (m *model) diffText() string {
	if m.diffErr != nil {
		return m.st.bad.Render(m.diffErr.Error())
	}
	fs := m.files()
	if len(fs) == 0 {
		if m.diff != nil && m.diff.Note != "" {
			return m.diff.Note
		}
		return ""
	}
	f := fs[m.diffFile]
	var b strings.Builder
	if f.Binary {
		b.WriteString("binary files differ\n")
	}
	for _, c := range f.Items {
		line := fmt.Sprintf("  %-7s %s", c.Kind, c.Key)
		if c.Reason != "" {
			line += "  [" + c.Reason + "]"
		}
		out, conflict := m.outcome(f.Path, c)
		if out != "" {
			line += "  " + out
		}
		if conflict {
			line = m.st.bad.Render(line)
		}
		b.WriteString(line + "\n")
	}
	if f.Unified != "" {
		b.WriteString("\n")
	}
	for _, l := range strings.Split(strings.TrimRight(f.Unified, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
			l = m.st.bold.Render(l)
		case strings.HasPrefix(l, "@@"):
			l = m.st.title.Render(l)
		case strings.HasPrefix(l, "+"):
			l = m.st.ok.Render(l)
		case strings.HasPrefix(l, "-"):
			l = m.st.bad.Render(l)
		}
		b.WriteString(l + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// diffHeight is the viewport's share of the screen on the diff viewer.
func (m *model) diffHeight() int {
	return m.hgt - 1 - len(m.diffFooter()) - m.helpHeight()
}

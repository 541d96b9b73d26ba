package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"mswizard/steps/configdiff"
)

// ConfigDiff is what the config diff viewer shows: the read-only comparison of
// msg-INSTANCE/backup.TIMESTAMP with the live files (per file, its changes and
// unified diff) and the merge's outcome per key.
type ConfigDiff struct {
	Report *configdiff.Report
	Result *configdiff.Result // nil when the merge cannot be planned yet
}

type (
	diffMsg struct {
		d   *ConfigDiff
		err error
	}
	decisionsSavedMsg struct{ err error }
)

// configStep is the runbook step whose failure opens the viewer by itself.
const configStep = "upgrade/config-diff"

func (m *model) loadDiff() tea.Cmd {
	f, ctx := m.o.ConfigDiff, m.ctx
	return func() tea.Msg {
		d, err := f(ctx)
		return diffMsg{d: d, err: err}
	}
}

// openDiff shows the viewer, reading the comparison in a Cmd.
func (m *model) openDiff() tea.Cmd {
	m.screen = scrDiff
	m.diff, m.diffErr, m.diffNote = nil, nil, ""
	return m.loadDiff()
}

// setDiff takes in a comparison: only the files that differ are shown.
func (m *model) setDiff(d *ConfigDiff) {
	m.diff, m.diffFiles, m.diffFile, m.conflictSel = d, nil, 0, 0
	if m.choices == nil {
		m.choices = map[[2]string]configdiff.Choice{}
	}
	if d == nil || d.Report == nil {
		return
	}
	for i, f := range d.Report.Files {
		if f.Status != configdiff.StatusSame {
			m.diffFiles = append(m.diffFiles, i)
		}
	}
	if cs := m.conflicts(); len(cs) > 0 {
		m.showConflictFile(0)
	}
}

func (m *model) conflicts() []configdiff.Resolution {
	if m.diff == nil || m.diff.Result == nil {
		return nil
	}
	return m.diff.Result.Conflicts
}

// showConflictFile selects conflict i and shows its file.
func (m *model) showConflictFile(i int) {
	cs := m.conflicts()
	if i < 0 || i >= len(cs) {
		return
	}
	m.conflictSel = i
	for n, fi := range m.diffFiles {
		if m.diff.Report.Files[fi].Path == cs[i].File {
			m.diffFile = n
		}
	}
}

func (m *model) onDiffKey(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	cs := m.conflicts()
	switch {
	case key.Matches(k, m.keys.Abort, m.keys.Quit) || k.Type == tea.KeyEsc:
		m.screen = scrFinal
		return m, nil
	case k.Type == tea.KeyTab || k.String() == "n":
		if len(m.diffFiles) > 0 {
			m.diffFile = (m.diffFile + 1) % len(m.diffFiles)
		}
	case k.Type == tea.KeyShiftTab || k.String() == "p":
		if len(m.diffFiles) > 0 {
			m.diffFile = (m.diffFile + len(m.diffFiles) - 1) % len(m.diffFiles)
		}
	case k.String() == "c" && len(cs) > 0:
		m.showConflictFile((m.conflictSel + 1) % len(cs))
	case (k.String() == "r" || k.String() == "k") && len(cs) > 0:
		c := cs[m.conflictSel]
		choice := configdiff.ChoiceReapply
		if k.String() == "k" {
			choice = configdiff.ChoiceKeepNew
		}
		m.choices[[2]string{c.File, c.Key}] = choice
		m.diffNote = ""
		// Go on to the next undecided conflict.
		for j := 1; j <= len(cs); j++ {
			n := (m.conflictSel + j) % len(cs)
			if _, ok := m.choices[[2]string{cs[n].File, cs[n].Key}]; !ok {
				m.showConflictFile(n)
				break
			}
		}
	case k.String() == "w" && len(cs) > 0:
		ds := m.decisions()
		if len(ds) < len(cs) {
			m.diffNote = fmt.Sprintf("%d of %d conflict(s) decided: decide each (r or k) before writing", len(ds), len(cs))
			break
		}
		if m.o.SaveDecisions == nil {
			m.diffNote = "cannot write decisions here"
			break
		}
		save, ctx := m.o.SaveDecisions, m.ctx
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
func (m *model) decisions() []configdiff.Decision {
	var out []configdiff.Decision
	for _, c := range m.conflicts() {
		if ch, ok := m.choices[[2]string{c.File, c.Key}]; ok {
			out = append(out, configdiff.Decision{File: c.File, Key: c.Key, Choice: ch})
		}
	}
	return out
}

// onDecisionsSaved reruns the upgrade: the runner resumes at the failed
// config-diff step, which merges again with the decisions.
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

func (m *model) diffTitle() string {
	if m.diffErr != nil {
		return m.st.bad.Render("mswizard config diff — cannot compare")
	}
	if m.diff == nil {
		return m.st.title.Render("mswizard config diff") + " " + m.spin.View() + " comparing…"
	}
	if len(m.diffFiles) == 0 {
		return m.st.title.Render("mswizard config diff — no file differs")
	}
	f := m.diff.Report.Files[m.diffFiles[m.diffFile]]
	return m.st.title.Render(fmt.Sprintf("mswizard config diff — %d/%d %s (%s)", m.diffFile+1, len(m.diffFiles), f.Path, f.Status))
}

// diffFooter is the conflict being decided and what to press.
func (m *model) diffFooter() []string {
	var out []string
	if cs := m.conflicts(); len(cs) > 0 {
		c := cs[m.conflictSel]
		out = append(out, m.st.bad.Render(fmt.Sprintf("conflict %d/%d: %s %s", m.conflictSel+1, len(cs), c.File, c.Key)))
		out = append(out, fmt.Sprintf("  r re-apply yours %s · k keep the new %s · w write and rerun (%d/%d decided)",
			shortVal(c.Old), shortVal(c.New), len(m.decisions()), len(cs)))
	}
	if m.diffNote != "" {
		out = append(out, m.st.warn.Render(m.diffNote))
	}
	return out
}

func shortVal(v *string) string {
	if v == nil {
		return "absent"
	}
	s := strings.ReplaceAll(*v, "\n", " ")
	if len(s) > 24 {
		s = s[:23] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// outcome is what the merge did, or will do, with one key.
func (m *model) outcome(file, k string) (string, bool) {
	if m.diff == nil || m.diff.Result == nil {
		return "", false
	}
	r := m.diff.Result
	for _, x := range r.Conflicts {
		if x.File == file && x.Key == k {
			if ch, ok := m.choices[[2]string{file, k}]; ok {
				return "CONFLICT → " + string(ch), true
			}
			return "CONFLICT: undecided", true
		}
	}
	for _, x := range r.Reapplied {
		if x.File == file && x.Key == k {
			return "re-applied", false
		}
	}
	for _, x := range r.Kept {
		if x.File == file && x.Key == k {
			return "kept new", false
		}
	}
	return "", false
}

// diffText is the selected file: its keyed changes with their outcome, then
// its unified diff, coloured.
func (m *model) diffText() string {
	if m.diffErr != nil {
		return m.st.bad.Render(m.diffErr.Error())
	}
	if m.diff == nil || len(m.diffFiles) == 0 {
		return ""
	}
	f := m.diff.Report.Files[m.diffFiles[m.diffFile]]
	var b strings.Builder
	if f.Binary {
		b.WriteString("binary files differ\n")
	}
	for _, c := range f.Changes {
		line := fmt.Sprintf("  %-7s %s", c.Kind, c.Key)
		if c.Reason != "" {
			line += "  [" + string(c.Reason) + "]"
		}
		out, conflict := m.outcome(f.Path, c.Key)
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

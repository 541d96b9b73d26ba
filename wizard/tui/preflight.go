package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"mswizard/wizard"
)

// Preflight is what the wizard detected on the host, computed by the caller
// before the program starts so the model stays pure. Negative numbers mean
// unknown.
type Preflight struct {
	ServerRoot, Instance string
	Installed, Target    string // `imsimta version` cross-checked with setup/install.inf (host-facts F-VER-001, F-VER-002), and the answers' TargetVersion
	Regime               string
	DirectoryURL         string
	DirectoryErr         string // "" when the directory answered a bind
	BackupDir            string
	// Backup and Queue are what the steps that act on them computed (their
	// wizard.Count), never a count of the screen's own: "" when unknown.
	Backup   wizard.Count // free space where the backups go
	QueueDir string
	Queue    wizard.Count // the messages backup/queue would save
}

// blocking lists the unwaived inhibitors of the plan.
func (m *model) blocking() []wizard.Finding {
	var out []wizard.Finding
	if m.plan == nil {
		return nil
	}
	for _, f := range m.plan.Findings {
		if f.Severity == wizard.Inhibitor && !f.Waived {
			out = append(out, f)
		}
	}
	return out
}

func (m *model) onPreflightKey(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch {
	case key.Matches(k, m.keys.Abort, m.keys.Quit):
		m.quitEarly = true
		return m, tea.Quit
	case key.Matches(k, m.keys.Waive):
		m.showWaive = !m.showWaive
		m.layoutPlan()
		if m.showWaive {
			m.vp.GotoBottom()
		}
		return m, nil
	case key.Matches(k, m.keys.Start) && len(m.blocking()) == 0:
		m.preflightOK = true
		m.screen = scrPlan
		m.layoutPlan()
		return m, nil
	}
	var cmd tea.Cmd
	m.vp, cmd = m.vp.Update(k)
	return m, cmd
}

func (m *model) preflightTitle() string {
	if n := len(m.blocking()); n > 0 {
		return m.st.bad.Render(fmt.Sprintf("mswizard upgrade — preflight: %d inhibitor(s) block the upgrade", n))
	}
	return m.st.title.Render("mswizard upgrade — preflight (enter to review the plan, q to quit)")
}

// preflightText is what was detected, then the findings with their fixes.
func (m *model) preflightText() string {
	p := m.o.Preflight
	var b strings.Builder
	row := func(k, v string) { fmt.Fprintf(&b, "%-14s %s\n", k+":", v) }
	row("server root", p.ServerRoot)
	row("instance", "msg-"+p.Instance)
	row("version", fmt.Sprintf("%s installed → %s", orUnknown(p.Installed), orUnknown(p.Target)))
	row("regime", p.Regime)
	if p.DirectoryErr == "" {
		row("directory", p.DirectoryURL+" "+m.st.ok.Render("(answers)"))
	} else {
		row("directory", p.DirectoryURL+" "+m.st.bad.Render("(does not answer: "+p.DirectoryErr+")"))
	}
	row("backups", fmt.Sprintf("%s (%s)", p.BackupDir, countText(p.Backup)))
	row("queue", fmt.Sprintf("%s (%s)", p.QueueDir, countText(p.Queue)))
	b.WriteString("\n")
	var fs []wizard.Finding
	if m.plan != nil {
		fs = m.plan.Findings
	}
	if len(fs) == 0 {
		b.WriteString(m.st.ok.Render("No findings: nothing stands in the way.") + "\n")
	} else {
		b.WriteString(m.st.bold.Render("Findings:") + "\n")
	}
	for _, f := range fs {
		tag := string(f.Severity)
		style := m.st.warn
		if f.Severity == wizard.Inhibitor {
			if f.Waived {
				tag += ", waived"
			} else {
				style = m.st.bad
			}
		}
		b.WriteString(style.Render(fmt.Sprintf("[%s] %s: %s", tag, f.ID, f.Message)) + "\n")
		if f.Remediation != "" {
			fmt.Fprintf(&b, "    fix: %s\n", f.Remediation)
		}
	}
	if bl := m.blocking(); len(bl) > 0 {
		b.WriteString("\n")
		b.WriteString(m.st.bad.Render("The upgrade cannot start: fix the inhibitors and run mswizard again,") + "\n")
		b.WriteString(m.st.bad.Render("or waive them (w shows how). q quits; nothing has been changed.") + "\n")
		if m.showWaive {
			b.WriteString("\nTo waive, add to the [Wizard] section of the answers file, one line each:\n")
			for _, f := range bl {
				fmt.Fprintf(&b, "  Waive = %s <why it is safe here>\n", f.ID)
			}
			b.WriteString("The waiver and its reason are journaled with the finding.\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// countText is how the step said a count; "unknown" when it could not.
func countText(c wizard.Count) string {
	if c.Value < 0 || c.Text == "" {
		if c.Text != "" {
			return "unknown: " + c.Text
		}
		return "unknown"
	}
	return c.Text
}

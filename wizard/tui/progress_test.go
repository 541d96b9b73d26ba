package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"

	"mswizard/wizard"
)

// TestProgressLineGolden: the run screen's progress line for each long
// action (archive, verify, restore, LDIF export), with and without a total,
// at 80 and 40 columns; never wider than the terminal.
func TestProgressLineGolden(t *testing.T) {
	cases := []struct {
		name string
		p    wizard.Progress
	}{
		{"archive with totals from preflight", wizard.Progress{Phase: "archive", What: "bytes", Done: 300 << 20, Total: 1200 << 20, DoneFiles: 2500, TotalFiles: 10000,
			Elapsed: 30 * time.Second, Rate: 10 << 20, ETA: 90 * time.Second, ETAKnown: true}},
		{"archive without a total", wizard.Progress{Phase: "archive", What: "bytes", Done: 300 << 20, DoneFiles: 2500, Elapsed: 30 * time.Second, Rate: 10 << 20}},
		{"verify, nearly done", wizard.Progress{Phase: "verify", What: "bytes", Done: 1190 << 20, Total: 1200 << 20, DoneFiles: 9990, TotalFiles: 10000,
			Elapsed: 60 * time.Second, Rate: 19 << 20, ETA: 500 * time.Millisecond, ETAKnown: true}},
		{"restore of a large tree", wizard.Progress{Phase: "restore", What: "bytes", Done: 40 << 30, Total: 120 << 30, DoneFiles: 1_000_000, TotalFiles: 3_000_000,
			Elapsed: 20 * time.Minute, Rate: 34 << 20, ETA: 2*time.Hour + 5*time.Minute, ETAKnown: true}},
		{"LDIF export against the server's count", wizard.Progress{Phase: "export", What: "entries", Done: 12000, Total: 48000, DoneBytes: 9 << 20,
			Elapsed: 4 * time.Second, Rate: 3000, ETA: 12 * time.Second, ETAKnown: true}},
		{"the first report, no rate yet", wizard.Progress{Phase: "export", What: "entries", Done: 256, Total: 48000}},
	}
	var b strings.Builder
	for _, w := range []int{80, 40} {
		m := testModel(t, w, 24)
		for _, c := range cases {
			line := m.progressLine(&c.p)
			if lipgloss.Width(line) > w {
				t.Errorf("%d columns, %s: %d wide: %q", w, c.name, lipgloss.Width(line), line)
			}
			fmt.Fprintf(&b, "%d cols, %s:\n%s\n", w, c.name, line)
		}
	}
	golden(t, "progress", b.String())
}

// TestRunScreenShowsTheETA: a progress event reaches the run screen with its
// counts, rate and ETA, and the line goes with its action.
func TestRunScreenShowsTheETA(t *testing.T) {
	m := testModel(t, 80, 24)
	midRun(m)
	v := m.View()
	for _, want := range []string{"archive 512.0 MiB/1.0 GiB", "10/40 files", "8.0 MiB/s", "ETA 1m04s"} {
		if !strings.Contains(v, want) {
			t.Errorf("run screen lacks %q:\n%s", want, v)
		}
	}
	m.onEvent(wizard.Event{Kind: wizard.EvActionDone, Step: "install"})
	if strings.Contains(m.View(), "ETA") {
		t.Error("the progress line outlived its action")
	}
}

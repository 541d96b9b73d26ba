package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mswizard/fixtures/installer"
	"mswizard/fixtures/sim"
	"mswizard/wizard"
	"mswizard/wizard/journal"
)

// leaveInstallerInDoubt brings the host to the moment a wizard was killed while
// the installer ran: every step before it done, a begin record for the
// installer's action and no outcome; played plays the installer's fate.
func leaveInstallerInDoubt(t *testing.T, h *simHost, played func()) string {
	t.Helper()
	if out, code := run(t, h.bin, "upgrade", "--answers", h.inf, "--yes", "--until", "directory/schema"); code != 0 {
		t.Fatalf("upgrade --until directory/schema: exit %d\n%s", code, out)
	}
	out, code := run(t, h.bin, "plan", "--answers", h.inf, "--output", "json")
	if code != 0 {
		t.Fatalf("plan: exit %d\n%s", code, out)
	}
	var rep wizard.PlanReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	summary := ""
	for _, s := range rep.Steps {
		if s.ID == "upgrade/run-installer" && len(s.Actions) == 1 {
			summary = s.Actions[0].Summary
		}
	}
	if summary == "" {
		t.Fatal("the plan has no installer action")
	}
	j, err := journal.Open(h.w.StateDir(), journal.Options{Run: "killed"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(journal.Record{Kind: journal.KindConfirmed, Step: "upgrade/run-installer"}); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(journal.Record{Kind: journal.KindBegin, Step: "upgrade/run-installer", Summary: summary}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	played()
	return summary
}

// runInstaller runs the interactive installer as an operator would, its
// questions answered on stdin: the default components, 2 (upgrade), the
// detected configuration directory.
func runInstaller(t *testing.T, h *simHost) {
	t.Helper()
	cmd := exec.Command(h.w.Installer(), "-k")
	cmd.Stdin = strings.NewReader("\n2\n\n")
	out, _ := cmd.CombinedOutput()
	t.Logf("installer: %s", out)
}

func TestAnInstallerInDoubtIsResolvedFromEvidence(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)

	t.Run("it finished while the wizard was dead: recorded done, the run goes on", func(t *testing.T) {
		h := upHost(t, bin, hostOptions{seed: 21})
		leaveInstallerInDoubt(t, h, func() { runInstaller(t, h) })
		h.requireVersion(t, "5.2")
		out, code := run(t, h.bin, "upgrade", "--answers", h.inf, "--yes")
		if code != 0 {
			t.Fatalf("rerun: exit %d\n%s", code, out)
		}
		if strings.Contains(out, "Specify the components you wish to install") {
			t.Fatalf("the installer ran again:\n%s", out)
		}
		if s := h.stepStates(t)["upgrade/run-installer"]; s != wizard.StateDone {
			t.Fatalf("upgrade/run-installer is %s", s)
		}
		h.requireCustomizations(t)
	})

	t.Run("it died half-way: exit 3 with the choices, then retry restores and reruns it", func(t *testing.T) {
		h := upHost(t, bin, hostOptions{seed: 22})
		leaveInstallerInDoubt(t, h, func() {
			if err := sim.SetFault(h.w, installer.FaultDies, "after-move"); err != nil {
				t.Fatal(err)
			}
			runInstaller(t, h)
			os.Remove(filepath.Join(h.w.FaultsDir(), installer.FaultDies))
		})
		h.requireVersion(t, "5.1")
		out, code := run(t, h.bin, "upgrade", "--answers", h.inf, "--yes")
		if code != 3 || !strings.Contains(out, "upgrade/run-installer") || !strings.Contains(out, "mswizard resolve") {
			t.Fatalf("rerun: exit %d, want 3 naming the step and the choices\n%s", code, out)
		}
		if out, code := run(t, h.bin, "status", "--answers", h.inf); code != 0 || !strings.Contains(out, "in-doubt") {
			t.Fatalf("status does not show the step in doubt: exit %d\n%s", code, out)
		}
		if out, code := run(t, h.bin, "resolve", "upgrade/run-installer", "--retry", "--answers", h.inf); code != 0 {
			t.Fatalf("resolve: exit %d\n%s", code, out)
		}
		out, code = run(t, h.bin, "upgrade", "--answers", h.inf, "--yes")
		if code != 0 {
			t.Fatalf("after resolve --retry: exit %d\n%s", code, out)
		}
		h.requireVersion(t, "5.2")
		h.requireCustomizations(t)
		h.requirePortsAnswer(t)
	})
}

package main

import (
	"fmt"
	"maps"
	"time"

	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mswizard/fixtures/sim"
)

// TestDaemontoolsRegimeUpgradesAndBacksOut runs the whole runbook on a host
// whose messaging services run under real svscan/supervise (seed 001): the stops
// are `svc -d` with a down file so a reboot keeps them down, the starts remove
// the down files, svstat agrees, and a backout leaves no down file the wizard
// created.
func TestDaemontoolsRegimeUpgradesAndBacksOut(t *testing.T) {
	t.Parallel()
	requireTools(t)
	svstat, err := exec.LookPath("svstat")
	if err != nil {
		if testing.Short() {
			t.Skip("svstat missing")
		}
		t.Fatal("svstat is missing: install the Debian package daemontools (make test does)")
	}
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{regime: sim.RegimeDaemontools, wizard: []string{"QueueCheckWindow = 5s"}})
	svcDirs := func() []string {
		var dirs []string
		for _, s := range sim.DaemontoolsServices() {
			dirs = append(dirs, h.w.ServiceDir(s))
		}
		return dirs
	}
	downFiles := func() []string {
		var out []string
		for _, d := range svcDirs() {
			if _, err := os.Stat(filepath.Join(d, "down")); err == nil {
				out = append(out, d)
			}
		}
		return out
	}
	if left := downFiles(); len(left) != 0 {
		t.Fatalf("down files before the run: %v", left)
	}
	// supervise reports a service running as soon as it has forked it; its
	// port answers a moment later. The "before" snapshot waits for every port
	// of a supervised service (none has a down file), so a loaded machine
	// cannot take a service still binding for one the host does not run. The
	// world is a 5.1 host: it has no watcher.
	var before map[string]bool
	waitFor(t, func() bool {
		before = answering(t, h)
		for _, up := range before {
			if !up {
				return false
			}
		}
		return true
	}, 30*time.Second, func() string { return fmt.Sprintf("services not answering before the run: %v", before) })
	out, code := run(t, h.bin, "upgrade", "--answers", h.inf, "--yes", "--until", "backup/verify")
	if code != 0 {
		t.Fatalf("upgrade --until backup/verify: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "svc -d "+h.w.ServiceDir("dispatcher")) || strings.Contains(out, h.w.StopMsg()+"\n") {
		t.Fatalf("the stops do not go through svc -d:\n%s", out)
	}
	if got := downFiles(); len(got) != len(svcDirs()) {
		t.Fatalf("down files while stopped: %v, want one per service", got)
	}
	st, _ := exec.Command(svstat, svcDirs()...).CombinedOutput()
	if strings.Contains(string(st), ": up ") {
		t.Fatalf("svstat says a service is up while stopped:\n%s", st)
	}
	out, code = run(t, h.bin, "upgrade", "--answers", h.inf, "--yes")
	if code != 0 {
		t.Fatalf("upgrade: exit %d\n%s", code, out)
	}
	h.requireVersion(t, "5.2")
	if got := downFiles(); len(got) != 0 {
		t.Fatalf("down files after the starts: %v", got)
	}
	st, _ = exec.Command(svstat, svcDirs()...).CombinedOutput()
	if strings.Count(string(st), ": up ") != len(svcDirs()) {
		t.Fatalf("svstat after the upgrade:\n%s", st)
	}
	h.requirePortsAnswer(t)
	out, code = run(t, h.bin, "backout", "--answers", h.inf, "--yes")
	if code != 0 {
		t.Fatalf("backout: exit %d\n%s", code, out)
	}

	h.requireVersion(t, "5.1")
	if got := downFiles(); len(got) != 0 {
		t.Fatalf("down files after the backout: %v", got)
	}
	// The host runs what it ran before the upgrade.
	waitFor(t, func() bool { return maps.Equal(answering(t, h), before) }, 10*time.Second,
		func() string {
			return fmt.Sprintf("services answering after the backout %v, before the upgrade %v", answering(t, h), before)
		})
}

// answering says which of the host's service ports accept a connection now.
func answering(t *testing.T, h *simHost) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for name, sv := range h.endpoints(t) {
		out[name] = endpointAnswers(sv)
	}
	return out
}

func waitFor(t *testing.T, ok func() bool, d time.Duration, why func() string) {
	t.Helper()
	for deadline := time.Now().Add(d); !ok(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal(why())
		}
	}
}

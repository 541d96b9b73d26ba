package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"mswizard/wizard"
	"mswizard/wizard/journal"
)

// built is the real mswizard binary, built once per test run (TestMain
// removes it); it also plays the simulated services behind the world's
// scripts (`mswizard sim`).
var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// buildBinary returns the binary, building it on first use. Tests must not
// change or remove it: every test of the run shares it.
func buildBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "mswizard-test-bin-"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "mswizard")
		if out, err := exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

func run(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

func requireTools(t *testing.T) {
	t.Helper()
	for tool, pkg := range map[string]string{"slapd": "slapd", "ldapadd": "ldap-utils"} {
		if _, err := exec.LookPath(tool); err != nil {
			if _, err2 := os.Stat("/usr/sbin/" + tool); err2 != nil {
				if testing.Short() {
					t.Skipf("%s missing", tool)
				}
				t.Fatalf("%s is missing: install the Debian package %s (make test does)", tool, pkg)
			}
		}
	}
}

// TestBatchUpgradeOnTheSimulatedHost runs the real binary's batch face over the
// whole runbook: plan (no writes), upgrade with the answers file, status.
func TestBatchUpgradeOnTheSimulatedHost(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	// The world plants one conflict (the operator and 5.2 both changed a key);
	// upHost puts the operator's decision in the answers, as on an HA peer.
	h := upHost(t, bin, hostOptions{seed: 7})
	inf := h.inf

	out, code := run(t, bin, "plan", "--answers", inf)
	if code != 0 || !strings.Contains(out, "stop/dispatcher") || !strings.Contains(out, "POINT OF NO RETURN") {
		t.Fatalf("plan exit %d:\n%s", code, out)
	}
	if strings.Index(out, "imsimta stop dispatcher") > strings.Index(out, "stop-msg") {
		t.Errorf("the dispatcher is not stopped first:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(h.World.StateDir(), journal.FileName)); err == nil {
		t.Fatal("plan wrote a journal")
	}

	out, code = run(t, bin, "upgrade", "--answers", inf, "--yes")
	if code != 0 {
		t.Fatalf("upgrade exit %d:\n%s", code, out)
	}
	// The world is a 5.1 host: no watcher, so no auto-restart switch to turn
	// off or restore (host-facts F-SVC-004; the watcher path runs in
	// TestUpgradeAndBackoutOnDocumentedHosts' 6.x-like variant).
	for _, not := range []string{"configutil -o local.watcher", "local.autorestart -v", "start-msg watcher"} {
		if strings.Contains(out, not) {
			t.Errorf("the upgrade of a host without a watcher ran %q:\n%s", not, out)
		}
	}
	h.requireVersion(t, "5.2")
	local, _ := os.ReadFile(h.World.LocalConf())
	for _, c := range h.Manifest.Customizations {
		if c.Kind == "configutil" && c.File == "config/local.conf" && !strings.Contains(string(local), c.Key+" = "+c.Value) {
			t.Errorf("customization %s = %s lost in the upgrade", c.Key, c.Value)
		}
	}
	for _, name := range []string{"report.md", "report.html", "report.json", "backups.json", "ldif"} {
		if _, err := os.Stat(filepath.Join(h.World.StateDir(), name)); err != nil {
			t.Errorf("state directory lacks %s", name)
		}
	}
	requireReportRenders(t, h.World.StateDir())
	recs, err := journal.Read(h.World.StateDir())
	if err != nil {
		t.Fatal(err)
	}
	st := wizard.Fold(recs)
	for _, id := range []string{"stop/dispatcher", "backup/server-root", "upgrade/run-installer", "upgrade/config-diff", "post/start"} {
		if s := st.Step(id).State; s != wizard.StateDone {
			t.Errorf("%s is %s in the journal", id, s)
		}
	}
	// The bind password never reaches the journal, the log, the report or the
	// exports' headers (it is only in the 0600 secret file).
	pw, _ := os.ReadFile(filepath.Join(h.w.SecretsDir(), "ldap.pw"))
	secret := strings.TrimSpace(string(pw))
	if secret == "" {
		t.Fatal("the world has no bind password to look for")
	}
	logged, _ := os.ReadFile(filepath.Join(h.World.StateDir(), "mswizard.log"))
	if !strings.Contains(string(logged), `"msg":"action-begin"`) {
		t.Error("the structured log does not record the actions")
	}
	filepath.Walk(h.World.StateDir(), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), secret) {
				t.Errorf("%s holds the bind password", p)
			}
		}
		return nil
	})
	if strings.Contains(out, secret) {
		t.Error("the run's output holds the bind password")
	}
	// A rerun finds everything done and changes nothing.
	out, code = run(t, bin, "upgrade", "--answers", inf, "--yes")
	if code != 0 || strings.Contains(out, "$ ") {
		t.Fatalf("rerun exit %d ran actions:\n%s", code, out)
	}
	out, code = run(t, bin, "diff", "--answers", inf, "--keys-only")
	if code != 0 || !strings.Contains(out, "config/msg.conf (configutil)") || !strings.Contains(out, "[vendor-changed]") {
		t.Fatalf("diff exit %d:\n%s", code, out)
	}
	out, code = run(t, bin, "status", "--answers", inf)
	if code != 0 || !strings.Contains(out, "done       upgrade/run-installer") || !strings.Contains(out, backupIndex(t, h.World.StateDir())["server-root"].Archive) {
		t.Fatalf("status exit %d:\n%s", code, out)
	}
}

func TestNoTerminalAndNoAnswersExits2(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	out, code := run(t, bin, "upgrade")
	if code != 2 || !strings.Contains(out, "--answers") {
		t.Fatalf("exit %d: %s", code, out)
	}
	out, code = run(t, bin, "answers", "validate", filepath.Join(t.TempDir(), "missing.inf"))
	if code != 1 && code != 2 {
		t.Fatalf("exit %d: %s", code, out)
	}
}

// TestAPlantedMergeConflictStopsTheBatchRunWithBothValues: without a decision
// in the answers, the conflict the world plants (the operator and 5.2 both
// changed one key) is never resolved silently — exit 3, naming the key and the
// values, and the merge is replayable once a ConfigDecision is given.
func TestAPlantedMergeConflictStopsTheBatchRunWithBothValues(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{seed: 11, users: 10, undecided: true})
	if len(h.Manifest.Conflicts) == 0 {
		t.Fatal("the world plants no conflict")
	}
	c := h.Manifest.Conflicts[0]
	inf := h.inf
	out, code := run(t, bin, "upgrade", "--answers", inf, "--yes")
	if code != 3 {
		t.Fatalf("exit %d, want 3 for an undecided conflict:\n%s", code, out)
	}
	for _, want := range []string{c.Key, c.Operator, c.New, "ConfigDecision", "kept safe:", "server-root backup:", "(verified against its manifest)", ".ug.ldif"} {
		if !strings.Contains(out, want) {
			t.Errorf("the output does not show %q:\n%s", want, out)
		}
	}
	f, _ := os.OpenFile(inf, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("ConfigDecision = " + c.File + " " + c.Key + " reapply\n")
	f.Close()
	out, code = run(t, bin, "upgrade", "--answers", inf, "--yes")
	if code != 0 {
		t.Fatalf("rerun with the decision: exit %d\n%s", code, out)
	}
	local, _ := os.ReadFile(filepath.Join(h.World.MsgDir(), c.File))
	if !strings.Contains(string(local), c.Key+" = "+c.Operator) {
		t.Fatalf("%s does not hold the operator's %s = %s", c.File, c.Key, c.Operator)
	}
}

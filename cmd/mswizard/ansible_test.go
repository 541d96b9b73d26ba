package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mswizard/wizard/journal"
)

// TestAnsiblePlaybookStopsTheGroupAtTheFirstFailure runs the example playbook
// (examples/ansible/upgrade.yml) with Debian's ansible-core over three demo
// worlds on this machine, one inventory host each (connection local): the
// first upgrades, the second stops for a merge decision nobody gave, and the
// third is never touched. Both reports that exist are fetched.
func TestAnsiblePlaybookStopsTheGroupAtTheFirstFailure(t *testing.T) {
	t.Parallel()
	requireTools(t)
	playbookBin, err := exec.LookPath("ansible-playbook")
	if err != nil {
		if testing.Short() {
			t.Skip("ansible-playbook missing")
		}
		t.Fatal("ansible-playbook is missing: install the Debian package ansible-core (make test does)")
	}
	bin := buildBinary(t)
	hosts := []*simHost{
		upHost(t, bin, hostOptions{seed: 7}),
		upHost(t, bin, hostOptions{seed: 8, undecided: true}),
		upHost(t, bin, hostOptions{seed: 9}),
	}
	dir := t.TempDir()
	var inv strings.Builder
	inv.WriteString("[messaging]\n")
	for i, h := range hosts {
		fmt.Fprintf(&inv, "mail%d ansible_connection=local ansible_python_interpreter=/usr/bin/python3 mswizard=%s mswizard_answers=%s mswizard_state_dir=%s\n",
			i+1, bin, h.inf, h.World.StateDir())
	}
	if err := os.WriteFile(filepath.Join(dir, "inventory.ini"), []byte(inv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	reports := filepath.Join(dir, "reports")
	playbook, _ := filepath.Abs(filepath.Join("..", "..", "examples", "ansible", "upgrade.yml"))
	cmd := exec.Command(playbookBin, "-i", filepath.Join(dir, "inventory.ini"), playbook, "-e", "mswizard_reports="+reports)
	cmd.Env = append(os.Environ(), "ANSIBLE_HOME="+filepath.Join(dir, "ansible"), "ANSIBLE_LOCAL_TEMP="+filepath.Join(dir, "tmp"),
		"ANSIBLE_REMOTE_TEMP="+filepath.Join(dir, "tmp"), "ANSIBLE_NOCOLOR=1", "ANSIBLE_RETRY_FILES_ENABLED=0", "ANSIBLE_STDOUT_CALLBACK=default")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the playbook succeeded although mail2 needs a decision:\n%s", out)
	}
	text := string(out)
	if !strings.Contains(text, "changed: [mail1]") || !strings.Contains(text, "fatal: [mail2]") || strings.Contains(text, "[mail3]") {
		t.Errorf("want mail1 upgraded, mail2 failed, mail3 never begun:\n%s", text)
	}
	hosts[0].requireVersion(t, "5.2")
	for i, want := range []string{"| `post/queue-check` | done |", "| `upgrade/config-diff` | failed |"} {
		b, err := os.ReadFile(filepath.Join(reports, fmt.Sprintf("mail%d", i+1), "report.md"))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("mail%d's fetched report lacks %q (%v)", i+1, want, err)
		}
		if _, err := os.Stat(filepath.Join(reports, fmt.Sprintf("mail%d", i+1), "report.html")); err != nil {
			t.Errorf("mail%d's report.html was not fetched", i+1)
		}
	}
	if _, err := os.Stat(filepath.Join(hosts[2].World.StateDir(), journal.FileName)); err == nil {
		t.Errorf("mail3 was touched after mail2 failed:\n%s", text)
	}
	if _, err := os.Stat(filepath.Join(reports, "mail3")); err == nil {
		t.Error("a report was fetched from mail3, which must not have run")
	}
}

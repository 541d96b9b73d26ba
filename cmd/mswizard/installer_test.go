package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mswizard/fixtures/installer"
	"mswizard/fixtures/sim"
	stepshost "mswizard/steps/host"
	"mswizard/wizard"
)

// requireNoFileHolds fails when any file under dir holds secret; files under
// a directory named in skip (the LDIF exports: directory data holds what the
// directory holds) are not looked at.
func requireNoFileHolds(t *testing.T, dir, secret string, skip ...string) {
	t.Helper()
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.IsDir() && slices.Contains(skip, fi.Name()) {
			return filepath.SkipDir
		}
		if err == nil && fi.Mode().IsRegular() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), secret) {
				t.Errorf("%s holds the secret", p)
			}
		}
		return nil
	})
}

// TestAnInstallerPromptTheAnswersDoNotCoverStopsTheRunAndTheRerunContinues:
// the installer asks a question no documentation lists; the wizard never
// guesses — exit 3 with the prompt shown verbatim and the answers line to add
// — and once the operator adds it, the rerun goes on to the end.
//
// The first installation's service administrator is not ServiceAdmin, so the
// installer also asks for its ID and password (appendix C step 8): the
// password reaches the installer through the pseudo-terminal only and is
// written nowhere.
func TestAnInstallerPromptTheAnswersDoNotCoverStopsTheRunAndTheRerunContinues(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	const secret = "Svc-Adm1n-pw"
	pwFile := filepath.Join(t.TempDir(), "serviceadmin.pw")
	os.WriteFile(pwFile, []byte(secret+"\n"), 0o600)
	h := upHost(t, bin, hostOptions{seed: 51, wizard: []string{"InstallerPromptTimeout = 1s",
		"ServiceAdminID = msgadmin\nServiceAdminPwdFile = " + pwFile}})
	setup, err := os.ReadFile(h.w.SetupInstallInf())
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(h.w.SetupInstallInf(), []byte(strings.Replace(string(setup), "ServiceAdminID = ServiceAdmin", "ServiceAdminID = msgadmin", 1)), 0o644)
	os.WriteFile(installer.ServiceAdminPwFile(h.w), []byte(secret+"\n"), 0o600)
	const question = "Install the Messaging Multiplexor? [No]: "
	if err := sim.SetFault(h.w, installer.FaultAsks, question); err != nil {
		t.Fatal(err)
	}
	out, code := run(t, h.bin, "upgrade", "--answers", h.inf, "--yes")
	if code != 3 {
		t.Fatalf("exit %d, want 3 for an unknown installer prompt:\n%s", code, out)
	}
	for _, want := range []string{"upgrade/run-installer", "the wizard never guesses", "    " + strings.TrimSpace(question),
		"InstallerAnswer = Install the Messaging Multiplexor? [No]: | ANSWER", "installer.transcript"} {
		if !strings.Contains(out, want) {
			t.Errorf("the output does not show %q:\n%s", want, out)
		}
	}
	tr, err := os.ReadFile(filepath.Join(h.w.StateDir(), "installer.transcript"))
	if err != nil || strings.Contains(string(tr), "Service Administrator") || !strings.Contains(string(tr), question) || !strings.Contains(string(tr), "Specify the components you wish to install") {
		t.Fatalf("transcript (%v):\n%s", err, tr)
	}
	if s := h.stepStates(t)["upgrade/run-installer"]; s != wizard.StateFailed {
		t.Errorf("upgrade/run-installer is %s after the stop, want failed", s)
	}
	h.requireVersion(t, "5.1")

	f, _ := os.OpenFile(h.inf, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("InstallerAnswer = Install the Messaging Multiplexor? [No]: | no\n")
	f.Close()
	out, code = run(t, h.bin, "upgrade", "--answers", h.inf, "--yes")
	if code != 0 {
		t.Fatalf("rerun with the answer: exit %d\n%s", code, out)
	}
	h.requireVersion(t, "5.2")
	h.requireCustomizations(t)
	tr, _ = os.ReadFile(filepath.Join(h.w.StateDir(), "installer.transcript"))
	if !strings.Contains(string(tr), "prompt operator-1 ([Wizard] InstallerAnswer = Install the Messaging Multiplexor? [No]: | no): answering no") {
		t.Errorf("the transcript does not show the operator's answer:\n%s", tr)
	}
	pw, _ := os.ReadFile(filepath.Join(h.w.SecretsDir(), "ldap.pw"))
	// The bind password is the world's directory manager's, which the
	// configuration directory export may carry as directory data.
	requireNoFileHolds(t, h.w.StateDir(), strings.TrimSpace(string(pw)), "ldif")
	for _, want := range []string{"Service Administrator ID [msgadmin]: ", "prompt service-admin-password", "answering REDACTED"} {
		if !strings.Contains(string(tr), want) {
			t.Errorf("the transcript lacks %q:\n%s", want, tr)
		}
	}
	if strings.Contains(string(tr), "Invalid password") {
		t.Errorf("the installer refused the password:\n%s", tr)
	}
	if strings.Contains(out, secret) {
		t.Error("the run's output holds the service administrator's password")
	}
	requireNoFileHolds(t, h.w.StateDir(), secret)

	// The merge changed the MTA configuration and compiled it: the compiled
	// image is of the merged imta.cnf; local.conf values went through configutil.
	img, err := os.ReadFile(sim.CompiledConfig(h.w))
	cnf, _ := os.ReadFile(filepath.Join(h.w.IMTAConfig(), "imta.cnf"))
	if err != nil || !strings.Contains(string(img), fmt.Sprintf("%x  imta.cnf", sha256.Sum256(cnf))) {
		t.Errorf("imsimta cnbuild did not compile the merged imta.cnf (%v):\n%s", err, img)
	}
	if !strings.Contains(out, "compiling it with imsimta cnbuild") {
		t.Errorf("the run does not say it compiled the MTA configuration:\n%s", out)
	}
	rep, _ := os.ReadFile(filepath.Join(h.w.StateDir(), "report.json"))
	if !strings.Contains(string(rep), "cnbuild") {
		t.Errorf("the report does not record imsimta cnbuild")
	}
}

// TestTheSilentInstallerIsAnExplicitChoice: InstallerMode = silent runs
// `setup -s -f` with the answers (and the silent keys the site's media need,
// which the operator writes); the default is the interactive `setup -k`.
func TestTheSilentInstallerIsAnExplicitChoice(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{seed: 53})
	out, code := run(t, h.bin, "plan", "--answers", h.inf)
	if code != 0 || !strings.Contains(out, "setup -k on a pseudo-terminal") || strings.Contains(out, "setup -s -f") {
		t.Fatalf("the default plan is not the interactive installer: exit %d\n%s", code, out)
	}
	b, _ := os.ReadFile(h.inf)
	text := strings.Replace(string(b), "[MessagingServer]\n", "[MessagingServer]\nUpgradeChoice = 2\n", 1) + "InstallerMode = silent\n"
	os.WriteFile(h.inf, []byte(text), 0o600)
	out, code = run(t, h.bin, "upgrade", "--answers", h.inf, "--yes")
	if code != 0 || !strings.Contains(out, "setup -s -f") {
		t.Fatalf("silent upgrade: exit %d\n%s", code, out)
	}
	h.requireVersion(t, "5.2")
	h.requireCustomizations(t)
}

// TestAKilledWizardLeavesTheInstallerRunningToItsEnd: the wizard is killed
// (SIGKILL) while the installer works on its pseudo-terminal. The installer's
// supervisor holds the terminal, so the installer is not hung up: it finishes.
// A rerun while it still runs stops with exit 3 (wait); the rerun after it
// ended decides from its result and the host's version — done, without
// running the installer again.
func TestAKilledWizardLeavesTheInstallerRunningToItsEnd(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{seed: 54})
	if err := sim.SetFault(h.w, installer.FaultSlow, "6s"); err != nil {
		t.Fatal(err)
	}
	transcript := filepath.Join(h.w.StateDir(), "installer.transcript")
	c := startChild(t, h.bin, "upgrade", "--answers", h.inf, "--yes")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		b, _ := os.ReadFile(transcript)
		if strings.Contains(string(b), "Preparing the upgrade") {
			break
		}
		if time.Now().After(deadline) {
			c.cmd.Process.Kill()
			<-c.done
			t.Fatalf("the installer never got past its questions:\n%s\n%s", b, c.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-c.done

	out, code := run(t, h.bin, "upgrade", "--answers", h.inf, "--yes")
	if code != 3 || !strings.Contains(out, "the installer is still running under its supervisor") {
		t.Fatalf("rerun while the installer runs: exit %d, want 3 saying it still runs\n%s", code, out)
	}
	result := filepath.Join(h.w.StateDir(), "installer.result.json")
	for {
		if _, err := os.Stat(result); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the installer's supervisor wrote no result after the wizard was killed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	res, err := stepshost.ReadInstallerResult(result)
	if err != nil || res.ExitCode != 0 || res.Outcome.Kind != stepshost.OutcomeExited {
		t.Fatalf("the installer did not finish after the wizard was killed: %+v %v", res, err)
	}
	h.requireVersion(t, "5.2")

	out, code = run(t, h.bin, "upgrade", "--answers", h.inf, "--yes")
	if code != 0 {
		t.Fatalf("rerun after the installer ended: exit %d\n%s", code, out)
	}
	b, _ := os.ReadFile(transcript)
	if n := strings.Count(string(b), "on a pseudo-terminal\n"); n != 1 {
		t.Errorf("the installer ran %d times:\n%s", n, b)
	}
	if s := h.stepStates(t)["upgrade/run-installer"]; s != wizard.StateDone {
		t.Errorf("upgrade/run-installer is %s", s)
	}
	h.requireCustomizations(t)
}

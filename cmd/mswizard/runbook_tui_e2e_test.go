package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mswizard/steps/runbook"
	"mswizard/wizard/answers"
)

// TestRunbookFormInTmux runs `mswizard run qmail-daemontools` without answers
// in a real terminal (tmux) on a qmail world: the form asks the runbook's
// answers, refuses a log size below multilog's 4096 at its field, is filled
// with what the world's answers file says, saves them (0600) and opens the
// TUI's plan for the runbook, with nothing run. Quitting the form with ctrl+c
// writes nothing and exits 0; a signal exits 130; without a terminal, or with
// --dry-run, answers are required (exit 2).
func TestRunbookFormInTmux(t *testing.T) {
	t.Parallel()
	requireTmux(t)
	requireQmailTools(t)
	base, bin := qmailBase(t)
	rb, err := runbook.Load("qmail-daemontools")
	if err != nil {
		t.Fatal(err)
	}

	// One session outlives the others, so that the tmux server does not exit
	// between two of them (a new session then finds it dying).
	keep := fmt.Sprintf("mswizard-rbform-keep-%d", os.Getpid())
	(&tmuxPane{t: t, name: keep}).tmux("new-session", "-d", "-s", keep, "sleep 600")
	t.Cleanup(func() { _ = exec.Command("tmux", "kill-session", "-t", keep).Run() })

	t.Run("without a terminal answers are required", func(t *testing.T) {
		out, err := exec.Command(bin, "run", "qmail-daemontools").CombinedOutput()
		if code := processExit(err); code != 2 || !strings.Contains(string(out), "answers template --runbook qmail-daemontools") {
			t.Errorf("exit %d:\n%s", code, out)
		}
	})
	t.Run("ctrl+c in the form writes nothing and exits 0", func(t *testing.T) {
		dir := t.TempDir()
		p := formPane(t, bin, dir, "quit", "")
		p.waitFor(30*time.Second, "[Runbook] StateDir")
		p.send("C-c")
		p.waitFor(10*time.Second, "EXIT=0")
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("the aborted form wrote %v", ents)
		}
	})
	t.Run("a signal in the form exits 130 and writes nothing", func(t *testing.T) {
		dir := t.TempDir()
		p := formPane(t, bin, dir, "signal", "")
		p.waitFor(30*time.Second, "[Runbook] StateDir")
		pid := p.wizardPID()
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		p.waitFor(10*time.Second, "a signal ended the wizard", "EXIT=130")
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("the interrupted form wrote %v", ents)
		}
	})
	t.Run("--dry-run without answers on a terminal is a usage error", func(t *testing.T) {
		p := formPane(t, bin, t.TempDir(), "dry", "--dry-run")
		p.waitFor(10*time.Second, "no answers: give --answers FILE", "EXIT=2")
	})

	h := upQmail(t, base, bin, "form")
	// The world's own answers file says what the form is filled with.
	data, err := os.ReadFile(h.inf)
	if err != nil {
		t.Fatal(err)
	}
	world, err := answers.Parse(h.inf, data)
	if err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(base, "form", "saved.inf")
	p := formPane(t, bin, filepath.Join(base, "form"), "form", "")
	p.waitFor(30*time.Second, "mswizard run qmail-daemontools", "[Runbook] StateDir")
	p.fill("[Runbook] StateDir", h.state)
	for _, a := range rb.Answers {
		title := "[qmail-daemontools] " + a.Name
		if a.Name == "log_size" {
			// Checked as the file is, on the way out of the field.
			p.fill(title, "100")
			p.waitFor(10*time.Second, "log_size = 100: below the minimum 4096")
		}
		v, ok := world.Section(rb.ID).Get(a.Name)
		if !ok {
			v = "" // the runbook's default
		}
		p.fill(title, v)
	}
	p.waitFor(30*time.Second, "Save these answers to", rb.ID+".inf")
	p.fill("Save these answers to", saved)
	p.waitFor(10*time.Second, "┃ Save and start the wizard on them?")
	p.send("Enter") // Yes
	s := p.waitFor(time.Minute, "mswizard runbook qmail-daemontools — review the plan", "Plan (nothing has been run)", rb.Steps[0].ID)
	if strings.Contains(s, "inhibitor") {
		t.Errorf("the plan of the qmail world has inhibitors:\n%s", s)
	}
	p.send("q")
	p.waitFor(10*time.Second, "EXIT=0")
	if all := p.tmux("capture-pane", "-p", "-S", "-", "-t", p.name); !strings.Contains(all, "answers saved to "+saved+"\n") {
		t.Errorf("the terminal never said where the answers were saved:\n%s", all)
	}

	fi, err := os.Stat(saved)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("saved answers: %v, %v", fi, err)
	}
	got, err := runbook.LoadValues(rb, saved)
	if err != nil {
		t.Fatal(err)
	}
	want, err := runbook.LoadValues(rb, h.inf)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash(rb) != want.Hash(rb) || got.StateDir != want.StateDir || got.Runbook != rb.ID {
		b, _ := os.ReadFile(saved)
		t.Errorf("the form's answers differ from the world's:\n%s", b)
	}
	if hash, err := h.TreeHash(); err != nil || hash != h.hash0 {
		t.Errorf("opening the plan changed the qmail tree (%v)", err)
	}
	if out, code := h.wizardT(t, "answers", "validate", saved); code != 0 {
		t.Errorf("answers validate of the saved file exit %d:\n%s", code, out)
	}
}

// formPane starts `mswizard run qmail-daemontools [extra]` in dir in a tmux
// pane of 100x40 that outlives it and shows its exit code.
func formPane(t *testing.T, bin, dir, name, extra string) *tmuxPane {
	t.Helper()
	name = fmt.Sprintf("mswizard-rbform-%s-%d", name, os.Getpid())
	p := &tmuxPane{t: t, name: name}
	p.tmux("new-session", "-d", "-s", name, "-x", "100", "-y", "40",
		fmt.Sprintf("cd %s && TERM=xterm-256color %s run qmail-daemontools %s; echo EXIT=$?; sleep 600", dir, bin, extra))
	t.Cleanup(func() {
		// A wizard that hangs would outlive the session's SIGHUP: the pane's
		// processes are killed first, so a failed test leaves nothing running.
		if out, err := exec.Command("tmux", "display-message", "-p", "-t", name, "#{pane_pid}").Output(); err == nil {
			shell := strings.TrimSpace(string(out))
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%s/task/%s/children", shell, shell))
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		_ = exec.Command("tmux", "kill-session", "-t", name).Run()
	})
	return p
}

// fill waits for the input titled title to have the focus (huh moves it
// after the keys already sent are handled), replaces its text with v and goes
// on.
func (p *tmuxPane) fill(title, v string) {
	p.t.Helper()
	p.waitFor(10*time.Second, "┃ "+title)
	p.send("C-u")
	p.send("-l", v)
	p.send("Enter")
}

// wizardPID is the wizard's process: the child of the pane's shell.
func (p *tmuxPane) wizardPID() int {
	p.t.Helper()
	shell := strings.TrimSpace(p.tmux("display-message", "-p", "-t", p.name, "#{pane_pid}"))
	b, err := os.ReadFile(fmt.Sprintf("/proc/%s/task/%s/children", shell, shell))
	if err != nil {
		p.t.Fatal(err)
	}
	f := strings.Fields(string(b))
	if len(f) != 1 {
		p.t.Fatalf("the pane's shell has children %q", f)
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil {
		p.t.Fatal(err)
	}
	return pid
}

// processExit is the exit code of a command that ran (-1 when it could not).
func processExit(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

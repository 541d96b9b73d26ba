package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tmuxPane drives the real binary in a detached tmux session of a fixed size:
// keys go in with send-keys, the screen comes back with capture-pane.
type tmuxPane struct {
	t    *testing.T
	name string
}

func requireTmux(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if testing.Short() {
			t.Skip("tmux missing")
		}
		t.Fatal("tmux is missing: install the Debian package tmux (make test does)")
	}
}

func (p *tmuxPane) tmux(args ...string) string {
	p.t.Helper()
	out, err := exec.Command("tmux", args...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (p *tmuxPane) capture() string { return p.tmux("capture-pane", "-p", "-t", p.name) }

func (p *tmuxPane) send(keys ...string) {
	p.tmux(append([]string{"send-keys", "-t", p.name}, keys...)...)
}

// waitFor polls the pane until it shows every one of want, or fails with the
// last screen at the deadline.
func (p *tmuxPane) waitFor(d time.Duration, want ...string) string {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for {
		s := p.capture()
		ok := true
		for _, w := range want {
			if !strings.Contains(s, w) {
				ok = false
				break
			}
		}
		if ok {
			return s
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("the screen never showed %q; last screen:\n%s", want, s)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestTUIDemoUpgradeInTmux runs `mswizard demo` in a real terminal (tmux, 100x30):
// preflight, plan review, the run, the confirmation at the point of no return
// answered y, the config diff viewer opened by the world's planted conflict
// (decided r, written with w, the step rerun), the operator action of the
// appendix's post-upgrade step 4 confirmed with y, and the final screen with
// the report path.
func TestTUIDemoUpgradeInTmux(t *testing.T) {
	t.Parallel()
	requireTmux(t)
	requireTools(t)
	bin := buildBinary(t)
	dir := filepath.Join(t.TempDir(), "world")
	name := fmt.Sprintf("mswizard-e2e-%d", os.Getpid())
	p := &tmuxPane{t: t, name: name}
	// The pane outlives the program (sleep) so its last screen can be read.
	// 40 rows: the preflight findings above the plan (disk, directory,
	// configuration directory, version) leave the first stop on screen.
	cmd := fmt.Sprintf("TERM=xterm-256color %s demo --dir %s; sleep 600", bin, dir)
	p.tmux("new-session", "-d", "-s", name, "-x", "100", "-y", "40", cmd)
	t.Cleanup(func() {
		_ = exec.Command("tmux", "kill-session", "-t", name).Run()
		_ = exec.Command(bin, "demo", "--stop", "--dir", dir).Run()
	})

	s := p.waitFor(3*time.Minute, "preflight", "server root:", "msg-budgie", "(answers)", "enter review the plan")
	if strings.Contains(s, "inhibitor(s) block") {
		t.Fatalf("the demo world has inhibitors:\n%s", s)
	}
	p.send("Enter")
	p.waitFor(30*time.Second, "review the plan (enter to start", "preflight/disk-space")
	p.send("Enter")
	s = p.waitFor(3*time.Minute, "point of no return", "(y/n)")
	if !strings.Contains(s, "steps") || !strings.Contains(s, "✓ backup/verify") {
		t.Errorf("the run screen does not show the steps done before the installer:\n%s", s)
	}
	p.send("y")
	s = p.waitFor(3*time.Minute, "mswizard config diff", "store.quotawarn", "CONFLICT: undecided")
	if !strings.Contains(s, "+++ ") || !strings.Contains(s, "@@ ") {
		t.Errorf("the viewer shows no unified diff:\n%s", s)
	}
	p.send("r")
	p.waitFor(10*time.Second, "(1/1 decided)")
	p.send("w")
	// The demo host has a web server instance (https-HOST): the appendix's
	// post-upgrade step 4 is an operator action the TUI asks to confirm.
	p.waitFor(3*time.Minute, "operator action post/web-server-upgrade", "(y/n)")
	p.send("y")
	s = p.waitFor(3*time.Minute, "upgrade complete", "report: ")
	for _, want := range []string{filepath.Join(dir, "state", "report.md"), "backups: ", "LDIF:"} {
		if !strings.Contains(s, want) {
			t.Errorf("final screen lacks %q:\n%s", want, s)
		}
	}
	inf, err := os.ReadFile(filepath.Join(dir, "install.inf"))
	if err != nil || !strings.Contains(string(inf), "ConfigDecision = config/local.conf store.quotawarn reapply") {
		t.Errorf("the decision is not in the answers (%v):\n%s", err, inf)
	}
	if !strings.HasPrefix(string(inf), "# install.inf") {
		t.Errorf("writing the decision lost the answers file's comments:\n%s", inf)
	}
	if _, err := os.Stat(filepath.Join(dir, "state", "report.md")); err != nil {
		t.Errorf("no report: %v", err)
	}
	p.send("q")
}

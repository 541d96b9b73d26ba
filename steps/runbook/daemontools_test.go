package runbook

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mswizard/wizard"
)

// requireDaemontools fails (not skips) when daemontools is missing, naming
// the Debian package, except under -short.
func requireDaemontools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"svscan", "supervise", "svc", "svstat", "svok", "multilog", "setuidgid"} {
		if _, err := exec.LookPath(tool); err != nil {
			if testing.Short() {
				t.Skipf("%s missing", tool)
			}
			t.Fatalf("%s is missing: install the Debian package daemontools (make test does)", tool)
		}
	}
}

// svscanOn starts a real svscan on scan, as a host's boot does, and at the
// end of the test stops it by its pid, takes every service it supervises
// down and out (svc -dx DIR DIR/log), and ends what is left of its process
// group (the supervise processes and their children it started).
func svscanOn(t *testing.T, scan string) {
	t.Helper()
	requireDaemontools(t)
	c := exec.Command("svscan", scan)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := c.Process.Pid
	t.Cleanup(func() {
		_ = c.Process.Signal(syscall.SIGTERM)
		_ = c.Wait()
		ents, _ := os.ReadDir(scan)
		var dirs []string
		for _, e := range ents {
			d := filepath.Join(scan, e.Name())
			dirs = append(dirs, d, filepath.Join(d, "log"))
		}
		if len(dirs) > 0 {
			_ = exec.Command("svc", append([]string{"-dx"}, dirs...)...).Run()
		}
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if syscall.Kill(-pgid, 0) != nil {
				return
			}
		}
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	})
}

func svstatOf(t *testing.T, dir string) string {
	t.Helper()
	out, _ := exec.Command("svstat", dir).CombinedOutput()
	return strings.TrimSpace(string(out))
}

// A multilog that cannot write its log directory exits at once and
// supervise restarts it every second, while the main service stays up: the
// svstat proof must see the log service, or a migration "proves" a service
// that logs nothing.
func TestSvstatProofCoversTheLogService(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("this test runs multilog as nobody (setuidgid): run the tests as root")
	}
	w := newWorld(t, "", `  - {id: prove, title: p, wait: {until: {svstat: "{{root}}/service/x", up_for: 1s}, stable: 1s, interval: 200ms, timeout: 4s}}
  - {id: prove-fixed, title: p, wait: {until: {svstat: "{{root}}/service/x", up_for: 1s}, stable: 1s, interval: 200ms, timeout: 20s}}
  - {id: prove-nolog, title: p, wait: {until: {svstat: "{{root}}/service/y", up_for: 1s}, interval: 200ms, timeout: 20s}}
`, "")
	w.write("service/x/run", "#!/bin/sh\nexec sleep 300\n", 0o755)
	w.write("service/x/log/run", "#!/bin/sh\nexec setuidgid nobody multilog t ./main\n", 0o755)
	if err := os.Mkdir(w.path("service/x/log/main"), 0o755); err != nil { // root's: nobody cannot write it
		t.Fatal(err)
	}
	w.write("service/y/run", "#!/bin/sh\nexec sleep 300\n", 0o755)
	svscanOn(t, w.path("service"))

	a := w.plan("prove")[0]
	if want := "svstat " + w.path("service/x") + " (and " + w.path("service/x/log") + ", when it has a log) says up for at least 1s"; !strings.Contains(a.Summary, want) {
		t.Errorf("plan %q does not say the log is proven too (%q)", a.Summary, want)
	}
	err := a.Do(context.Background(), &wizard.Receipt{})
	// Caught down between restarts, or up with a new pid each time: either
	// way the error names the log service, never the main one.
	if err == nil || !strings.Contains(err.Error(), "did not hold within 4s") ||
		!strings.Contains(err.Error(), "last: svstat: "+w.path("service/x/log")+": ") && !strings.Contains(err.Error(), "restarted meanwhile: "+w.path("service/x/log")+" (pid ") ||
		strings.Contains(err.Error(), "restarted meanwhile: "+w.path("service/x")+" ") {
		t.Fatalf("the proof with a looping multilog: %v\nsvstat: %s / %s", err, svstatOf(t, w.path("service/x")), svstatOf(t, w.path("service/x/log")))
	}
	t.Logf("the proof fails as it must: %v", err)
	if st := svstatOf(t, w.path("service/x")); !strings.Contains(st, ": up (pid ") {
		t.Fatalf("the main service should be up all along (only its log loops): %s", st)
	}
	// A service without a log is proven by its own svstat alone.
	rcs := w.apply("prove-nolog")
	if strings.Contains(rcs[0].Note, "/log") {
		t.Errorf("a service without log/ proven through one: %s", rcs[0].Note)
	}
	// The log directory given to the log user: the proof holds, on both.
	if err := os.Chown(w.path("service/x/log/main"), 65534, 65534); err != nil {
		t.Fatal(err)
	}
	rcs = w.apply("prove-fixed")
	for _, want := range []string{w.path("service/x") + ": up (pid ", w.path("service/x/log") + ": up (pid "} {
		if !strings.Contains(rcs[0].Note, want) {
			t.Errorf("the proof's receipt %q lacks %q", rcs[0].Note, want)
		}
	}
}

// The daemontools service states against a real svscan: supervised with
// log: false (a service without a log service), down and up (svc -d/-u,
// each the other's undo, waiting for svstat), the in-doubt rule (the check
// decides), and the safe removal without a log.
func TestServiceDaemontools(t *testing.T) {
	w := newWorld(t, "", `  - {id: link, title: l, service: {regime: daemontools, state: supervised, dir: "{{root}}/service/a", source: "{{root}}/svc/a", log: false, timeout: 20s}}
  - {id: link-log, title: l, service: {regime: daemontools, state: supervised, dir: "{{root}}/service/a", source: "{{root}}/svc/a", timeout: 1s}}
  - {id: down, title: d, service: {regime: daemontools, state: down, dir: "{{root}}/service/a", timeout: 15s}}
  - {id: up, title: u, service: {regime: daemontools, state: up, dir: "{{root}}/service/a", timeout: 15s}}
`, "")
	w.write("svc/a/run", "#!/bin/sh\nexec sleep 300\n", 0o755)
	if err := os.Mkdir(w.path("service"), 0o755); err != nil {
		t.Fatal(err)
	}
	svscanOn(t, w.path("service"))
	ctx := context.Background()
	inDoubt := func(id string) wizard.Resolution {
		t.Helper()
		res, err := wizard.Describe(w.step(id)).InDoubt(ctx, w.env, 0, "")
		if err != nil {
			t.Fatalf("%s in doubt: %v", id, err)
		}
		return res
	}
	dir := w.path("service/a")

	if done, why := w.check("link"); done || !strings.Contains(why, "is not in the scan directory") {
		t.Fatalf("check before: %v %s", done, why)
	}
	if res := inDoubt("link"); res != wizard.NotDone {
		t.Fatalf("in doubt before the link: %v, want not done (rerun)", res)
	}
	as := w.plan("link")
	if len(as) != 2 || as[0].Summary != "ln -s "+w.path("svc/a")+" "+dir || as[1].Summary != "wait up to 20s until svscan runs supervise on "+dir+" (svok)" {
		t.Fatalf("log: false: the plan waits for the service alone: %+v", as)
	}
	w.apply("link")
	if done, why := w.check("link"); !done {
		t.Fatalf("check after the link: %s", why)
	}
	if res := inDoubt("link"); res != wizard.WasDone {
		t.Fatalf("in doubt after the link: %v, want done", res)
	}
	if done, why := w.check("link-log"); done || why != "supervise is not running on "+dir+"/log" {
		t.Fatalf("with log (the default) a service without log/ is not supervised as asked: %v %q", done, why)
	}

	if done, _ := w.check("up"); !done {
		t.Fatalf("up: %s", svstatOf(t, dir))
	}
	if done, _ := w.check("down"); done {
		t.Fatal("down says done while the service is up")
	}
	if d := wizard.Describe(w.step("down")).UndoText; d != "svc -u "+dir {
		t.Errorf("down's undo text %q", d)
	}
	as = w.plan("down")
	if len(as) != 1 || as[0].Summary != "svc -d "+dir+" (then svstat until it says down)" {
		t.Fatalf("down plan %+v", as)
	}
	rcs := w.apply("down")
	if st := svstatOf(t, dir); !strings.Contains(st, ": down ") || !strings.Contains(st, "normally up") {
		t.Fatalf("after svc -d: %s", st)
	}
	if rcs[0].Command == nil || strings.Join(rcs[0].Command.Argv, " ") != "svc -d "+dir {
		t.Fatalf("receipt %+v", rcs[0].Command)
	}
	if done, _ := w.check("down"); !done {
		t.Fatal("down not done after svc -d")
	}
	if res := inDoubt("down"); res != wizard.WasDone {
		t.Fatalf("in doubt with the service down: %v", res)
	}
	as = w.undo("down", rcs)
	if as[0].Summary != "svc -u "+dir+" (then svstat until it says up)" {
		t.Fatalf("down's undo %q", as[0].Summary)
	}
	if done, _ := w.check("up"); !done {
		t.Fatalf("the undo of down did not bring it up: %s", svstatOf(t, dir))
	}
	if res := inDoubt("down"); res != wizard.NotDone {
		t.Fatalf("in doubt with the service up again: %v, want not done (rerun)", res)
	}
	w.apply("up") // already up: svc -u changes nothing and svstat says so at once

	// The safe removal, without a log service.
	as = w.undo("link", nil)
	var sums []string
	for _, a := range as {
		sums = append(sums, a.Summary)
	}
	all := strings.Join(sums, "\n")
	dot := w.path("service/.a")
	for _, want := range []string{"svc -d " + dir, "mv " + dir + " " + dot, "svc -dx " + dot, "rm " + dot} {
		if !strings.Contains(all, want) {
			t.Errorf("the safe removal lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "/log") {
		t.Errorf("log: false, yet the removal names a log service:\n%s", all)
	}
	if ents, _ := os.ReadDir(w.path("service")); len(ents) != 0 {
		t.Fatalf("the scan directory after the removal: %v", ents)
	}
	if err := exec.Command("svok", w.path("svc/a")).Run(); err == nil {
		t.Fatal("supervise still runs on the service directory after the removal")
	}
}

// svstat's lines as daemontools 0.76 prints them (svstat.c).
func TestParseSvstat(t *testing.T) {
	tests := []struct {
		line    string
		up      bool
		pid     int
		seconds int64
		running bool
	}{
		{"/service/x: up (pid 123) 45 seconds", true, 123, 45, true},
		{"/service/x: down 3 seconds, normally up", false, 0, 3, false},
		{"/service/x: up (pid 7) 2 seconds, normally down", true, 7, 2, true},
		{"/service/x: up (pid 7) 9 seconds, paused", true, 7, 9, false},
		{"/service/x: up (pid 7) 9 seconds, want down", true, 7, 9, false},
		{"/service/x: down 0 seconds, normally up, want up", false, 0, 0, false},
		{"/service/x: supervise not running", false, 0, 0, false},
		{"svstat: warning: unable to chdir to /service/x: file does not exist", false, 0, 0, false},
		{"/service/x: up (pid 123) 45 seconds\n", true, 123, 45, true},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			st := parseSvstat(tt.line)
			if st.up != tt.up || st.pid != tt.pid || st.seconds != tt.seconds || st.running() != tt.running || st.line != strings.TrimSpace(tt.line) {
				t.Fatalf("parseSvstat = %+v (running %v)", st, st.running())
			}
		})
	}
}

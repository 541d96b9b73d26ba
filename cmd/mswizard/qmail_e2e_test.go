package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mswizard/fixtures/ldapd"
	"mswizard/fixtures/qmail"
	"mswizard/steps/runbook"
)

// requireQmailTools fails (not skips) when daemontools or ucspi-tcp are
// missing, naming the Debian package, except under -short.
func requireQmailTools(t *testing.T) {
	t.Helper()
	for tool, pkg := range map[string]string{"svscan": "daemontools", "multilog": "daemontools", "setuidgid": "daemontools", "tcpserver": "ucspi-tcp", "pgrep": "procps"} {
		if _, err := exec.LookPath(tool); err != nil {
			if testing.Short() {
				t.Skipf("%s missing", tool)
			}
			t.Fatalf("%s is missing: install the Debian package %s (make test does)", tool, pkg)
		}
	}
	if os.Getuid() != 0 {
		if testing.Short() {
			t.Skip("the qmail world runs programs as nobody: it needs root")
		}
		t.Fatal("the qmail world runs its logs and qmail-smtpd as nobody (setuidgid, tcpserver -u): run the tests as root")
	}
}

// qmailBase is a directory every user can reach (the world's programs run as
// nobody), holding a copy of the wizard that doubles as the qmail stand-ins.
func qmailBase(t *testing.T) (base, bin string) {
	t.Helper()
	base, err := os.MkdirTemp("", "mswizard-qmail-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(base, "mswizard")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return base, bin
}

// freePort returns a port below the ephemeral range, reserved for this test
// process (ldapd.FreePort).
func freePort(t *testing.T) int {
	t.Helper()
	p, err := ldapd.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// logUsers are the services' log users in the test's answers: accounts
// every Debian host has, one per service.
var logUsers = map[string]struct {
	name string
	uid  uint32
}{"qmail": {"daemon", 1}, "smtpd": {"bin", 2}, "pop3d": {"nobody", 65534}}

// refState is the state an uninterrupted run ends in (endToEnd's), for the
// runs killed and rerun to compare theirs with (World.StateHash).
type refState struct {
	once sync.Once
	done chan struct{}
	hash string
	err  error
}

func newRefState() *refState { return &refState{done: make(chan struct{})} }

func (r *refState) set(hash string, err error) {
	r.once.Do(func() { r.hash, r.err = hash, err; close(r.done) })
}

func (r *refState) get() (string, error) {
	select {
	case <-r.done:
		return r.hash, r.err
	case <-time.After(5 * time.Minute):
		return "", errors.New("the uninterrupted run gave no end state within 5 minutes")
	}
}

type qmailHost struct {
	*qmail.World
	bin, inf, state string
	hash0           string
}

// newQmail builds a qmail world in base/name with qmail started by its rc
// script and svscan on its scan directory, and the runbook's answers. The
// caller stops it (World.Stop).
func newQmail(t *testing.T, base, bin, name string) (*qmailHost, error) {
	// A log user of its own for each service, so a log/run or a log
	// directory given the wrong one shows.
	w, err := qmail.Build(filepath.Join(base, name, "root"), qmail.Options{Exe: bin, SMTPPort: freePort(t), POP3Port: freePort(t),
		SendLogUser: logUsers["qmail"].name, SMTPDLogUser: logUsers["smtpd"].name, POP3DLogUser: logUsers["pop3d"].name})
	if err != nil {
		return nil, err
	}
	h := &qmailHost{World: w, bin: bin, inf: filepath.Join(base, name, "qmail.inf"), state: filepath.Join(base, name, "state")}
	if err := w.StartSvscan(); err != nil {
		return h, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := w.StartRC(ctx); err != nil {
		return h, err
	}
	if err := w.Answers(h.inf, h.state, "1s"); err != nil {
		return h, err
	}
	if h.hash0, err = w.TreeHash(); err != nil {
		return h, err
	}
	return h, nil
}

func upQmail(t *testing.T, base, bin, name string) *qmailHost {
	t.Helper()
	h, err := newQmail(t, base, bin, name)
	if h != nil {
		t.Cleanup(h.Stop)
	}
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// wizard runs the binary; safe from any goroutine.
func (h *qmailHost) wizardT(t *testing.T, args ...string) (string, int) {
	t.Helper()
	out, code, err := h.wizard(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out, code
}

func (h *qmailHost) wizard(args ...string) (string, int, error) {
	out, err := exec.Command(h.bin, args...).CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode(), nil
	}
	return string(out), 0, err
}

// mailFlows sends a message by SMTP and waits for qmail-send to deliver it.
func (h *qmailHost) mailFlows(user, marker string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var err error
	for i := 0; i < 30; i++ { // tcpserver may still be binding after a start
		if err = h.Send("sender@example.com", user+"@localhost", "test", marker); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("SMTP: %w", err)
	}
	if err := h.WaitDelivered(ctx, user, marker); err != nil {
		return err
	}
	return h.WaitQueueEmpty(ctx)
}

// backedOut checks the host is the rc-started qmail it was: the same files
// (tree hash), qmail running by its rc script, nothing supervised, and mail
// still flowing through the rc-started qmail (logged by splogger).
func (h *qmailHost) backedOut(marker string) error {
	if out, err := exec.Command(h.RCScript(), "status").CombinedOutput(); err != nil {
		return fmt.Errorf("after backout, rc status: %v: %s", err, out)
	}
	if ents, _ := os.ReadDir(h.ServiceDir()); len(ents) != 0 {
		return fmt.Errorf("after backout, the scan directory holds %v", ents)
	}
	if err := h.mailFlows("bob", marker); err != nil {
		return err
	}
	if got, err := h.TreeHash(); err != nil || got != h.hash0 {
		return fmt.Errorf("after backout the qmail tree differs from before the run (hash %s, was %s): %v", got, h.hash0, err)
	}
	// The delivery reaches the maillog through splogger's pipe a moment later.
	var b []byte
	for i := 0; i < 50; i++ {
		b, _ = os.ReadFile(h.Maillog())
		if regexp.MustCompile(`qmail: [0-9.]+ delivery \d+: success`).Match(b) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the rc-started qmail-send does not log its deliveries through splogger:\n%s", b)
}

// migrated checks the end state of a finished run.
func (h *qmailHost) migrated(marker string) error {
	for _, svc := range []string{"qmail", "smtpd", "pop3d"} {
		o, _ := exec.Command("svstat", filepath.Join(h.ServiceDir(), svc)).CombinedOutput()
		if !strings.Contains(string(o), ": up (pid ") {
			return fmt.Errorf("svstat %s: %s", svc, o)
		}
	}
	if rc, _ := os.ReadFile(filepath.Join(h.QmailDir(), "rc")); strings.Contains(string(rc), "splogger qmail") {
		return fmt.Errorf("splogger is still in the rc:\n%s", rc)
	}
	if _, err := os.Lstat(h.RCLink()); !errors.Is(err, os.ErrNotExist) {
		return errors.New("the rc script is still enabled at boot")
	}
	if o, _ := exec.Command(h.RCScript(), "status").CombinedOutput(); !strings.Contains(string(o), "not running") {
		return fmt.Errorf("the rc-started qmail still runs: %s", o)
	}
	return h.mailFlows("alice", marker)
}

var tai64nLine = regexp.MustCompile(`(?m)^@4000[0-9a-f]{20} delivery \d+: success: did_1\+0\+0/$`)

// TestQmailRunbook runs the shipped qmail-daemontools runbook through the real
// binary on qmail worlds, side by side (each mostly waits for svscan's 5 s
// rescan): the whole run in detail with its backout; a backout after every
// step (--until); and kill -9 at random moments of runs and backouts, with
// reruns. Every backout must give back the rc-started qmail with the same
// files and mail flowing.
func TestQmailRunbook(t *testing.T) {
	t.Parallel()
	requireQmailTools(t)
	base, bin := qmailBase(t)
	rb, err := runbook.Load("qmail-daemontools")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		hosts []*qmailHost
	)
	sem := make(chan struct{}, 12)
	defer func() {
		wg.Wait()
		var sw sync.WaitGroup
		for _, h := range hosts {
			sw.Add(1)
			go func() { defer sw.Done(); h.Stop() }()
		}
		t.Logf("every qmail scenario in %s", time.Since(start).Round(time.Millisecond))
		sw.Wait()
		t.Logf("worlds stopped at %s", time.Since(start).Round(time.Millisecond))
	}()
	// scenario runs fn on a world of its own in the background; fn reports
	// with t.Errorf (never Fatal: it is not the test's goroutine).
	scenario := func(name string, fn func(h *qmailHost) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			h, err := newQmail(t, base, bin, name)
			if h != nil {
				mu.Lock()
				hosts = append(hosts, h)
				mu.Unlock()
			}
			began := time.Now()
			if err == nil {
				err = fn(h)
			}
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			t.Logf("%s: %s", name, time.Since(began).Round(time.Millisecond))
		}()
	}

	// Kill -9 at random moments, then reruns: the same end state.
	seed := time.Now().UnixNano()
	t.Logf("kill seed %d", seed)
	rnd := rand.New(rand.NewPCG(uint64(seed), 1))
	ref := newRefState()
	for i := 0; i < 2; i++ {
		delays := []time.Duration{time.Duration(100+rnd.IntN(20000)) * time.Millisecond, time.Duration(100+rnd.IntN(20000)) * time.Millisecond, time.Duration(50+rnd.IntN(3000)) * time.Millisecond}
		scenario(fmt.Sprintf("kill%d", i), func(h *qmailHost) error { return killAndRerun(h, delays, ref) })
	}
	scenario("netqmail-rc", netqmailRC)
	// A backout from every step. Up to the links, three worlds take them in
	// turn (each backout gives the next run the world it started from);
	// after, where svscan runs the services, a world each.
	ids := []string{runbook.PreflightID}
	for _, s := range rb.Steps {
		ids = append(ids, s.ID)
	}
	firstLink := slices.Index(ids, "link/qmail")
	for idx := len(ids) - 1; idx >= firstLink; idx-- {
		id := ids[idx]
		scenario(fmt.Sprintf("until%02d", idx), func(h *qmailHost) error { return backoutAfter(h, id, id == ids[len(ids)-1]) })
	}
	for part := 0; part < 3; part++ {
		scenario(fmt.Sprintf("until-early%d", part), func(h *qmailHost) error {
			for i := part; i < firstLink; i += 3 {
				if err := backoutAfter(h, ids[i], false); err != nil {
					return err
				}
			}
			return nil
		})
	}
	endToEnd(t, base, bin, ref)
	tuiResumeAndBackout(t, base, bin)
}

// tuiResumeAndBackout stops a run after rc/stop and opens `run --state-dir`
// in a real terminal (tmux): the resume view shows the journal, b shows the
// backout plan newest first, and the backout gives the rc-started qmail back.
func tuiResumeAndBackout(t *testing.T, base, bin string) {
	requireTmux(t)
	h := upQmail(t, base, bin, "tui")
	if out, code, err := h.wizard("run", "qmail-daemontools", "--answers", h.inf, "--until", "rc/stop"); code != 0 || err != nil {
		t.Fatalf("run --until rc/stop exit %d %v:\n%s", code, err, out)
	}
	name := fmt.Sprintf("mswizard-qmail-%d", os.Getpid())
	p := &tmuxPane{t: t, name: name}
	p.tmux("new-session", "-d", "-s", name, "-x", "100", "-y", "30", fmt.Sprintf("TERM=xterm-256color %s run qmail-daemontools --state-dir %s; sleep 600", bin, h.state))
	t.Cleanup(func() { _ = exec.Command("tmux", "kill-session", "-t", name).Run() })
	p.waitFor(time.Minute, "a run is in progress", "18 done", "✓ done      rc/stop", "b back out")
	p.send("b")
	s := p.waitFor(time.Minute, "Backout plan", "undo rc/stop")
	if !strings.Contains(s, h.RCScript()+" start") {
		t.Errorf("the backout plan does not start qmail the old way first:\n%s", s)
	}
	p.send("Enter")
	p.waitFor(time.Minute, "Back out 17 step(s)")
	p.send("y")
	p.waitFor(2*time.Minute, "backout complete")
	if err := h.backedOut("after-tui-backout"); err != nil {
		t.Fatal(err)
	}
}

// netqmailRC gives the world netqmail's /var/qmail/rc, whose qmail-start
// line is not the one the runbook replaces: the preflight stops the run
// (PRE-QMAIL-014) before anything changes, where the edit once appended a
// second line and left splogger in place.
func netqmailRC(h *qmailHost) error {
	rc := filepath.Join(h.QmailDir(), "rc")
	b, err := os.ReadFile(rc)
	if err != nil {
		return err
	}
	netqmail := strings.Replace(string(b), "qmail-start ./Maildir/ splogger qmail", "qmail-start \"`cat "+h.QmailDir()+"/control/defaultdelivery`\" splogger qmail", 1)
	if netqmail == string(b) {
		return fmt.Errorf("the world's rc has no seed line to replace:\n%s", b)
	}
	if err := os.WriteFile(rc, []byte(netqmail), 0o755); err != nil {
		return err
	}
	before, err := h.TreeHash()
	if err != nil {
		return err
	}
	out, code, err := h.wizard("run", "qmail-daemontools", "--answers", h.inf)
	if err != nil || code != 1 || !strings.Contains(out, "PRE-QMAIL-014") || !strings.Contains(out, "rc/remove-splogger") {
		return fmt.Errorf("run on a netqmail rc: exit %d %v, want 1 with the inhibitor PRE-QMAIL-014 naming the step to adapt:\n%s", code, err, out)
	}
	if after, err := h.TreeHash(); err != nil || after != before {
		return fmt.Errorf("the refused run changed the qmail tree (%v)", err)
	}
	if o, err := exec.Command(h.RCScript(), "status").CombinedOutput(); err != nil {
		return fmt.Errorf("the refused run stopped qmail: %v: %s", err, o)
	}
	return nil
}

func backoutAfter(h *qmailHost, id string, last bool) error {
	if out, code, err := h.wizard("run", "qmail-daemontools", "--answers", h.inf, "--until", id); code != 0 || err != nil {
		return fmt.Errorf("run --until %s exit %d %v:\n%s", id, code, err, out)
	}
	if last {
		if err := h.migrated("before-backout"); err != nil {
			return err
		}
	}
	if out, code, err := h.wizard("backout", "--answers", h.inf, "--yes"); code != 0 || err != nil {
		return fmt.Errorf("backout after %s exit %d %v:\n%s", id, code, err, out)
	}
	if err := h.backedOut("after-" + strings.ReplaceAll(id, "/", "-")); err != nil {
		return fmt.Errorf("backout after %s: %w", id, err)
	}
	return nil
}

// killAndRerun kills the run twice and the backout once, after the delays,
// rerunning each to its end: the rerun ends in the state an uninterrupted
// run ends in (ref), and the backout in the state before the run.
func killAndRerun(h *qmailHost, delays []time.Duration, ref *refState) error {
	killed := 0
	for _, d := range delays[:2] {
		k, err := h.runKilledAfter(d, "run", "qmail-daemontools", "--answers", h.inf)
		if err != nil {
			return err
		}
		if k {
			killed++
		}
	}
	// Every action is idempotent or decided by its check: no rerun needs an
	// operator decision.
	if out, code, err := h.wizard("run", "qmail-daemontools", "--answers", h.inf); code != 0 || err != nil {
		return fmt.Errorf("rerun after %d kill(s) (%v) exit %d %v:\n%s", killed, delays[:2], code, err, out)
	}
	if err := h.migrated("migrated"); err != nil {
		return fmt.Errorf("after %d kill(s) (%v): %w", killed, delays[:2], err)
	}
	got, err := h.StateHash()
	if err != nil {
		return err
	}
	want, err := ref.get()
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("after %d kill(s) (%v) and a rerun, the qmail tree differs from an uninterrupted run's (state hash %s, want %s)", killed, delays[:2], got, want)
	}
	k, err := h.runKilledAfter(delays[2], "backout", "--answers", h.inf, "--yes")
	if err != nil {
		return err
	}
	if out, code, err := h.wizard("backout", "--answers", h.inf, "--yes"); code != 0 || err != nil {
		return fmt.Errorf("backout rerun (killed: %v after %s) exit %d %v:\n%s", k, delays[2], code, err, out)
	}
	if err := h.backedOut("backed-out"); err != nil {
		return fmt.Errorf("backout killed %v after %s: %w", k, delays[2], err)
	}
	return nil
}

// endToEnd runs the shipped qmail-daemontools runbook through the real binary
// on a qmail world: plan, run, mail by SMTP logged by multilog, status, backout
// to the same files with mail flowing.
func endToEnd(t *testing.T, base, bin string, ref *refState) {
	// Should this fail before the migrated state, the killed runs waiting
	// for it are told so rather than left to wait.
	defer ref.set("", errors.New("the uninterrupted run (endToEnd) failed before its migrated state"))
	h := upQmail(t, base, bin, "w")

	out, code := h.wizardT(t, "runbook", "list")
	if code != 0 || !strings.Contains(out, "qmail-daemontools ") || !strings.Contains(out, "Seed 001. Writes run and log/run") {
		t.Errorf("runbook list does not show the runbook with its description, exit %d:\n%s", code, out)
	}

	out, code = h.wizardT(t, "runbook", "validate", "qmail-daemontools", "--answers", h.inf)
	if code != 0 || !strings.Contains(out, "valid runbook qmail-daemontools") {
		t.Fatalf("validate exit %d:\n%s", code, out)
	}
	out, code = h.wizardT(t, "run", "qmail-daemontools", "--answers", h.inf, "--dry-run")
	// Each of these must be in the projected plan: one missing fails.
	for _, want := range []string{"multilog as " + logUsers["smtpd"].name, "ln -s " + filepath.Join(h.QmailDir(), "services/qmail") + " " + filepath.Join(h.ServiceDir(), "qmail")} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("dry run exit %d, want it to show %q:\n%s", code, want, out)
		}
	}
	if _, err := os.Stat(h.state); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the dry run wrote the state directory")
	}

	start := time.Now()
	out, code = h.wizardT(t, "run", "qmail-daemontools", "--answers", h.inf)
	if code != 0 {
		t.Fatalf("run exit %d:\n%s", code, out)
	}
	t.Logf("migration took %s", time.Since(start).Round(time.Millisecond))
	for _, svc := range []string{"qmail", "smtpd", "pop3d"} {
		o, _ := exec.Command("svstat", filepath.Join(h.ServiceDir(), svc)).CombinedOutput()
		if !strings.Contains(string(o), ": up (pid ") {
			t.Fatalf("svstat %s: %s", svc, o)
		}
		u := logUsers[svc]
		run, _ := os.ReadFile(filepath.Join(h.QmailDir(), "services", svc, "log/run"))
		if want := fmt.Sprintf("exec setuidgid %s multilog t s4096 n3 %s/%s\n", u.name, h.LogDir(), svc); !strings.HasSuffix(string(run), want) {
			t.Errorf("%s log/run:\n%s\nwant it to end in %q", svc, run, want)
		}
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(h.LogDir(), svc), &st); err != nil || st.Uid != u.uid {
			t.Errorf("the %s log directory is not owned by its log user %s (uid %d): uid %d, %v", svc, u.name, u.uid, st.Uid, err)
		}
		// multilog runs as that user (its log directory is written by it).
		if o, err := exec.Command("pgrep", "-u", u.name, "-f", "multilog t s4096 n3 "+filepath.Join(h.LogDir(), svc)+"$").Output(); err != nil || len(strings.Fields(string(o))) != 1 {
			t.Errorf("no single multilog for %s runs as %s: %q %v", svc, u.name, o, err)
		}
	}
	if rc, _ := os.ReadFile(filepath.Join(h.QmailDir(), "rc")); strings.Contains(string(rc), "splogger qmail") {
		t.Errorf("splogger is still in the rc:\n%s", rc)
	}
	if _, err := os.Lstat(h.RCLink()); !errors.Is(err, os.ErrNotExist) {
		t.Error("the rc script is still enabled at boot")
	}
	if o, _ := exec.Command(h.RCScript(), "status").CombinedOutput(); !strings.Contains(string(o), "not running") {
		t.Errorf("the rc-started qmail still runs: %s", o)
	}

	// Mail sent by SMTP after the migration arrives, and multilog logs it
	// with TAI64N stamps.
	if err := h.mailFlows("alice", "after-migration"); err != nil {
		t.Fatal(err)
	}
	ref.set(h.StateHash())
	deadline := time.Now().Add(5 * time.Second)
	var logged []byte
	for time.Now().Before(deadline) {
		logged, _ = os.ReadFile(filepath.Join(h.LogDir(), "qmail/current"))
		if tai64nLine.Match(logged) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !tai64nLine.Match(logged) {
		t.Fatalf("multilog did not log the delivery with a TAI64N stamp:\n%s", logged)
	}
	if smtpLog, _ := os.ReadFile(filepath.Join(h.LogDir(), "smtpd/current")); !regexp.MustCompile(`(?m)^@4000[0-9a-f]{20} tcpserver: ok `).Match(smtpLog) {
		t.Errorf("the smtpd log has no tcpserver connection line:\n%s", smtpLog)
	}

	out, code = h.wizardT(t, "status", "--state-dir", h.state)
	if code != 0 || !strings.Contains(out, "done       link/qmail") || !strings.Contains(out, "backout now would undo") {
		t.Fatalf("status exit %d:\n%s", code, out)
	}
	out, code = h.wizardT(t, "backout", "--state-dir", h.state, "--dry-run")
	if code != 0 || !strings.Contains(out, "svc -d "+filepath.Join(h.ServiceDir(), "pop3d")) || strings.Index(out, "undo rc/disable") > strings.Index(out, "undo link/pop3d") {
		t.Fatalf("backout plan exit %d (it must start from the newest step):\n%s", code, out)
	}
	out, code = h.wizardT(t, "backout", "--answers", h.inf, "--yes")
	if code != 0 {
		t.Fatalf("backout exit %d:\n%s", code, out)
	}
	for _, want := range []string{"svc -d " + filepath.Join(h.ServiceDir(), "qmail"), "mv " + filepath.Join(h.ServiceDir(), "qmail") + " " + filepath.Join(h.ServiceDir(), ".qmail"), "svc -dx " + filepath.Join(h.ServiceDir(), ".qmail/log")} {
		if !strings.Contains(out, want) {
			t.Errorf("backout did not do the seed's safe removal step %q:\n%s", want, out)
		}
	}
	if err := h.backedOut("after-backout"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(h.LogDir(), "qmail/current")); !tai64nLine.Match(b) {
		t.Error("the multilog logs were not kept by the backout")
	}
}

// runKilledAfter starts the wizard and sends it SIGKILL after d, unless it
// ended first; it says whether it was killed.
func (h *qmailHost) runKilledAfter(d time.Duration, args ...string) (bool, error) {
	c := exec.Command(h.bin, args...)
	c.Stdout, c.Stderr = nil, nil
	if err := c.Start(); err != nil {
		return false, err
	}
	ended := make(chan error, 1)
	go func() { ended <- c.Wait() }()
	select {
	case <-ended:
		return false, nil
	case <-time.After(d):
		_ = c.Process.Signal(syscall.SIGKILL)
		<-ended
		return true, nil
	}
}

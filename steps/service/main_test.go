package service

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mswizard/fixtures/layout"
	"mswizard/fixtures/ldapd"
	"mswizard/fixtures/sim"
	"mswizard/internal/atomicfile"
	hostmodel "mswizard/steps/host"
	"mswizard/wizard"
	"mswizard/wizard/journal"
)

const helperEnv = "SERVICE_TEST_HELPER"

func TestMain(m *testing.M) {
	sim.MaybeRunAsSim()
	if os.Getenv(helperEnv) == "1" && len(os.Args) == 6 && os.Args[1] == "svc-helper" {
		os.Exit(helperMain(os.Args[2], os.Args[3], os.Args[4], os.Args[5]))
	}
	os.Exit(m.Run())
}

// helperMain is a stand-in daemon: "svc-helper NAME PORT PIDFILE PIDSDIR". It
// listens on PORT (0: none), writes its pid to PIDFILE and to PIDSDIR/PID (so the
// test can clean up every helper by pid), and exits on SIGTERM, removing PIDFILE.
func helperMain(name, port, pidFile, pidsDir string) int {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	if port != "0" {
		ln, err := net.Listen("tcp", "127.0.0.1:"+port)
		if err != nil {
			fmt.Fprintln(os.Stderr, name+":", err)
			return 1
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	pid := strconv.Itoa(os.Getpid())
	os.WriteFile(filepath.Join(pidsDir, pid), nil, 0o644)
	if err := atomicfile.WriteFile(pidFile, []byte(pid+"\n"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		return 1
	}
	<-sig
	if b, _ := os.ReadFile(pidFile); strings.TrimSpace(string(b)) == pid {
		os.Remove(pidFile)
	}
	return 0
}

// host is a fake Messaging Server host whose scripts start real helper daemons.
type fakeHost struct {
	t       *testing.T
	w       layout.World
	ports   map[string]int
	pidsDir string
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := ldapd.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newHost writes a 5.x host (no watcher, host-facts: F-SVC-004) with a port
// for every messaging service and extra local.conf lines, and kills every
// helper it started at cleanup.
func newHost(t *testing.T, local ...string) *fakeHost { return newFakeHost(t, false, local...) }

// newWatcherHost is newHost on a 6.x-like host whose local.conf names the
// watcher's port: only the tests of the watcher and its auto-restart take it.
func newWatcherHost(t *testing.T, local ...string) *fakeHost { return newFakeHost(t, true, local...) }

func newFakeHost(t *testing.T, watcher bool, local ...string) *fakeHost {
	t.Helper()
	h := &fakeHost{t: t, w: layout.Default(t.TempDir()), ports: map[string]int{}, pidsDir: t.TempDir()}
	for _, s := range MessagingServices() {
		if s != "store" && s != "sched" { // they open no port (host-facts: F-PORT-002)
			h.ports[s] = freePort(t)
		}
	}
	conf := fmt.Sprintf("service.imap.port = %d\nservice.pop.port = %d\nservice.http.port = %d\nlocal.ens.port = %d\n",
		h.ports["imap"], h.ports["pop"], h.ports["http"], h.ports["ens"])
	if watcher {
		conf += fmt.Sprintf("local.watcher.port = %d\n", h.ports["watcher"])
	}
	writeFiles(t, map[string]string{
		h.w.LocalConf(): conf + strings.Join(local, "\n") + "\n",
		filepath.Join(h.w.IMTAConfig(), "dispatcher.cnf"):     fmt.Sprintf("[SERVICE=SMTP]\nPORT=%d\n", h.ports["dispatcher"]),
		filepath.Join(h.w.IMTAConfig(), "job_controller.cnf"): fmt.Sprintf("TCP_PORT=%d\n", h.ports["job_controller"]),
	})
	// Each helper runs as its service's program under the server root, as
	// the process table shows a real daemon.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range MessagingServices() {
		p := h.w.ProgramPath(hostmodel.Programs(s)[0])
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(exe, p); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(h.killAll)
	return h
}

// killAll ends every helper this host started, by pid, only if /proc still shows
// it as our helper.
func (h *fakeHost) killAll() {
	ents, _ := os.ReadDir(h.pidsDir)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok && len(p.Cmdline) > 1 && p.Cmdline[1] == "svc-helper" {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func (h *fakeHost) config() Config {
	return Config{Host: h.w.Layout(), Regime: RegimePlain, StopTimeout: 2 * time.Second, StartTimeout: 10 * time.Second}
}

func (h *fakeHost) env() *wizard.Env {
	return (&wizard.Env{Exec: wizard.OSExecer{}, Now: time.Now, StateDir: h.t.TempDir()}).Nop()
}

// pidFile is the test's own record of a helper's pid (outside the server
// root: the package under test never reads it).
func (h *fakeHost) pidFile(service string) string { return filepath.Join(h.pidsDir, service+".pid") }

// spawnLine is the shell line that starts the helper for service in the
// background, as its program under the server root, and waits for its record.
func (h *fakeHost) spawnLine(service string) string {
	exe := h.w.ProgramPath(hostmodel.Programs(service)[0])
	pf := h.pidFile(service)
	return fmt.Sprintf(`rm -f %[4]s; %[1]s=1 %[2]s svc-helper %[3]s %[5]d %[4]s %[6]s >/dev/null 2>&1 </dev/null &
i=0; while [ ! -s %[4]s ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done`,
		helperEnv, wizard.ShellQuote(exe), service, wizard.ShellQuote(pf), h.ports[service], wizard.ShellQuote(h.pidsDir))
}

// killLine is the shell line of a working stop: TERM the pid in the pid file
// and wait until it is gone (a zombie counts as gone: who reaps an orphan is not
// ours to decide).
func (h *fakeHost) killLine(service string) string {
	pf := wizard.ShellQuote(h.pidFile(service))
	return fmt.Sprintf(`if [ -s %[1]s ]; then p=$(cat %[1]s); kill $p; while [ -e /proc/$p ] && ! grep -q ') Z' /proc/$p/stat 2>/dev/null; do sleep 0.05; done; fi`, pf)
}

func (h *fakeHost) script(path, body string) {
	h.t.Helper()
	writeFiles(h.t, map[string]string{path: "#!/bin/sh\n" + body + "\n"})
	if err := os.Chmod(path, 0o755); err != nil {
		h.t.Fatal(err)
	}
}

// runPlan executes every planned action like the runner would, returning the
// receipts and the first error.
func runPlan(t *testing.T, ctx context.Context, env *wizard.Env, s wizard.Step) ([]wizard.Receipt, error) {
	t.Helper()
	acts, err := s.Plan(ctx, env)
	if err != nil {
		t.Fatalf("%s: plan: %v", s.ID(), err)
	}
	return runJournaled(t, ctx, env, s.ID(), acts)
}

// runJournaled executes acts like the runner would, journaling each begin,
// the intent an action states before its effect, and its receipt, in the
// journal of env's state directory (where the service steps read what an
// earlier step recorded).
func runJournaled(t *testing.T, ctx context.Context, env *wizard.Env, id string, acts []wizard.Action) ([]wizard.Receipt, error) {
	t.Helper()
	if env.StateDir == "" {
		return runActions(ctx, id, acts)
	}
	j, err := journal.Open(env.StateDir, journal.Options{Run: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var rs []wizard.Receipt
	for i, a := range acts {
		begin := journal.Record{Kind: journal.KindBegin, Step: id, Action: i, Summary: a.Summary}
		if _, err := j.Append(begin); err != nil {
			t.Fatal(err)
		}
		r := wizard.Receipt{Step: id, Action: i, Summary: a.Summary}.WithIntent(func(d json.RawMessage) error {
			again := begin
			again.Intent = d
			_, err := j.Append(again)
			return err
		})
		if err := a.Do(ctx, &r); err != nil {
			return rs, fmt.Errorf("action %d (%s): %w", i, a.Summary, err)
		}
		b, _ := json.Marshal(r)
		if _, err := j.Append(journal.Record{Kind: journal.KindDone, Step: id, Action: i, Summary: a.Summary, Receipt: b}); err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	return rs, nil
}

func runActions(ctx context.Context, id string, acts []wizard.Action) ([]wizard.Receipt, error) {
	var rs []wizard.Receipt
	for i, a := range acts {
		r := wizard.Receipt{Step: id, Action: i, Summary: a.Summary}
		if err := a.Do(ctx, &r); err != nil {
			return rs, fmt.Errorf("action %d (%s): %w", i, a.Summary, err)
		}
		rs = append(rs, r)
	}
	return rs, nil
}

func summaries(acts []wizard.Action) []string {
	out := make([]string, len(acts))
	for i, a := range acts {
		out[i] = a.Summary
	}
	return out
}

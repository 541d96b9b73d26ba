package service

import (
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestStopScriptThatExitsZeroWhileTheProcessLivesIsAnErrorNamingIt(t *testing.T) {
	h := newHost(t)
	pid := h.start("dispatcher")
	h.script(h.w.IMSimta(), "exit 0 # a broken stop: it reports success and signals nothing")
	ctx, env := t.Context(), h.env()
	s := StopDispatcher(h.config())
	done, why, err := s.Check(ctx, env)
	if err != nil || done {
		t.Fatalf("check = %v, %q, %v; want not done while the dispatcher runs", done, why, err)
	}
	_, err = runPlan(t, ctx, env, s)
	if err == nil {
		t.Fatal("the stop succeeded although the dispatcher still runs")
	}
	for _, want := range []string{"pid " + strconv.Itoa(pid), "svc-helper dispatcher", "still running"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if !alive(pid) {
		t.Errorf("the dispatcher (pid %d) died: this package must never signal", pid)
	}
}

func TestReusedPidIsNeitherSignalledNorTakenForTheService(t *testing.T) {
	h := newHost(t)
	sleep := exec.Command("sleep", "300")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	pid := sleep.Process.Pid
	writeFiles(t, map[string]string{h.w.PidFile("dispatcher"): strconv.Itoa(pid) + "\n"})
	// A stop script that trusts the pid file would kill the sleep: it must not run.
	h.script(h.w.IMSimta(), h.killLine("dispatcher"))
	ctx, env := t.Context(), h.env()
	s := StopDispatcher(h.config())
	done, why, err := s.Check(ctx, env)
	if err != nil || !done {
		t.Fatalf("check = %v, %q, %v; want done: the dispatcher does not run", done, why, err)
	}
	for _, want := range []string{"reused pid", "pid " + strconv.Itoa(pid), "sleep 300"} {
		if !strings.Contains(why, want) {
			t.Errorf("check's reason %q does not report %q", why, want)
		}
	}
	acts, err := s.Plan(ctx, env)
	if err != nil || len(acts) != 0 {
		t.Fatalf("plan = %q, %v; want nothing to run", summaries(acts), err)
	}
	if !alive(pid) {
		t.Errorf("the unrelated process %d was signalled", pid)
	}
}

func TestStopVerifiesTheProcessAndPortAndUndoStartsItAgain(t *testing.T) {
	h := newHost(t)
	pid := h.start("dispatcher")
	h.script(h.w.IMSimta(), `case "$1" in stop) `+h.killLine("dispatcher")+`;; start) `+h.spawnLine("dispatcher")+`;; esac`)
	ctx, env := t.Context(), h.env()
	s := StopDispatcher(h.config())
	acts, err := s.Plan(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{h.w.IMSimta() + " stop dispatcher"}; !slices.Equal(summaries(acts), want) {
		t.Fatalf("plan = %q, want %q", summaries(acts), want)
	}
	rs, err := runActions(ctx, s.ID(), acts)
	if err != nil {
		t.Fatal(err)
	}
	if alive(pid) || portOpen(ctx, "127.0.0.1", h.ports["dispatcher"]) {
		t.Fatalf("after the stop: pid %d alive %v, port open %v", pid, alive(pid), portOpen(ctx, "127.0.0.1", h.ports["dispatcher"]))
	}
	if rs[0].Command == nil || rs[0].Command.ExitCode != 0 {
		t.Errorf("receipt has no command result: %+v", rs[0])
	}
	if done, why, _ := s.Check(ctx, env); !done {
		t.Errorf("check after the stop = not done (%s); a second run must be a no-op", why)
	}
	undo, err := s.Undo(ctx, env, rs)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{h.w.IMSimta() + " start dispatcher"}; !slices.Equal(summaries(undo), want) {
		t.Fatalf("undo = %q, want %q", summaries(undo), want)
	}
	if _, err := runActions(ctx, s.ID(), undo); err != nil {
		t.Fatal(err)
	}
	if !portOpen(ctx, "127.0.0.1", h.ports["dispatcher"]) {
		t.Error("undo did not bring the dispatcher's port back")
	}
}

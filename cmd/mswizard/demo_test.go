package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mswizard/fixtures/layout"
	"mswizard/fixtures/sim"
)

// TestDemoStopLeavesNoProcessBehind runs the demo as an operator would:
// `demo --no-tui --dir D` leaves a world running (directory and services),
// `demo --stop --dir D` ends every process it started.
func TestDemoStopLeavesNoProcessBehind(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	dir := filepath.Join(t.TempDir(), "world")
	out, code := run(t, bin, "demo", "--no-tui", "--dir", dir)
	t.Cleanup(func() { run(t, bin, "demo", "--stop", "--dir", dir) })
	if code != 0 || !strings.Contains(out, "install.inf") {
		t.Fatalf("demo exit %d:\n%s", code, out)
	}
	w := layout.Default(dir)
	if procs := sim.WorldProcesses(w); len(procs) == 0 {
		t.Fatal("the demo world runs no process")
	}
	slapd := slapdPids(dir)
	if len(slapd) != 1 {
		t.Fatalf("want one slapd of this world, found %v", slapd)
	}
	if out, code := run(t, bin, "status", "--answers", w.InstallInf()); code != 0 {
		t.Fatalf("status on a fresh demo world: exit %d\n%s", code, out)
	}
	if out, code := run(t, bin, "demo", "--stop", "--dir", dir); code != 0 {
		t.Fatalf("demo --stop exit %d:\n%s", code, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := append(sim.WorldProcesses(w), slapdPids(dir)...)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes left behind: %v", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// slapdPids lists live slapd processes whose command line names dir.
func slapdPids(dir string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(b), "slapd") || !strings.Contains(string(b), dir) {
			continue
		}
		st, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if f := strings.Fields(string(st)); len(f) > 2 && f[2] == "Z" {
			continue // a zombie has ended; nothing reaps orphans on this machine
		}
		var pid int
		for _, c := range e.Name() {
			pid = pid*10 + int(c-'0')
		}
		pids = append(pids, pid)
	}
	return pids
}

package service

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mswizard/fixtures/layout"
)

// MessagingServices are the services start-msg starts, in the documented order
// (seed 000 §4.4.2.1): the store must report ready before imap.
func MessagingServices() []string {
	return []string{"watcher", "ens", "store", "imap", "pop", "http", "sched", "dispatcher", "job_controller"}
}

// AdminUnit is the unit name of the Administration Server.
const AdminUnit = "admin"

// unit is one daemon this package stops and starts.
type unit struct {
	Name    string // "imap", "admin", "https-HOST"
	PidFile string
	Port    int    // 0: no port to probe
	SvcDir  string // daemontools service directory; "" when not supervised
}

// supervised reports whether a daemontools supervise runs the unit.
func (u unit) supervised() bool { return u.SvcDir != "" }

// units resolves the units of a host now: ports from its files, pid files from
// the layout, and under daemontools the service directories that hold a run file.
func (c Config) units(names ...string) ([]unit, error) {
	ports, err := ReadPorts(c.World)
	if err != nil {
		return nil, err
	}
	out := make([]unit, 0, len(names))
	for _, n := range names {
		u := unit{Name: n, Port: ports[n]}
		switch {
		case n == AdminUnit:
			u.PidFile = c.World.AdminPidFile()
		case strings.HasPrefix(n, "https-"):
			u.PidFile = c.World.WebPidFile(n)
		default:
			u.PidFile = c.World.PidFile(n)
		}
		if c.Regime == RegimeDaemontools {
			if d := c.SvcDir(n); d != "" && exists(filepath.Join(d, "run")) {
				u.SvcDir = d
			}
		}
		out = append(out, u)
	}
	return out, nil
}

// status is what a unit looks like now.
type status struct {
	Unit     string `json:"unit"`
	Running  *Proc  `json:"running,omitempty"`   // the unit's own live process
	Reused   *Proc  `json:"reused,omitempty"`    // the pid file names an unrelated live process
	StalePid int    `json:"stale_pid,omitempty"` // the pid file names a dead process
	Port     int    `json:"port,omitempty"`
	PortOpen bool   `json:"port_open,omitempty"`
}

// down: no process of the unit lives and its port refuses connections.
func (s status) down() bool { return s.Running == nil && !s.PortOpen }

// up: the port answers; a unit without a port is up when its process lives.
func (s status) up() bool {
	if s.Port > 0 {
		return s.PortOpen
	}
	return s.Running != nil
}

// describe says why the unit is (not) running, naming any stale or reused pid.
func (s status) describe() string {
	var parts []string
	switch {
	case s.Running != nil:
		parts = append(parts, fmt.Sprintf("%s runs as %s", s.Unit, s.Running))
	default:
		parts = append(parts, s.Unit+" has no live process")
	}
	if s.Port > 0 {
		if s.PortOpen {
			parts = append(parts, fmt.Sprintf("port %d answers", s.Port))
		} else {
			parts = append(parts, fmt.Sprintf("port %d closed", s.Port))
		}
	}
	if s.Reused != nil {
		parts = append(parts, fmt.Sprintf("its pid file names %s, another program (a reused pid), left alone", s.Reused))
	}
	if s.StalePid > 0 {
		parts = append(parts, fmt.Sprintf("stale pid file (pid %d is gone)", s.StalePid))
	}
	return strings.Join(parts, ", ")
}

// observe reads a unit's pid file (and under daemontools supervise/status),
// identifies each pid through /proc/PID/cmdline and exe, and probes its port.
// extra are pids known from before (a process whose pid file a stop script
// removed while it lives on is still found).
func (c Config) observe(ctx context.Context, u unit, extra ...int) (status, error) {
	st := status{Unit: u.Name, Port: u.Port}
	pid, err := readPidFile(u.PidFile)
	if err != nil {
		return st, err
	}
	pids := []int{pid}
	if u.supervised() {
		if sp, _, ok := superviseStatus(u.SvcDir); ok {
			pids = append(pids, sp)
		}
	}
	pids = append(pids, extra...)
	seen := map[int]bool{}
	for i, p := range pids {
		if p <= 0 || seen[p] {
			continue
		}
		seen[p] = true
		proc, alive := readProc(p)
		switch {
		case alive && c.Match(u.Name, proc):
			if st.Running == nil {
				pp := proc
				st.Running = &pp
			}
		case alive && i == 0:
			pp := proc
			st.Reused = &pp
		case !alive && i == 0:
			st.StalePid = p
		}
	}
	st.PortOpen = portOpen(ctx, c.Addr, u.Port)
	return st, nil
}

// superviseStatus reads daemontools' supervise/status: 12 bytes TAI64N, the
// pid little-endian in bytes 12..15 (0 when down), paused flag, want byte. ok is
// false when there is no status file.
func superviseStatus(dir string) (pid int, want byte, ok bool) {
	b, err := os.ReadFile(filepath.Join(dir, "supervise", "status"))
	if err != nil || len(b) < 18 {
		return 0, 0, false
	}
	return int(binary.LittleEndian.Uint32(b[12:16])), b[17], true
}

// waitDown polls until the unit is down or the deadline passes. It fails naming
// the process (pid, cmdline) that lives on, or the port that still answers.
func (c Config) waitDown(ctx context.Context, u unit, deadline time.Time, timeout time.Duration, before *Proc) (status, error) {
	var extra []int
	if before != nil {
		extra = append(extra, before.Pid)
	}
	for {
		st, err := c.observe(ctx, u, extra...)
		if err != nil {
			return st, err
		}
		if st.down() {
			return st, nil
		}
		if !time.Now().Before(deadline) {
			if st.Running != nil {
				return st, fmt.Errorf("%s still running %s after its stop: %s", u.Name, timeout, st.Running)
			}
			return st, fmt.Errorf("%s: port %d still accepts connections %s after the stop, and no process of %s is known", u.Name, u.Port, timeout, u.Name)
		}
		if err := sleep(ctx, c.Poll); err != nil {
			return st, fmt.Errorf("%s: waiting for the stop: %w", u.Name, err)
		}
	}
}

// waitUp polls until the unit is up (its port answers) or the deadline passes.
func (c Config) waitUp(ctx context.Context, u unit, deadline time.Time, timeout time.Duration) (status, error) {
	for {
		st, err := c.observe(ctx, u)
		if err != nil {
			return st, err
		}
		if st.up() {
			return st, nil
		}
		if !time.Now().Before(deadline) {
			if u.Port > 0 {
				return st, fmt.Errorf("%s: port %d not answering %s after the start (%s)", u.Name, u.Port, timeout, st.describe())
			}
			return st, fmt.Errorf("%s: no live process %s after the start (%s)", u.Name, timeout, st.describe())
		}
		if err := sleep(ctx, c.Poll); err != nil {
			return st, fmt.Errorf("%s: waiting for the start: %w", u.Name, err)
		}
	}
}

// CrashAdvice is the manual's advice when a server process crashed (seed 000
// §4.4.2, 重要): the others may hang on its locks.
const CrashAdvice = "a crashed server process can leave the others hung on the locks it held: " +
	"stop every messaging process (stop-msg, or the cluster's stop under HA) and start them all again"

// webUnits lists the web server instances present on the host.
func webUnits(w layout.World) []string { return webInstances(w) }

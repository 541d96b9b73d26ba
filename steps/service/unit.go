package service

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"mswizard/steps/host"
	"mswizard/wizard"
)

// AdminUnit is the unit name of the Administration Server.
const AdminUnit = host.Admin

// MessagingServices are the services start-msg starts on this host, in the
// documented order (host-facts: F-SVC-001); the watcher only where the host
// has one (host-facts: F-SVC-004).
func (c Config) MessagingServices(ctx context.Context) []string {
	return host.Messaging(c.hasWatcher(ctx))
}

// hasWatcher: the configuration names a watcher, or a watcher process of the
// instance lives. A process table that cannot be read leaves only the
// configuration to judge by.
func (c Config) hasWatcher(ctx context.Context) bool {
	conf, err := ReadConfig(c.Host)
	if err != nil {
		return true // unreadable: assume the 6.x service exists, so its stop is not skipped
	}
	procs, _ := c.Evidence.Procs(ctx)
	return host.HasWatcher(conf, c.Host, procs)
}

// unit is one daemon this package stops and starts.
type unit struct {
	Name   string       // "imap", "admin", "https-HOST"
	Svc    host.Service // its port and listen address
	SvcDir string       // daemontools service directory; "" when not supervised
}

// supervised reports whether a daemontools supervise runs the unit.
func (u unit) supervised() bool { return u.SvcDir != "" }

// units resolves the units of a host now: ports and addresses from its files,
// and under daemontools the service directories that hold a run file.
func (c Config) units(names ...string) ([]unit, error) {
	svcs, err := host.Services(c.Host)
	if err != nil {
		return nil, err
	}
	out := make([]unit, 0, len(names))
	for _, n := range names {
		sv, ok := svcs[n]
		if !ok {
			sv = host.Service{Name: n}
		}
		u := unit{Name: n, Svc: sv}
		if c.driver().PerUnit() && c.SvcDir != nil {
			if d := c.SvcDir(n); d != "" && exists(filepath.Join(d, "run")) {
				u.SvcDir = d
			}
		}
		out = append(out, u)
	}
	return out, nil
}

// status is what a unit looks like now, and the evidence for it: the
// processes of the unit in the process table, the sockets listening on its
// configured address and port, and what could not be read (host-facts:
// F-PROC-001, F-PROC-002).
type status struct {
	Unit      string          `json:"unit"`
	Running   []host.Proc     `json:"running,omitempty"`   // the unit's own processes (or possibly its: see Maybe)
	Maybe     bool            `json:"maybe,omitempty"`     // a process the table cannot place for certain
	Endpoint  string          `json:"endpoint,omitempty"`  // ADDR:PORT the configuration names
	Listening []host.Listener `json:"listening,omitempty"` // sockets listening there
	Unknown   string          `json:"unknown,omitempty"`   // evidence that could not be read
	Source    string          `json:"source,omitempty"`    // where the evidence came from
}

// down: proved stopped — both the process table and the sockets were read,
// no process of the unit lives and nothing listens where it would. Unknown is
// never down.
func (s status) down() bool { return s.Unknown == "" && len(s.Running) == 0 && len(s.Listening) == 0 }

// up: its socket listens; a unit without a port is up when its process lives.
func (s status) up() bool {
	if s.Endpoint != "" {
		return len(s.Listening) > 0
	}
	return len(s.Running) > 0 && !s.Maybe
}

// describe says what the evidence shows.
func (s status) describe() string {
	var parts []string
	switch {
	case len(s.Running) > 0:
		ps := make([]string, len(s.Running))
		for i, p := range s.Running {
			ps[i] = p.String()
		}
		maybe := ""
		if s.Maybe {
			maybe = " (cannot tell for certain, so taken as running)"
		}
		parts = append(parts, fmt.Sprintf("%s runs as %s%s", s.Unit, strings.Join(ps, ", "), maybe))
	case s.Unknown == "":
		parts = append(parts, s.Unit+": no process in the process table")
	}
	if s.Endpoint != "" {
		if len(s.Listening) > 0 {
			parts = append(parts, "listening on "+s.Endpoint)
		} else if s.Unknown == "" {
			parts = append(parts, "nothing listens on "+s.Endpoint)
		}
	}
	if s.Unknown != "" {
		parts = append(parts, s.Unit+": state unknown ("+s.Unknown+")")
	}
	return strings.Join(parts, ", ")
}

// snapshot is one reading of the host's evidence, shared by the units observed
// together.
type snapshot struct {
	procs     []host.Proc
	listeners []host.Listener
	procErr   error
	sockErr   error
}

func (c Config) snap(ctx context.Context) snapshot {
	var s snapshot
	s.procs, s.procErr = c.Evidence.Procs(ctx)
	s.listeners, s.sockErr = c.Evidence.Listeners(ctx)
	return s
}

// observe reads the process table and the listening sockets and judges one unit.
func (c Config) observe(ctx context.Context, u unit) (status, error) {
	return c.judge(u, c.snap(ctx)), nil
}

func (c Config) judge(u unit, s snapshot) status {
	st := status{Unit: u.Name, Source: c.Evidence.Source}
	if u.Svc.Port > 0 {
		st.Endpoint = u.Svc.Endpoint()
	}
	var unknown []string
	if s.procErr != nil {
		unknown = append(unknown, "process table: "+s.procErr.Error())
	}
	for _, p := range s.procs {
		switch host.Owns(c.Host, u.Name, p) {
		case host.Yes:
			st.Running = append(st.Running, p)
		case host.Maybe:
			st.Running = append(st.Running, p)
			st.Maybe = true
		}
	}
	if u.Svc.Port > 0 {
		if s.sockErr != nil {
			unknown = append(unknown, "sockets: "+s.sockErr.Error())
		}
		st.Listening = host.Listening(u.Svc, s.listeners)
	}
	st.Unknown = strings.Join(unknown, "; ")
	return st
}

// waitDown polls until the unit is proved down or the deadline passes. It
// fails naming the processes (pid, program) that live on, or the socket that
// still listens.
func (c Config) waitDown(ctx context.Context, u unit, deadline time.Time, timeout time.Duration) (status, error) {
	for {
		st, err := c.observe(ctx, u)
		if err != nil {
			return st, err
		}
		if st.down() {
			return st, nil
		}
		if !time.Now().Before(deadline) {
			return st, fmt.Errorf("%s not proved stopped %s after its stop command: %s", u.Name, timeout, st.describe())
		}
		if err := wizard.Sleep(ctx, c.Poll); err != nil {
			return st, fmt.Errorf("%s: waiting for the stop: %w", u.Name, err)
		}
	}
}

// waitUp polls until the unit is up (its socket listens) or the deadline passes.
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
			return st, fmt.Errorf("%s not up %s after the start (%s)", u.Name, timeout, st.describe())
		}
		if err := wizard.Sleep(ctx, c.Poll); err != nil {
			return st, fmt.Errorf("%s: waiting for the start: %w", u.Name, err)
		}
	}
}

// CrashAdvice is the manual's advice when a server process crashed (seed 000
// §4.4.2, 重要): the others may hang on its locks.
const CrashAdvice = "a crashed server process can leave the others hung on the locks it held: " +
	"stop every messaging process (stop-msg, or the cluster's stop under HA) and start them all again"

// webUnits lists the web server instances present on the host.
func webUnits(l host.Layout) []string { return host.WebInstances(l) }

func isMessaging(name string) bool { return slices.Contains(host.Messaging(true), name) }

package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"mswizard/wizard"
)

// Proc is a live process as /proc shows it.
type Proc struct {
	Pid     int      `json:"pid"`
	Cmdline []string `json:"cmdline"`
	Exe     string   `json:"exe,omitempty"` // empty when /proc/PID/exe is unreadable
}

func (p Proc) String() string {
	return fmt.Sprintf("pid %d (%s)", p.Pid, wizard.ShellQuote(p.Cmdline...))
}

// readProc reads /proc/PID. ok is false when no such process lives; a zombie
// counts as gone, since it holds no port and no lock.
func readProc(pid int) (p Proc, ok bool) {
	if pid <= 0 {
		return Proc{}, false
	}
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return Proc{}, false
	}
	// The state follows the parenthesised command name, which may hold spaces.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return Proc{}, false
	}
	p.Pid = pid
	if b, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil {
		b = bytes.TrimRight(b, "\x00")
		if len(b) > 0 {
			p.Cmdline = strings.Split(string(b), "\x00")
		}
	}
	p.Exe, _ = os.Readlink(filepath.Join(dir, "exe"))
	return p, true
}

// programs are the names a unit's process goes by: the daemons of seed 004 and
// the 5.x/6.x service names of seed 000.
var programs = map[string][]string{
	"watcher":        {"watcher"},
	"ens":            {"enpd", "ens"},
	"store":          {"stored", "store"},
	"imap":           {"imapd", "imap"},
	"pop":            {"popd", "pop"},
	"http":           {"mshttpd", "http"},
	"sched":          {"sched"},
	"dispatcher":     {"dispatcher", "smtpd"},
	"job_controller": {"job_controller"},
	"admin":          {"ns-httpd", "uxwdog", "admin", "admin-serv"},
}

// DefaultMatch says whether p is the unit's process: the base name of its
// executable or of one of its arguments is one of the unit's program names
// (imapd or imap for "imap", ns-httpd or uxwdog for the web and admin servers,
// the instance name for a web instance), or an argument names the unit
// (`--service=imap`). An unrelated process that happens to hold a reused pid
// (a shell, a sleep) matches none of them.
func DefaultMatch(unit string, p Proc) bool {
	names := programs[unit]
	if strings.HasPrefix(unit, "https-") {
		names = []string{unit, "ns-httpd", "uxwdog", "webservd"}
	}
	if len(names) == 0 {
		names = []string{unit}
	}
	is := func(tok string) bool {
		tok = filepath.Base(strings.TrimLeft(tok, "-"))
		if _, v, ok := strings.Cut(tok, "="); ok {
			tok = v
		}
		for _, n := range names {
			if tok == n {
				return true
			}
		}
		return false
	}
	if p.Exe != "" && is(strings.TrimSuffix(p.Exe, " (deleted)")) {
		return true
	}
	for _, a := range p.Cmdline {
		if is(a) {
			return true
		}
	}
	return false
}

// readPidFile reads one decimal pid; a missing or empty file gives 0.
func readPidFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("pid file: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return 0, nil
	}
	if i := strings.IndexAny(s, " \t\n"); i >= 0 {
		s = s[:i]
	}
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s: not a pid: %q", path, s)
	}
	return pid, nil
}

// portOpen reports whether something accepts connections on addr:port.
func portOpen(ctx context.Context, addr string, port int) bool {
	if port <= 0 {
		return false
	}
	d := net.Dialer{Timeout: 500 * time.Millisecond}
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(addr, strconv.Itoa(port)))
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

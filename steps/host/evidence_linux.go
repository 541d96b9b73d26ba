//go:build linux

package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// SystemEvidence reads /proc: every process's cmdline and exe, and the
// listening sockets of /proc/net/tcp and /proc/net/tcp6 (host-facts:
// F-PROC-001, F-PROC-002).
func SystemEvidence() Evidence {
	return Evidence{Procs: procFS, Listeners: procNet, Source: "/proc/PID/{cmdline,exe}, /proc/net/tcp, /proc/net/tcp6"}
}

func procFS(ctx context.Context) ([]Proc, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("process table: %w", err)
	}
	var out []Proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok {
			out = append(out, p)
		}
	}
	return out, ctx.Err()
}

// readProc reads /proc/PID; ok is false when no such process lives. A zombie
// counts as gone: it holds no port and no lock.
func readProc(pid int) (Proc, bool) {
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return Proc{}, false
	}
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return Proc{}, false
	}
	p := Proc{Pid: pid}
	if b, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil {
		b = bytes.TrimRight(b, "\x00")
		if len(b) > 0 {
			p.Args = strings.Split(string(b), "\x00")
		}
	}
	p.Exe, _ = os.Readlink(filepath.Join(dir, "exe"))
	p.Exe = strings.TrimSuffix(p.Exe, " (deleted)")
	return p, true
}

func procNet(ctx context.Context) ([]Listener, error) {
	var out []Listener
	read := 0
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) && strings.HasSuffix(f, "6") {
			continue // a kernel without IPv6
		}
		if err != nil {
			return nil, fmt.Errorf("sockets: %w", err)
		}
		ls, err := ParseProcNetTCP(string(b))
		if err != nil {
			return nil, fmt.Errorf("sockets: %s: %w", f, err)
		}
		out = append(out, ls...)
		read++
	}
	if read == 0 {
		return nil, errors.New("sockets: /proc/net/tcp unreadable")
	}
	return out, ctx.Err()
}
